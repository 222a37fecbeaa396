with

m365_details as (

    select * from {{ ref('stg_m365__active_user_details') }}

),

usage_events as (

    select * from {{ ref('int_usage_events') }}

),

flexlm_events as (

    select * from {{ ref('stg_flexlm__events') }}

),

data_dates as (

    select max(report_refresh_date) as latest_on from m365_details
    union all
    select max(usage_date) as latest_on from usage_events
    union all
    select max(cast(event_at as date)) as latest_on from flexlm_events

),

final as (

    -- NULL only when the raw schema has no dated rows at all. The wall clock is
    -- never used, so a re-run on old data gives the same result.
    select
        coalesce(
            {{ as_of_date_var() }},
            (select max(latest_on) from data_dates)
        ) as as_of_date,
        (select max(latest_on) from data_dates) as latest_data_on,

)

select * from final
