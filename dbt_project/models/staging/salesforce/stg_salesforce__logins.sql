with

source as (

    select * from {{ source('raw', 'salesforce_login_history') }}

),

renamed as (

    select
        username,
        user_id,
        cast(login_time as timestamp) as login_at,
        source_ip,
        login_type,
        status,
        lower(trim(status)) = 'success' as is_success,
        application,
        browser,
        platform,
        login_url,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Overlapping downloads repeat logins: one per username, time and address.
    select *
    from renamed
    qualify row_number() over (
        partition by lower(trim(username)), login_at, source_ip
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
