with

source as (

    select * from {{ source('raw', 'flexlm_events') }}

),

renamed as (

    select
        cast(event_at as timestamp) as event_at,
        upper(trim(event_type)) as event_type,
        daemon,
        daemon_raw,
        server,
        feature,
        user_name,
        host,
        {{ os_login('user_name') }} as os_login,
        coalesce(cast(seats as integer), 1) as seats,
        token_product,
        flag,
        reason,
        error_code,
        date_source,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Overlapping copies of one log repeat the same line: keep one per line content.
    select *
    from renamed
    qualify row_number() over (
        partition by
            server,
            daemon,
            feature,
            user_name,
            host,
            event_at,
            event_type,
            token_product,
            seats,
            flag,
            reason
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
