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

adobe_users as (

    select * from {{ ref('stg_adobe__users') }}

),

salesforce_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

slack_members as (

    select * from {{ ref('stg_slack__members') }}

),

slack_billing as (

    select * from {{ ref('stg_slack__billing') }}

),

m365_latest as (

    -- Each user's latest report row lists their current products.
    select
        *,
        min(report_refresh_date) over (
            partition by user_principal_name
        ) as first_reported_on,
    from m365_details
    where not is_concealed
    qualify row_number() over (
        partition by user_principal_name
        order by report_refresh_date desc, _loaded_at desc
    ) = 1

),

m365_assignments as (

    -- Assigned Products is `+`-joined because product names contain commas.
    select
        'm365' as source,
        user_principal_name as raw_identity,
        trim(product.raw_name) as raw_name,
        coalesce(
            least(
                {%- for service in services %}
                {{ service }}_license_assign_date{{ ',' if not loop.last }}
                {%- endfor %}
            ),
            first_reported_on
        ) as assigned_on,
    from m365_latest,
        unnest(string_split(assigned_products, '+')) as product(raw_name)
    where nullif(trim(assigned_products), '') is not null
        and nullif(trim(product.raw_name), '') is not null

),

adobe_assignments as (

    -- Product configurations are comma-separated inside one cell.
    select
        'adobe' as source,
        coalesce(nullif(trim(email), ''), username) as raw_identity,
        trim(configuration.raw_name) as raw_name,
        -- The Admin Console export carries no assignment date, and the load time is
        -- the wall clock, not the data's date, so the date stays unknown.
        cast(null as date) as assigned_on,
    from adobe_users,
        unnest(string_split(product_configurations, ','))
            as configuration(raw_name)
    where coalesce(status, 'active') not in ('removed', 'disabled', 'inactive')
        and nullif(trim(configuration.raw_name), '') is not null

),

salesforce_assignments as (

    select
        'salesforce' as source,
        username as raw_identity,
        trim(user_license) as raw_name,
        -- The User export carries no licence date; the load time is not the data's.
        cast(null as date) as assigned_on,
    from salesforce_users
    where coalesce(is_active, true)
        and nullif(trim(user_license), '') is not null

),

slack_latest as (

    select
        *,
        min(window_start) over (
            partition by coalesce(email, user_id)
        ) as first_window_start,
    from slack_members
    qualify row_number() over (
        partition by coalesce(email, user_id)
        order by window_end desc, _loaded_at desc
    ) = 1

),

slack_assignments as (

    -- A member has a paid seat while billing is active.
    select
        'slack' as source,
        coalesce(email, user_id) as raw_identity,
        'Slack' as raw_name,
        coalesce(account_created_at, first_window_start) as assigned_on,
    from slack_latest
    where coalesce(billing_active, deactivated_at is null)
        and not exists (select 1 from slack_billing)

),

slack_billing_assignments as (

    -- The Manage members export lists who is billed, so when one is loaded it
    -- replaces the analytics export as the licence source for Slack.
    select
        'slack' as source,
        coalesce(slack_billing.email, slack_billing.user_id) as raw_identity,
        'Slack' as raw_name,
        coalesce(
            slack_latest.account_created_at,
            slack_latest.first_window_start
        ) as assigned_on,
    from slack_billing
    left join slack_latest
        on coalesce(slack_billing.email, slack_billing.user_id)
            = coalesce(slack_latest.email, slack_latest.user_id)
    where slack_billing.billing_active

),

unioned as (

    -- NOTE: a user missing from a later Adobe, Salesforce or Slack export keeps
    -- the assignment of the last export that listed them.
    select * from m365_assignments
    union all
    select * from adobe_assignments
    union all
    select * from salesforce_assignments
    union all
    select * from slack_assignments
    union all
    select * from slack_billing_assignments

),

raw_names as (

    select distinct source, raw_name
    from unioned

),

catalog_matches as (

    select
        raw_names.source,
        raw_names.raw_name,
        catalog.application_id,
        catalog.application,
        catalog.sku,
    from raw_names
    inner join catalog
        on raw_names.source = catalog.source
        and {{ catalog_matches('catalog', 'raw_names.raw_name') }}
    qualify row_number() over (
        partition by raw_names.source, raw_names.raw_name
        order by length(catalog.raw_name) desc
    ) = 1

),

final as (

    select
        unioned.source,
        unioned.raw_identity,
        identities.user_key,
        identities.match_method,
        unioned.raw_name,
        catalog_matches.application_id,
        catalog_matches.application,
        catalog_matches.sku,
        unioned.assigned_on,
    from unioned
    left join catalog_matches
        on unioned.source = catalog_matches.source
        and unioned.raw_name = catalog_matches.raw_name
    left join identities
        on unioned.source = identities.source
        and coalesce(unioned.raw_identity, '') = identities.raw_identity

)

select * from final
