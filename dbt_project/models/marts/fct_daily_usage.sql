with

usage_events as (

    select * from {{ ref('int_usage_events') }}

),

final as (

    select
        user_key,
        application_id,
        min(application) as application,
        usage_date,
        true as is_active,
        cast(sum(sessions) as integer) as sessions,
        cast(sum(minutes) as double) as minutes,
        cast(sum(events) as integer) as events,
        cast(count(distinct feature) as integer) as features_used,
        string_agg(distinct source, ',' order by source) as sources,
        bool_and(is_backfilled) as is_backfilled,
    from usage_events
    where user_key is not null
        and application_id is not null
        and usage_date is not null
    group by user_key, application_id, usage_date

)

select * from final
