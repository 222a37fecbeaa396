with

source as (

    select * from {{ source('raw', 'slack_members') }}

),

renamed as (

    select
        cast(window_start as date) as window_start,
        cast(window_end as date) as window_end,
        user_id,
        name,
        username,
        email,
        {{ user_key('email') }} as user_key,
        account_type,
        account_created_at,
        deactivated_at,
        cast(days_active as integer) as days_active,
        cast(messages_posted as integer) as messages_posted,
        cast(last_active_on as date) as last_active_on,
        billing_active,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- The same window exported twice repeats every member: keep the latest copy.
    select *
    from renamed
    qualify row_number() over (
        partition by
            coalesce(user_key, user_id, lower(trim(username))),
            window_start,
            window_end
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
