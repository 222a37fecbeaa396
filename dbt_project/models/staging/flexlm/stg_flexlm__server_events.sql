with

source as (

    select * from {{ source('raw', 'flexlm_server_events') }}

),

renamed as (

    select
        cast(event_at as timestamp) as event_at,
        server,
        daemon,
        lower(event_type) as event_type,
        message,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (
        partition by server, daemon, event_at, event_type, message
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
