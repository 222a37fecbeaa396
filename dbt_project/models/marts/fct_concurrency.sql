with

sessions as (

    select * from {{ ref('stg_flexlm__sessions') }}

),

merged_sessions as (

    select * from {{ ref('int_flexlm_sessions_merged') }}

),

events as (

    select * from {{ ref('stg_flexlm__events') }}

),

identities as (

    select * from {{ ref('int_identities') }}

),

flexlm_features as (

    select * from {{ ref('int_flexlm_features') }}

),

lmstat_features as (

    select * from {{ ref('stg_flexlm__lmstat_features') }}

),

lmstat_checkouts as (

    select * from {{ ref('stg_flexlm__lmstat_checkouts') }}

),

session_spans as (

    -- Repeated overlapping checkouts by one user on one host hold one seat, so
    -- seats are counted on merged spans.
    select
        server,
        daemon,
        feature,
        user_name,
        seats,
        checkout_at,
        held_until as ended_at,
    from merged_sessions

),

log_servers as (

    -- One spelling per host, so a snapshot joins one log server.
    select
        lower(server) as host,
        min(server) as server,
    from (
        select server from session_spans
        union
        select coalesce(server, '') as server from events
    ) as servers
    group by lower(server)

),

snapshot_rows as (

    -- lmstat names the server `port@host` (the first host of a triad), the
    -- debug log by host alone.
    select
        lower(split_part(split_part(server, ',', 1), '@', -1)) as host,
        coalesce(daemon, '') as daemon,
        feature,
        snapshot_at,
        kind,
        user_name,
        seats,
        cast(null as integer) as licenses_issued,
    from lmstat_checkouts

    union all

    select
        lower(split_part(split_part(server, ',', 1), '@', -1)) as host,
        coalesce(daemon, '') as daemon,
        feature,
        snapshot_at,
        'totals' as kind,
        cast(null as varchar) as user_name,
        cast(null as integer) as seats,
        licenses_issued,
    from lmstat_features

),

snapshot_lines as (

    -- A snapshot takes the debug log's spelling of its host.
    select
        coalesce(log_servers.server, snapshot_rows.host, '') as server,
        snapshot_rows.* exclude (host),
    from snapshot_rows
    left join log_servers
        on snapshot_rows.host = log_servers.host
    where snapshot_rows.snapshot_at is not null
        and snapshot_rows.feature is not null

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

        union all

        select
            server,
            daemon,
            feature,
            snapshot_at as first_at,
            snapshot_at as last_at,
        from snapshot_lines
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
        -- The level once every change at the same instant has applied, which
        -- every row of that instant shares.
        sum(delta) over (
            partition by server, daemon, feature
            order by changed_at
            range between unbounded preceding and current row
        ) as seats_after_instant,
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
        coalesce(seat_levels.seats_after_instant, 0) as seats_at_start,
    from hours
    asof left join seat_levels
        on hours.server = seat_levels.server
        and hours.daemon = seat_levels.daemon
        and hours.feature = seat_levels.feature
        and hours.hour_start > seat_levels.changed_at

),

hourly_checkouts as (

    -- Every OUT line counts as a checkout, merged into a span or not.
    select
        coalesce(server, '') as server,
        coalesce(daemon, '') as daemon,
        feature,
        date_trunc('hour', checkout_at) as hour_start,
        count(*) as checkouts,
    from sessions
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

    union all

    -- A user holding a checkout in an lmstat snapshot uses the feature in the
    -- snapshot's hour, whether or not a debug log covers it.
    select
        snapshot_lines.server,
        snapshot_lines.daemon,
        snapshot_lines.feature,
        coalesce(identities.user_key, snapshot_lines.user_name) as person,
        date_trunc('hour', snapshot_lines.snapshot_at) as hour_start,
    from snapshot_lines
    left join identities
        on identities.source = 'flexlm'
        and coalesce(snapshot_lines.user_name, '') = identities.raw_identity
    where snapshot_lines.kind = 'checkout'
        and snapshot_lines.user_name is not null

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

    -- Reservations and queued requests are not use.
    select
        server,
        daemon,
        feature,
        date_trunc('hour', snapshot_at) as hour_start,
        sum(coalesce(seats, 1)) filter (where kind = 'checkout')
            as seats_in_use,
        sum(coalesce(seats, 1)) filter (where kind = 'reservation')
            as seats_reserved,
        max(licenses_issued) as seats_issued,
    from snapshot_lines
    group by 1, 2, 3, 4

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
        flexlm_features.application_id,
        hours.hour_start,
        -- A snapshot is a sample of the hour, so the peak is at least its
        -- count.
        cast(
            greatest(
                levels_at_hour_start.seats_at_start,
                coalesce(hourly_peaks.peak_within_hour, 0),
                coalesce(snapshot_checkouts.seats_in_use, 0)
            ) as integer
        ) as peak_concurrent_seats,
        cast(coalesce(hourly_checkouts.checkouts, 0) as integer) as checkouts,
        cast(coalesce(hourly_denials.denials, 0) as integer) as denials,
        cast(coalesce(hourly_users.distinct_users, 0) as integer)
            as distinct_users,
        cast(snapshot_checkouts.seats_in_use as integer)
            as snapshot_seats_in_use,
        cast(snapshot_checkouts.seats_issued as integer)
            as snapshot_seats_issued,
        -- lmstat counts reserved seats as in use although no user has them
        -- checked out, so they are shown apart and never add to the peak.
        cast(snapshot_checkouts.seats_reserved as integer)
            as snapshot_seats_reserved,
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
    left join snapshot_checkouts
        using (server, daemon, feature, hour_start)
    left join flexlm_features
        on hours.daemon = flexlm_features.daemon
        and hours.feature = flexlm_features.feature

)

select * from final
