with

source as (

    select * from {{ source('raw', 'flexlm_sessions') }}

),

renamed as (

    select
        server,
        daemon,
        feature,
        user_name,
        host,
        {{ os_login('user_name') }} as os_login,
        token_product,
        coalesce(cast(seats as integer), 1) as seats,
        cast(checkout_at as timestamp) as checkout_at,
        cast(checkin_at as timestamp) as checkin_at,
        cast(duration_seconds as double) as duration_seconds,
        -- Open sessions end at their recorded duration when the parser gave one.
        coalesce(
            cast(checkin_at as timestamp),
            cast(checkout_at as timestamp)
            + to_seconds(cast(duration_seconds as double))
        ) as ended_at,
        end_reason,
        _source_file,
        _line_number,
        _loaded_at,
    from source
    where checkout_at is not null

),

deduplicated as (

    -- Overlapping log copies rebuild the same checkout twice: keep one.
    select *
    from renamed
    qualify row_number() over (
        partition by
            server,
            daemon,
            feature,
            user_name,
            host,
            token_product,
            seats,
            checkout_at
        order by
            checkin_at desc nulls last,
            _loaded_at desc,
            _source_file desc,
            _line_number desc
    ) = 1

)

select * from deduplicated
