with

sessions as (

    select * from {{ ref('stg_flexlm__sessions') }}

),

events as (

    select * from {{ ref('stg_flexlm__events') }}

),

identities as (

    select * from {{ ref('int_identities') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

lmstat_features as (

    select * from {{ ref('stg_flexlm__lmstat_features') }}

),

lmstat_checkouts as (

    select * from {{ ref('stg_flexlm__lmstat_checkouts') }}

),

session_spans as (

    -- A session still open at the end of its log keeps its seats until the last
    -- event seen for that feature.
    select
        coalesce(sessions.server, '') as server,
        coalesce(sessions.daemon, '') as daemon,
        sessions.feature,
        sessions.user_name,
        sessions.seats,
        sessions.checkout_at,
        coalesce(
            sessions.ended_at,
            max(coalesce(sessions.ended_at, sessions.checkout_at)) over (
                partition by sessions.server, sessions.daemon, sessions.feature
            )
        ) as ended_at,
    from sessions

),

feature_ranges as (

    select
        server,
        daemon,
        feature,
        min(first_at) as first_at,
        max(last_at) as last_at,
    from (
        select
            server,
            daemon,
            feature,
            checkout_at as first_at,
            coalesce(ended_at, checkout_at) as last_at,
        from session_spans

        union all

        select
            coalesce(server, '') as server,
            coalesce(daemon, '') as daemon,
            feature,
            event_at as first_at,
            event_at as last_at,
        from events
        where feature is not null and event_at is not null
    ) as spans
    group by server, daemon, feature

),

hours as (

    select
        feature_ranges.server,
        feature_ranges.daemon,
        feature_ranges.feature,
        hour_start,
    from feature_ranges,
        unnest(
            generate_series(
                date_trunc('hour', first_at),
                date_trunc('hour', last_at),
                interval 1 hour
            )
        ) as grid(hour_start)
    where first_at is not null

),

seat_changes as (

    -- Check-ins sort before check-outs at the same instant, so a seat handed over
    -- within one second is not counted twice.
    select server, daemon, feature, checkout_at as changed_at, seats as delta,
        1 as change_order
    from session_spans
    union all
    select server, daemon, feature, ended_at as changed_at, -seats as delta,
        0 as change_order
    from session_spans
    where ended_at is not null

),

seat_levels as (

    select
        server,
        daemon,
        feature,
        changed_at,
        sum(delta) over (
            partition by server, daemon, feature
            order by changed_at, change_order
            rows between unbounded preceding and current row
        ) as seats_in_use,
    from seat_changes

),

hourly_peaks as (

    select
        server,
        daemon,
        feature,
        date_trunc('hour', changed_at) as hour_start,
        max(seats_in_use) as peak_within_hour,
    from seat_levels
    group by 1, 2, 3, 4

),

levels_at_hour_start as (

    -- Seats held when the hour starts count toward its peak even when nothing
    -- changes inside the hour.
    select
        hours.server,
        hours.daemon,
        hours.feature,
        hours.hour_start,
        coalesce(seat_levels.seats_in_use, 0) as seats_at_start,
    from hours
    asof left join seat_levels
        on hours.server = seat_levels.server
        and hours.daemon = seat_levels.daemon
        and hours.feature = seat_levels.feature
        and hours.hour_start > seat_levels.changed_at

),

hourly_checkouts as (

    select
        server,
        daemon,
        feature,
        date_trunc('hour', checkout_at) as hour_start,
        count(*) as checkouts,
    from session_spans
    group by 1, 2, 3, 4

),

hourly_denials as (

    select
        coalesce(server, '') as server,
        coalesce(daemon, '') as daemon,
        feature,
        date_trunc('hour', event_at) as hour_start,
        count(*) as denials,
    from events
    where event_type = 'DENIED'
    group by 1, 2, 3, 4

),

session_hours as (

    select
        session_spans.server,
        session_spans.daemon,
        session_spans.feature,
        coalesce(identities.user_key, session_spans.user_name) as person,
        hour_start,
    from session_spans
    left join identities
        on identities.source = 'flexlm'
        and coalesce(session_spans.user_name, '') = identities.raw_identity,
        unnest(
            generate_series(
                date_trunc('hour', session_spans.checkout_at),
                date_trunc(
                    'hour',
                    coalesce(session_spans.ended_at, session_spans.checkout_at)
                ),
                interval 1 hour
            )
        ) as grid(hour_start)

),

hourly_users as (

    select
        server,
        daemon,
        feature,
        hour_start,
        count(distinct person) as distinct_users,
    from session_hours
    group by 1, 2, 3, 4

),

snapshot_checkouts as (

    -- lmstat names the server `port@host` (the first host of a triad), the debug
    -- log by host alone. Reservations and queued requests are not use.
    select
        lower(split_part(split_part(server, ',', 1), '@', -1)) as server_host,
        coalesce(daemon, '') as daemon,
        feature,
        date_trunc('hour', snapshot_at) as hour_start,
        sum(coalesce(seats, 1)) filter (where kind = 'checkout') as seats_in_use,
    from lmstat_checkouts
    where snapshot_at is not null
    group by 1, 2, 3, 4

),

snapshot_totals as (

    select
        lower(split_part(split_part(server, ',', 1), '@', -1)) as server_host,
        coalesce(daemon, '') as daemon,
        feature,
        date_trunc('hour', snapshot_at) as hour_start,
        max(licenses_issued) as seats_issued,
    from lmstat_features
    where snapshot_at is not null
    group by 1, 2, 3, 4

),

feature_applications as (

    select
        features.server,
        features.daemon,
        features.feature,
        coalesce(
            arg_max(
                by_feature.application_id,
                [
                    lpad(length(by_feature.raw_name)::varchar, 4, '0'),
                    by_feature.raw_name,
                ],
            ),
            arg_max(
                by_daemon.application_id,
                [
                    lpad(length(by_daemon.raw_name)::varchar, 4, '0'),
                    by_daemon.raw_name,
                ],
            )
        ) as application_id,
    from feature_ranges as features
    left join catalog as by_feature
        on by_feature.source = 'flexlm'
        and {{ catalog_matches('by_feature', 'features.feature') }}
    left join catalog as by_daemon
        on by_daemon.source = 'flexlm'
        and {{ catalog_matches('by_daemon', 'features.daemon') }}
    group by 1, 2, 3

),

final as (

    select
        concat_ws(
            '/',
            nullif(hours.server, ''),
            hours.daemon,
            hours.feature
        ) as feature_key,
        nullif(hours.server, '') as server,
        nullif(hours.daemon, '') as daemon,
        hours.feature,
        feature_applications.application_id,
        hours.hour_start,
        cast(
            greatest(
                levels_at_hour_start.seats_at_start,
                coalesce(hourly_peaks.peak_within_hour, 0)
            ) as integer
        ) as peak_concurrent_seats,
        cast(coalesce(hourly_checkouts.checkouts, 0) as integer) as checkouts,
        cast(coalesce(hourly_denials.denials, 0) as integer) as denials,
        cast(coalesce(hourly_users.distinct_users, 0) as integer)
            as distinct_users,
        cast(snapshot_checkouts.seats_in_use as integer)
            as snapshot_seats_in_use,
        cast(snapshot_totals.seats_issued as integer) as snapshot_seats_issued,
    from hours
    left join levels_at_hour_start
        using (server, daemon, feature, hour_start)
    left join hourly_peaks
        using (server, daemon, feature, hour_start)
    left join hourly_checkouts
        using (server, daemon, feature, hour_start)
    left join hourly_denials
        using (server, daemon, feature, hour_start)
    left join hourly_users
        using (server, daemon, feature, hour_start)
    left join feature_applications
        using (server, daemon, feature)
    left join snapshot_checkouts
        on lower(hours.server) = snapshot_checkouts.server_host
        and hours.daemon = snapshot_checkouts.daemon
        and hours.feature = snapshot_checkouts.feature
        and hours.hour_start = snapshot_checkouts.hour_start
    left join snapshot_totals
        on lower(hours.server) = snapshot_totals.server_host
        and hours.daemon = snapshot_totals.daemon
        and hours.feature = snapshot_totals.feature
        and hours.hour_start = snapshot_totals.hour_start

)

select * from final
