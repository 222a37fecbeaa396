with

source as (

    select * from {{ source('raw', 'salesforce_users') }}

),

renamed as (

    select
        user_id,
        username,
        email,
        {{ user_key('email') }} as user_key,
        full_name,
        is_active,
        user_license,
        profile,
        cast(last_login_at as timestamp) as last_login_at,
        never_logged_in,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- A later User export replaces an earlier one for the same user.
    select
        *,
        -- The earliest export listing the user dates the assignment.
        min(_loaded_at) over (
            partition by coalesce(user_id, lower(trim(username)))
        ) as first_seen_at,
    from renamed
    qualify row_number() over (
        partition by coalesce(user_id, lower(trim(username)))
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
