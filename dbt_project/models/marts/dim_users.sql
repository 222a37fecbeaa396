{#- IdP statuses of a deprovisioned account, as a SQL list of literals. -#}
{%- set deprovisioned -%}
    {%- for status in var('deprovisioned_idp_statuses') -%}
        '{{ status | lower }}'{{ ', ' if not loop.last }}
    {%- endfor -%}
{%- endset -%}

with

employees as (

    select * from {{ ref('stg_hr__employees') }}

),

identities as (

    select * from {{ ref('int_identities') }}

),

m365_details as (

    select * from {{ ref('stg_m365__active_user_details') }}

),

okta_users as (

    select * from {{ ref('stg_okta__users') }}

),

okta_exports as (

    select * from {{ ref('stg_okta__user_exports') }}

),

slack_members as (

    select * from {{ ref('stg_slack__members') }}

),

usage as (

    select * from {{ ref('fct_daily_usage') }}

),

as_of as (

    select * from {{ ref('as_of_date') }}

),

hr_people as (

    -- An employee without an e-mail keeps a key made from the employee id.
    select
        coalesce(user_key, 'employee:' || employee_id) as user_key,
        *  exclude (user_key),
    from employees
    qualify row_number() over (
        partition by coalesce(user_key, 'employee:' || employee_id)
        order by _loaded_at desc, hr_status = 'active' desc, employee_id
    ) = 1

),

identity_people as (

    select
        user_key,
        string_agg(distinct source, ',' order by source) as sources,
    from identities
    where user_key is not null
    group by user_key

),

people as (

    select user_key from hr_people
    union
    select user_key from identity_people

),

hr_domains as (

    select distinct split_part(user_key, '@', 2) as domain
    from hr_people
    where user_key like '%@%'

),

m365_people as (

    -- Deleted flags come from each user's latest report row. Activity comes from
    -- every row, because a deleted account's last activity is the conflicting
    -- evidence.
    select
        identities.user_key,
        arg_max(m365_details.is_deleted, m365_details.report_refresh_date)
            as is_deleted,
        arg_max(m365_details.deleted_date, m365_details.report_refresh_date)
            as deleted_date,
        arg_max(m365_details.display_name, m365_details.report_refresh_date)
            as display_name,
        max(m365_details.report_refresh_date) as last_reported_on,
        max(
            greatest(
                m365_details.exchange_last_activity_date,
                m365_details.onedrive_last_activity_date,
                m365_details.sharepoint_last_activity_date,
                m365_details.skype_for_business_last_activity_date,
                m365_details.yammer_last_activity_date,
                m365_details.teams_last_activity_date
            )
        ) as last_activity_on,
    from m365_details
    inner join identities
        on identities.source = 'm365'
        and coalesce(m365_details.user_principal_name, '')
            = identities.raw_identity
    where identities.user_key is not null
    group by identities.user_key

),

m365_latest_report as (

    -- Only unconcealed rows date the latest report, because a report whose
    -- names are all concealed matches no person and cannot show who is absent.
    select max(report_refresh_date) as latest_reported_on,
    from m365_details
    where not is_concealed

),

okta_people as (

    -- The reclaim rules compare lower-case statuses (deprovisioned, suspended).
    select
        identities.user_key,
        lower(arg_max(okta_users.status, okta_users._loaded_at))
            as idp_status,
    from okta_users
    inner join identities
        on identities.source = 'okta'
        and coalesce(okta_users.login, '') = identities.raw_identity
    where identities.user_key is not null
    group by identities.user_key

),

slack_people as (

    select
        identities.user_key,
        bool_or(
            lower(slack_members.account_type) like '%guest%'
        ) as is_guest,
        arg_max(slack_members.name, slack_members.window_end) as display_name,
    from slack_members
    inner join identities
        on identities.source = 'slack'
        and coalesce(slack_members.email, slack_members.user_id, '')
            = identities.raw_identity
    where identities.user_key is not null
    group by identities.user_key

),

okta_snapshot as (

    -- The latest Okta user export contains no DEPROVISIONED user when it came
    -- from the default listing, which leaves them out.
    select coalesce(bool_or(is_partial), false) as is_partial,
    from okta_exports
    where is_latest

),

usage_people as (

    select
        user_key,
        max(usage_date) as last_used_on,
    from usage
    group by user_key

),

flagged as (

    select
        people.user_key,
        hr_people.user_key is not null as is_in_hr,
        coalesce(hr_people.hr_status, 'unknown') as hr_status,
        okta_people.idp_status,
        coalesce(m365_people.is_deleted, false) as is_deleted_in_m365,
        greatest(m365_people.last_activity_on, usage_people.last_used_on)
            as last_activity_on,
        m365_people.last_reported_on as m365_last_reported_on,
        case
            when m365_people.last_reported_on is null then 'never_reported'
            when m365_people.last_reported_on
                < m365_latest_report.latest_reported_on
                then 'absent_from_report'
            else 'reported'
        end as m365_report_status,
    from people
    cross join m365_latest_report
    left join hr_people
        on people.user_key = hr_people.user_key
    left join m365_people
        on people.user_key = m365_people.user_key
    left join okta_people
        on people.user_key = okta_people.user_key
    left join usage_people
        on people.user_key = usage_people.user_key

),

reconciled as (

    -- Microsoft 365 can flag a live account deleted, so the flag conflicts
    -- with recent activity or with an active HR or IdP record, and such a user
    -- is not reclaimed at once. A termination in HR or a deprovisioned IdP
    -- account confirms the flag.
    select
        flagged.*,
        is_deleted_in_m365
        and hr_status <> 'terminated'
        and coalesce(idp_status not in ({{ deprovisioned }}), true)
        and (
            coalesce(
                date_diff('day', last_activity_on, as_of.as_of_date)
                <= {{ var('deleted_conflict_days', 30) }},
                false
            )
            or hr_status = 'active'
            -- Okta statuses of an account that can still sign in.
            or coalesce(
                idp_status in (
                    'active', 'password_expired', 'locked_out', 'recovery'
                ),
                false
            )
        ) as has_conflicting_deleted_flag,
    from flagged
    cross join as_of

),

statuses as (

    -- HR wins, then the IdP, then Microsoft 365's deleted flag.
    select
        reconciled.*,
        case
            when hr_status = 'terminated' then 'terminated'
            when hr_status = 'leave' then 'leave'
            when idp_status in ({{ deprovisioned }}) then 'deprovisioned'
            when has_conflicting_deleted_flag then 'deleted_flag_conflict'
            when is_deleted_in_m365 then 'deleted'
            else 'active'
        end as account_status,
    from reconciled

),

final as (

    select
        people.user_key,
        coalesce(
            hr_people.email,
            case when people.user_key like '%@%' then people.user_key end
        ) as email,
        hr_people.employee_id,
        coalesce(
            hr_people.display_name,
            m365_people.display_name,
            slack_people.display_name
        ) as display_name,
        hr_people.department,
        hr_people.role,
        hr_people.manager_key,
        hr_people.hire_date,
        hr_people.termination_date,
        statuses.hr_status,
        statuses.is_in_hr,
        {{ is_service_account('people.user_key') }} as is_service_account,
        -- Absence from Okta never makes a person external, because an Okta
        -- snapshot can be partial. Without an HR file no domain is known to
        -- be the organisation's, so only guest flags make a person external.
        hr_people.user_key is null
        and not {{ is_service_account('people.user_key') }}
        and (
            coalesce(slack_people.is_guest, false)
            or (
                exists (select 1 from hr_domains)
                and split_part(people.user_key, '@', 2) not in (
                    select domain from hr_domains
                )
            )
        ) as is_external,
        statuses.idp_status,
        okta_snapshot.is_partial as idp_snapshot_is_partial,
        statuses.account_status,
        statuses.account_status in ('terminated', 'deprovisioned', 'deleted')
            as is_reclaim_at_once,
        -- People on leave keep their licences.
        statuses.account_status = 'leave' as is_exempt_from_reclamation,
        statuses.is_deleted_in_m365,
        m365_people.deleted_date as m365_deleted_date,
        statuses.has_conflicting_deleted_flag,
        statuses.m365_report_status,
        statuses.m365_last_reported_on,
        statuses.last_activity_on,
        identity_people.sources,
    from people
    cross join okta_snapshot
    inner join statuses
        on people.user_key = statuses.user_key
    left join hr_people
        on people.user_key = hr_people.user_key
    left join identity_people
        on people.user_key = identity_people.user_key
    left join m365_people
        on people.user_key = m365_people.user_key
    left join slack_people
        on people.user_key = slack_people.user_key

)

select * from final
