with

source as (

    select * from {{ source('raw', 'okta_events') }}

),

renamed as (

    select
        uuid as event_id,
        cast(published_at as timestamp) as published_at,
        event_type,
        actor_id,
        actor_alternate_id,
        actor_display_name,
        app_instance_id,
        app_display_name,
        app_label,
        app_user_alternate_id,
        upper(outcome_result) as outcome_result,
        outcome_reason,
        client_ip,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Overlapping System Log polls repeat events: the uuid is unique across files.
    select *
    from renamed
    qualify row_number() over (
        partition by event_id
        order by _loaded_at, _source_file, _line_number
    ) = 1

)

select * from deduplicated
