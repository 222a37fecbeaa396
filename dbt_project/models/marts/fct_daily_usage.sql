with

usage_events as (

    select * from {{ ref('int_usage_events') }}

),

as_of as (

    select * from {{ ref('as_of_date') }}

),

events as (

    -- Use after the as-of date is left out, so a run with an earlier --as-of
    -- reports the state on that date and a file dated in the future adds
    -- nothing.
    select usage_events.*,
    from usage_events
    cross join as_of
    where usage_events.user_key is not null
        and usage_events.application_id is not null
        and usage_events.usage_date is not null
        and usage_events.usage_date <= as_of.as_of_date

),

timed_events as (

    select
        user_key,
        application_id,
        usage_date,
        active_from,
        active_until,
        max(active_until) over (
            partition by user_key, application_id, usage_date
            order by active_from, active_until
            rows between unbounded preceding and 1 preceding
        ) as previous_active_until,
    from events
    where active_from is not null
        and active_until is not null

),

timed_islands as (

    -- Overlapping sessions of one user and application, on several hosts or
    -- features, are merged, so their time counts once.
    select
        *,
        sum(
            case when previous_active_until >= active_from then 0 else 1 end
        ) over (
            partition by user_key, application_id, usage_date
            order by active_from, active_until
            rows between unbounded preceding and current row
        ) as island,
    from timed_events

),

timed_minutes as (

    select
        user_key,
        application_id,
        usage_date,
        sum(date_diff('second', island_from, island_until)) / 60.0 as minutes,
    from (
        select
            user_key,
            application_id,
            usage_date,
            min(active_from) as island_from,
            max(active_until) as island_until,
        from timed_islands
        group by user_key, application_id, usage_date, island
    ) as islands
    group by user_key, application_id, usage_date

),

daily as (

    -- Minutes of rows without covered times add to the merged time. No
    -- source writes such rows yet.
    select
        user_key,
        application_id,
        min(application) as application,
        usage_date,
        sum(sessions) as sessions,
        sum(minutes) filter (where active_from is null) as untimed_minutes,
        sum(events) as events,
        count(distinct feature) as features_used,
        string_agg(distinct source, ',' order by source) as sources,
        bool_and(is_backfilled) as is_backfilled,
    from events
    group by user_key, application_id, usage_date

),

final as (

    select
        daily.user_key,
        daily.application_id,
        daily.application,
        daily.usage_date,
        true as is_active,
        cast(daily.sessions as integer) as sessions,
        cast(
            coalesce(timed_minutes.minutes, 0)
            + coalesce(daily.untimed_minutes, 0)
            as double
        ) as minutes,
        cast(daily.events as integer) as events,
        cast(daily.features_used as integer) as features_used,
        daily.sources,
        daily.is_backfilled,
    from daily
    left join timed_minutes
        using (user_key, application_id, usage_date)

)

select * from final
