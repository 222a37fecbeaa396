-- Every identity value each source shows, one row per source row, before resolution.

with

employees as (

    select * from {{ ref('stg_hr__employees') }}

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

salesforce_logins as (

    select * from {{ ref('stg_salesforce__logins') }}

),

slack_members as (

    select * from {{ ref('stg_slack__members') }}

),

okta_users as (

    select * from {{ ref('stg_okta__users') }}

),

okta_events as (

    select * from {{ ref('stg_okta__events') }}

),

flexlm_sessions as (

    select * from {{ ref('stg_flexlm__sessions') }}

),

flexlm_events as (

    select * from {{ ref('stg_flexlm__events') }}

),

lmstat_checkouts as (

    select * from {{ ref('stg_flexlm__lmstat_checkouts') }}

),

m365_app_details as (

    select * from {{ ref('stg_m365__app_user_details') }}

),

m365_teams_activities as (

    select * from {{ ref('stg_m365__teams_user_activities') }}

),

m365_activations as (

    select * from {{ ref('stg_m365__user_activations') }}

),

entra_signins as (

    select * from {{ ref('stg_entra__signins') }}

),

entra_users as (

    select * from {{ ref('stg_entra__users') }}

),

google_users as (

    select * from {{ ref('stg_google__users') }}

),

zoom_users as (

    select * from {{ ref('stg_zoom__users') }}

),

atlassian_users as (

    select * from {{ ref('stg_atlassian__users') }}

),

atlassian_product_access as (

    select * from {{ ref('stg_atlassian__product_access') }}

),

slack_billing as (

    select * from {{ ref('stg_slack__billing') }}

),

hr_sightings as (

    select
        'hr' as source,
        email as raw_identity,
        email as candidate_email,
        username as candidate_login,
        false as is_concealed,
        cast(_loaded_at as date) as seen_on,
    from employees
    where email is not null

),

m365_sightings as (

    select
        'm365' as source,
        user_principal_name as raw_identity,
        case when not is_concealed then user_principal_name end
            as candidate_email,
        cast(null as varchar) as candidate_login,
        is_concealed,
        report_refresh_date as seen_on,
    from m365_details

),

adobe_sightings as (

    select
        'adobe' as source,
        coalesce(nullif(trim(email), ''), username) as raw_identity,
        coalesce(nullif(trim(email), ''), username) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(_loaded_at as date) as seen_on,
    from adobe_users

),

salesforce_user_sightings as (

    -- Salesforce usernames are not e-mail addresses, so the User export's e-mail
    -- is used.
    select
        'salesforce' as source,
        username as raw_identity,
        coalesce(email, username) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(coalesce(last_login_at, _loaded_at) as date) as seen_on,
    from salesforce_users

),

salesforce_login_sightings as (

    select
        'salesforce' as source,
        salesforce_logins.username as raw_identity,
        coalesce(by_username.email, by_id.email, salesforce_logins.username)
            as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(salesforce_logins.login_at as date) as seen_on,
    from salesforce_logins
    left join salesforce_users as by_username
        on lower(trim(salesforce_logins.username))
            = lower(trim(by_username.username))
    left join salesforce_users as by_id
        on salesforce_logins.user_id = by_id.user_id
        and by_username.user_id is null

),

slack_emails as (

    -- A member's e-mail from any window, for windows exported without it.
    select
        user_id,
        max(email) as email,
    from slack_members
    where user_id is not null and email is not null
    group by user_id

),

slack_sightings as (

    select
        'slack' as source,
        coalesce(slack_members.email, slack_members.user_id) as raw_identity,
        coalesce(slack_members.email, slack_emails.email) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        slack_members.window_end as seen_on,
    from slack_members
    left join slack_emails
        on slack_members.user_id = slack_emails.user_id

),

okta_user_sightings as (

    select
        'okta' as source,
        login as raw_identity,
        coalesce(email, login) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(coalesce(last_login_at, _loaded_at) as date) as seen_on,
    from okta_users

),

okta_event_sightings as (

    select
        'okta' as source,
        okta_events.actor_alternate_id as raw_identity,
        coalesce(okta_users.email, okta_events.actor_alternate_id)
            as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(okta_events.published_at as date) as seen_on,
    from okta_events
    left join okta_users
        on lower(trim(okta_events.actor_alternate_id))
            = lower(trim(okta_users.login))
    where okta_events.actor_alternate_id is not null

),

flexlm_sightings as (

    -- License servers report OS logins, resolved through HR usernames.
    select
        'flexlm' as source,
        user_name as raw_identity,
        cast(null as varchar) as candidate_email,
        os_login as candidate_login,
        false as is_concealed,
        cast(checkout_at as date) as seen_on,
    from flexlm_sessions

    union all

    select
        'flexlm' as source,
        user_name as raw_identity,
        cast(null as varchar) as candidate_email,
        os_login as candidate_login,
        false as is_concealed,
        cast(event_at as date) as seen_on,
    from flexlm_events
    where user_name is not null

    union all

    select
        'flexlm' as source,
        user_name as raw_identity,
        cast(null as varchar) as candidate_email,
        os_login as candidate_login,
        false as is_concealed,
        cast(snapshot_at as date) as seen_on,
    from lmstat_checkouts
    where user_name is not null

),

m365_report_sightings as (

    -- The other Microsoft 365 user reports name the same UPNs. A concealed row
    -- stays a concealed sighting and never becomes a person.
    {%- for report in [
        'm365_app_details', 'm365_teams_activities', 'm365_activations',
    ] %}
    select
        'm365' as source,
        user_principal_name as raw_identity,
        case when not is_concealed then user_principal_name end
            as candidate_email,
        cast(null as varchar) as candidate_login,
        is_concealed,
        report_refresh_date as seen_on,
    from {{ report }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

entra_user_sightings as (

    -- The mail attribute names the person, because a guest's UPN is an
    -- `#EXT#` alias.
    select
        'entra' as source,
        user_principal_name as raw_identity,
        coalesce(nullif(trim(mail), ''), user_principal_name)
            as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(coalesce(last_activity_at, _loaded_at) as date) as seen_on,
    from entra_users
    where user_principal_name is not null

),

entra_signin_sightings as (

    select
        'entra' as source,
        entra_signins.user_principal_name as raw_identity,
        coalesce(
            nullif(trim(entra_users.mail), ''),
            entra_signins.user_principal_name
        ) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(entra_signins.signed_in_at as date) as seen_on,
    from entra_signins
    left join entra_users
        on lower(trim(entra_signins.user_principal_name))
            = lower(trim(entra_users.user_principal_name))
    where entra_signins.user_principal_name is not null

),

saas_user_sightings as (

    select
        'google' as source,
        email as raw_identity,
        email as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(coalesce(last_sign_in_at, _loaded_at) as date) as seen_on,
    from google_users
    where email is not null

    union all

    select
        'zoom' as source,
        email as raw_identity,
        email as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(coalesce(last_login_at, _loaded_at) as date) as seen_on,
    from zoom_users
    where email is not null

    union all

    select
        'atlassian' as source,
        coalesce(nullif(trim(email), ''), username) as raw_identity,
        coalesce(nullif(trim(email), ''), username) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(coalesce(last_active_on, last_login_at, _loaded_at) as date)
            as seen_on,
    from atlassian_users
    where coalesce(nullif(trim(email), ''), username) is not null

    union all

    select
        'atlassian' as source,
        coalesce(nullif(trim(email), ''), username) as raw_identity,
        coalesce(nullif(trim(email), ''), username) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        coalesce(last_seen_on, cast(_loaded_at as date)) as seen_on,
    from atlassian_product_access
    where coalesce(nullif(trim(email), ''), username) is not null

),

slack_billing_sightings as (

    -- The same raw identity as the member analytics rows (e-mail, else the
    -- Slack id), so both resolve to one person.
    select
        'slack' as source,
        coalesce(slack_billing.email, slack_billing.user_id) as raw_identity,
        coalesce(slack_billing.email, slack_emails.email) as candidate_email,
        cast(null as varchar) as candidate_login,
        false as is_concealed,
        cast(slack_billing._loaded_at as date) as seen_on,
    from slack_billing
    left join slack_emails
        on slack_billing.user_id = slack_emails.user_id
    where coalesce(slack_billing.email, slack_billing.user_id) is not null

),

unioned as (

    select * from hr_sightings
    union all
    select * from m365_sightings
    union all
    select * from adobe_sightings
    union all
    select * from salesforce_user_sightings
    union all
    select * from salesforce_login_sightings
    union all
    select * from slack_sightings
    union all
    select * from okta_user_sightings
    union all
    select * from okta_event_sightings
    union all
    select * from flexlm_sightings
    union all
    select * from m365_report_sightings
    union all
    select * from entra_user_sightings
    union all
    select * from entra_signin_sightings
    union all
    select * from saas_user_sightings
    union all
    select * from slack_billing_sightings

),

final as (

    select
        source,
        coalesce(raw_identity, '') as raw_identity,
        {{ user_key('candidate_email') }} as candidate_key,
        coalesce(
            candidate_login,
            case
                when candidate_email not like '%@%'
                    then {{ os_login('candidate_email') }}
            end
        ) as candidate_login,
        is_concealed,
        seen_on,
    from unioned

)

select * from final
