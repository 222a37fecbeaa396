-- One row per FlexLM vendor daemon and feature seen in debug logs or lmstat
-- output, with the catalog application the pair maps to.

with

sessions as (

    select * from {{ ref('stg_flexlm__sessions') }}

),

events as (

    select * from {{ ref('stg_flexlm__events') }}

),

lmstat_features as (

    select * from {{ ref('stg_flexlm__lmstat_features') }}

),

lmstat_checkouts as (

    select * from {{ ref('stg_flexlm__lmstat_checkouts') }}

),

lmstat_entitlements as (

    select * from {{ ref('stg_flexlm__lmstat_entitlements') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

sightings as (

    -- An empty daemon means the line named none.
    select coalesce(daemon, '') as daemon, feature, user_name,
    from sessions

    union all

    select coalesce(daemon, '') as daemon, feature, user_name,
    from events

    union all

    select coalesce(daemon, '') as daemon, feature, user_name,
    from lmstat_checkouts

    union all

    select
        coalesce(daemon, '') as daemon,
        feature,
        cast(null as varchar) as user_name,
    from lmstat_features

    union all

    select
        coalesce(daemon, '') as daemon,
        feature,
        cast(null as varchar) as user_name,
    from lmstat_entitlements

),

features as (

    select
        daemon,
        feature,
        count(*) as rows,
        string_agg(distinct user_name, '; ')[:200] as example_users,
    from sightings
    where nullif(trim(feature), '') is not null
    group by daemon, feature

),

matched as (

    -- A catalog row naming the feature's daemon beats one naming no daemon,
    -- and a longer matching name beats a shorter one. A line without a daemon
    -- matches a row for any daemon.
    select
        features.daemon,
        features.feature,
        catalog.raw_name as catalog_name,
        catalog.application_id,
        catalog.application,
        catalog.sku,
    from features
    inner join catalog
        on catalog.source = 'flexlm'
        and {{ catalog_matches('catalog', 'features.feature') }}
        and (
            catalog.vendor_daemon is null
            or features.daemon = ''
            or lower(catalog.vendor_daemon) = lower(features.daemon)
        )
    qualify row_number() over (
        partition by features.daemon, features.feature
        order by
            coalesce(
                lower(catalog.vendor_daemon) = lower(features.daemon), false
            ) desc,
            length(catalog.raw_name) desc,
            catalog.application_id
    ) = 1

),

final as (

    select
        features.daemon,
        features.feature,
        matched.application_id,
        matched.application,
        matched.sku,
        features.rows,
        features.example_users,
    from features
    left join matched
        on features.daemon = matched.daemon
        and features.feature = matched.feature

)

select * from final
