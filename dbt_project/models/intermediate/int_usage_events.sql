{%- set services = [
    'exchange', 'onedrive', 'sharepoint', 'skype_for_business', 'yammer',
    'teams',
] -%}

with

identities as (

    select * from {{ ref('int_identities') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

m365_details as (

    select * from {{ ref('stg_m365__active_user_details') }}

),

slack_members as (

    select * from {{ ref('stg_slack__members') }}

),

okta_events as (

    select * from {{ ref('stg_okta__events') }}

),

salesforce_logins as (

    select * from {{ ref('stg_salesforce__logins') }}

),

salesforce_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

flexlm_sessions as (

    select * from {{ ref('int_flexlm_sessions_merged') }}

),

flexlm_features as (

    select * from {{ ref('int_flexlm_features') }}

),

m365_teams_activities as (

    select * from {{ ref('stg_m365__teams_user_activities') }}

),

m365_app_details as (

    select * from {{ ref('stg_m365__app_user_details') }}

),

entra_signins as (

    select * from {{ ref('stg_entra__signins') }}

),

google_users as (

    select * from {{ ref('stg_google__users') }}

),

zoom_users as (

    select * from {{ ref('stg_zoom__users') }}

),

atlassian_product_access as (

    select * from {{ ref('stg_atlassian__product_access') }}

),

m365_service_days as (

    -- Every last activity date a date= or period pull shows is a day the
    -- service was used. Each distinct date counts once, however many
    -- overlapping snapshots repeat it. NOTE: a day that no pull reports (before
    -- the first pull, or in a gap) shows only the users who did not use the
    -- service again before the next pull.
    {%- for service in services %}
    select
        user_principal_name as raw_identity,
        '{{ service }}' as service,
        {{ service }}_last_activity_date as usage_date,
    from m365_details
    where not is_concealed
        and {{ service }}_last_activity_date is not null
    union
    {%- endfor %}

    -- The Teams activity report restates the Teams last activity date, so a
    -- day both reports show stays one row of service `teams`.
    select
        user_principal_name as raw_identity,
        'teams' as service,
        last_activity_date as usage_date,
    from m365_teams_activities
    where not is_concealed
        and last_activity_date is not null

    union

    -- Microsoft 365 apps (the Office clients) were used on each distinct last
    -- activity date seen.
    select
        user_principal_name as raw_identity,
        'm365_apps' as service,
        last_activity_date as usage_date,
    from m365_app_details
    where not is_concealed
        and last_activity_date is not null

),

m365_first_reports as (

    -- Only days from a report's first refresh on are fully observed: a last
    -- activity date before it shows just the users idle since, so those days
    -- are backfilled, kept for last use but not counted as whole days.
    select service, min(first_report_date) as first_report_date,
    from (
        {%- for service in services %}
        select
            '{{ service }}' as service,
            min(coalesce(report_date, report_refresh_date))
                as first_report_date,
        from m365_details
        union all
        {%- endfor %}
        select
            'teams' as service,
            min(report_refresh_date) as first_report_date,
        from m365_teams_activities
        union all
        select
            'm365_apps' as service,
            min(report_refresh_date) as first_report_date,
        from m365_app_details
    )
    group by service

),

m365_events as (

    select
        'm365' as source,
        raw_identity,
        'm365_service' as catalog_source,
        service as raw_name,
        usage_date,
        0 as sessions,
        cast(0 as double) as minutes,
        1 as events,
        service as feature,
    from m365_service_days

),

slack_active_days as (

    -- A one-day window with days active > 0 means use on that day, but a longer
    -- window gives only its last active day.
    select
        coalesce(email, user_id) as raw_identity,
        case
            when window_end = window_start
                then window_end
            else last_active_on
        end as usage_date,
        case
            when window_end = window_start
                then coalesce(messages_posted, 0)
            else 0
        end as messages_posted,
    from slack_members
    where
        (
            window_end = window_start
            and days_active > 0
        )
        or (
            window_end > window_start
            and last_active_on is not null
        )

),

slack_events as (

    select
        'slack' as source,
        raw_identity,
        'slack' as catalog_source,
        'Slack' as raw_name,
        usage_date,
        0 as sessions,
        cast(0 as double) as minutes,
        greatest(max(messages_posted), 1) as events,
        cast(null as varchar) as feature,
    from slack_active_days
    group by raw_identity, usage_date

),

okta_sso_events as (

    select
        'okta' as source,
        actor_alternate_id as raw_identity,
        'okta' as catalog_source,
        coalesce(app_display_name, app_label) as raw_name,
        cast(published_at as date) as usage_date,
        1 as sessions,
        cast(0 as double) as minutes,
        1 as events,
        cast(null as varchar) as feature,
    from okta_events
    where event_type = 'user.authentication.sso'
        and outcome_result = 'SUCCESS'

),

salesforce_events as (

    select
        'salesforce' as source,
        salesforce_logins.username as raw_identity,
        'salesforce' as catalog_source,
        coalesce(salesforce_users.user_license, 'Salesforce') as raw_name,
        cast(salesforce_logins.login_at as date) as usage_date,
        1 as sessions,
        cast(0 as double) as minutes,
        1 as events,
        cast(null as varchar) as feature,
    from salesforce_logins
    left join salesforce_users
        on lower(trim(salesforce_logins.username))
            = lower(trim(salesforce_users.username))
    where salesforce_logins.is_success

),

flexlm_session_days as (

    -- A span of repeated checkouts counts as one session. A span crossing
    -- midnight covers part of each day, and the covered time is kept so that
    -- fct_daily_usage can merge spans that overlap.
    select
        flexlm_sessions.*,
        cast(day_start as date) as usage_date,
        greatest(checkout_at, day_start) as active_from,
        least(held_until, day_start + interval 1 day) as active_until,
    from flexlm_sessions,
        unnest(
            generate_series(
                date_trunc('day', checkout_at),
                date_trunc('day', held_until),
                interval 1 day
            )
        ) as days(day_start)

),

flexlm_events as (

    -- FlexLM features map to the catalog by feature code and vendor daemon.
    select
        'flexlm' as source,
        flexlm_session_days.user_name as raw_identity,
        flexlm_session_days.feature as raw_name,
        flexlm_features.application_id,
        flexlm_features.application,
        flexlm_session_days.usage_date,
        case
            when flexlm_session_days.usage_date
                = cast(flexlm_session_days.checkout_at as date)
                then 1
            else 0
        end as sessions,
        greatest(
            date_diff(
                'second',
                flexlm_session_days.active_from,
                flexlm_session_days.active_until
            ),
            0
        ) / 60.0 as minutes,
        case
            when flexlm_session_days.usage_date
                = cast(flexlm_session_days.checkout_at as date)
                then 1
            else 0
        end as events,
        flexlm_session_days.feature,
        flexlm_session_days.active_from,
        flexlm_session_days.active_until,
    from flexlm_session_days
    left join flexlm_features
        on flexlm_session_days.daemon = flexlm_features.daemon
        and flexlm_session_days.feature = flexlm_features.feature

),

entra_events as (

    -- Interactive successful sign-ins only, because non-interactive ones are
    -- token refreshes made without the user. NOTE: a download whose file name
    -- does not give the sign-in type is counted as interactive.
    select
        'entra' as source,
        user_principal_name as raw_identity,
        'entra' as catalog_source,
        application as raw_name,
        cast(signed_in_at as date) as usage_date,
        1 as sessions,
        cast(0 as double) as minutes,
        1 as events,
        cast(null as varchar) as feature,
    from entra_signins
    where is_success
        and coalesce(sign_in_type, 'interactive') = 'interactive'
        and user_principal_name is not null
        and application is not null

),

saas_last_seen_days as (

    -- Last sign-in and last-seen dates are a state, so each distinct date seen
    -- in any export is one day of use, once however many sites show it.
    select
        'google' as source,
        google_users.email as raw_identity,
        'google' as catalog_source,
        'Google Workspace' as raw_name,
        sign_in.usage_date,
    from google_users,
        unnest(coalesce(google_users.sign_in_days, []))
            as sign_in(usage_date)

    union

    select
        'zoom' as source,
        zoom_users.email as raw_identity,
        'zoom' as catalog_source,
        'Zoom' as raw_name,
        login.usage_date,
    from zoom_users,
        unnest(coalesce(zoom_users.login_days, [])) as login(usage_date)

    union

    -- NOTE: the legacy Atlassian site export has no per-product dates, so its
    -- users give no product usage.
    select
        'atlassian' as source,
        coalesce(nullif(trim(access.email), ''), access.username)
            as raw_identity,
        'atlassian' as catalog_source,
        access.product as raw_name,
        seen.usage_date,
    from atlassian_product_access as access,
        unnest(coalesce(access.seen_days, [])) as seen(usage_date)

),

saas_events as (

    select
        source,
        raw_identity,
        catalog_source,
        raw_name,
        usage_date,
        0 as sessions,
        cast(0 as double) as minutes,
        1 as events,
        cast(null as varchar) as feature,
    from saas_last_seen_days
    where raw_identity is not null

),

unioned as (

    select * from m365_events
    union all
    select * from slack_events
    union all
    select * from okta_sso_events
    union all
    select * from salesforce_events
    union all
    select * from entra_events
    union all
    select * from saas_events

),

raw_names as (

    select distinct catalog_source, raw_name
    from unioned

),

catalog_matches as (

    -- The matching catalog name of maximum length wins, so `Salesforce Platform`
    -- is not read as `Salesforce`.
    select
        raw_names.catalog_source,
        raw_names.raw_name,
        catalog.application_id,
        catalog.application,
    from raw_names
    inner join catalog
        on raw_names.catalog_source = catalog.source
        and {{ catalog_matches('catalog', 'raw_names.raw_name') }}
    qualify row_number() over (
        partition by raw_names.catalog_source, raw_names.raw_name
        order by length(catalog.raw_name) desc
    ) = 1

),

catalogued as (

    select
        unioned.source,
        unioned.raw_identity,
        unioned.raw_name,
        catalog_matches.application_id,
        catalog_matches.application,
        unioned.usage_date,
        unioned.sessions,
        unioned.minutes,
        unioned.events,
        unioned.feature,
        cast(null as timestamp) as active_from,
        cast(null as timestamp) as active_until,
    from unioned
    left join catalog_matches
        on unioned.catalog_source = catalog_matches.catalog_source
        and unioned.raw_name = catalog_matches.raw_name

    union all

    select * from flexlm_events

),

final as (

    select
        catalogued.source,
        catalogued.raw_identity,
        identities.user_key,
        identities.match_method,
        catalogued.raw_name,
        catalogued.application_id,
        catalogued.application,
        catalogued.usage_date,
        catalogued.sessions,
        catalogued.minutes,
        catalogued.events,
        catalogued.feature,
        catalogued.active_from,
        catalogued.active_until,
        coalesce(
            catalogued.usage_date < m365_first_reports.first_report_date,
            false
        ) as is_backfilled,
    from catalogued
    left join identities
        on catalogued.source = identities.source
        and coalesce(catalogued.raw_identity, '') = identities.raw_identity
    left join m365_first_reports
        on catalogued.source = 'm365'
        and catalogued.raw_name = m365_first_reports.service

)

select * from final
