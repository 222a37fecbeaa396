with

source as (

    select * from {{ source('raw', 'adobe_users') }}

),

renamed as (

    select
        identity_type,
        username,
        domain,
        email,
        {{ user_key('coalesce(nullif(trim(email), \'\'), username)') }}
            as user_key,
        first_name,
        last_name,
        country_code,
        product_configurations,
        user_groups,
        lower(trim(status)) as status,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- One row per user from the latest export that lists them.
    select
        *,
        -- The earliest export listing the user dates the assignment.
        min(_loaded_at) over (
            partition by coalesce(user_key, lower(trim(username)))
        ) as first_seen_at,
    from renamed
    qualify row_number() over (
        partition by coalesce(user_key, lower(trim(username)))
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
