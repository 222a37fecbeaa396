-- One row per source file and dataset with the latest date it contains, for
-- the as-of date. A date more than a day after the machine's current date
-- (or after the as_of_date var, when later) comes from a skewed clock or a
-- misread file, so it is counted apart and never dates the data.

{% set dated_columns = [
    ('m365', 'active_user_detail', 'stg_m365__active_user_details',
        'report_refresh_date', 'report'),
    ('m365', 'active_user_counts', 'stg_m365__active_user_counts',
        'report_refresh_date', 'report'),
    ('m365', 'app_user_detail', 'stg_m365__app_user_details',
        'report_refresh_date', 'report'),
    ('m365', 'teams_user_activity', 'stg_m365__teams_user_activities',
        'report_refresh_date', 'report'),
    ('m365', 'activations_user_detail', 'stg_m365__user_activations',
        'report_refresh_date', 'report'),
    ('m365', 'assigned_products', 'stg_m365__assigned_products',
        'report_refresh_date', 'report'),
    ('flexlm', 'lmstat_features', 'stg_flexlm__lmstat_features',
        'snapshot_at', 'report'),
    ('flexlm', 'lmstat_checkouts', 'stg_flexlm__lmstat_checkouts',
        'snapshot_at', 'report'),
    ('slack', 'members', 'stg_slack__members', 'window_end', 'report'),
    ('flexlm', 'events', 'stg_flexlm__events', 'event_at', 'activity'),
    ('flexlm', 'server_events', 'stg_flexlm__server_events', 'event_at',
        'activity'),
    ('okta', 'events', 'stg_okta__events', 'published_at', 'activity'),
    ('okta', 'users', 'stg_okta__users', 'last_login_at', 'activity'),
    ('entra', 'signins', 'stg_entra__signins', 'signed_in_at', 'activity'),
    ('entra', 'users', 'stg_entra__users', 'last_activity_at', 'activity'),
    ('salesforce', 'logins', 'stg_salesforce__logins', 'login_at',
        'activity'),
    ('salesforce', 'users', 'stg_salesforce__users', 'last_login_at',
        'activity'),
    ('google', 'users', 'stg_google__users', 'last_sign_in_at', 'activity'),
    ('zoom', 'users', 'stg_zoom__users', 'last_login_at', 'activity'),
    ('atlassian', 'users', 'stg_atlassian__users', 'last_active_on',
        'activity'),
    ('atlassian', 'product_access', 'stg_atlassian__product_access',
        'last_seen_on', 'activity'),
    ('hr', 'hire_dates', 'stg_hr__employees', 'hire_date', 'directory'),
    ('hr', 'termination_dates', 'stg_hr__employees', 'termination_date',
        'directory'),
    ('installs', 'installs', 'stg_installs__installs', 'installed_on',
        'directory'),
    ('decisions', 'decisions', 'stg_decisions__decisions', 'decided_at',
        'directory'),
] %}

with

dated_rows as (

    {%- for source, dataset, model, column, kind in dated_columns %}
    select
        '{{ source }}' as source,
        '{{ dataset }}' as dataset,
        '{{ kind }}' as date_kind,
        _source_file as source_file,
        cast({{ column }} as date) as dated_on,
    from {{ ref(model) }}
    where {{ column }} is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

final as (

    select
        source,
        dataset,
        -- Report dates are refresh dates, snapshots and windows, activity
        -- dates are events and last sign-ins, and directory dates (HR,
        -- installs, decisions) date the data only when nothing else does.
        date_kind,
        source_file,
        max(dated_on) filter (where dated_on <= {{ latest_usable_date() }})
            as latest_on,
        -- Future hire and termination dates are planned changes, not skew.
        cast(
            count(*) filter (
                where dated_on > {{ latest_usable_date() }}
                    and date_kind <> 'directory'
            ) as integer
        ) as future_rows,
        max(dated_on) as latest_seen_on,
    from dated_rows
    group by source, dataset, date_kind, source_file

)

select * from final
