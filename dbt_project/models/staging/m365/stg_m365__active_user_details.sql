{%- set services = [
    'exchange', 'onedrive', 'sharepoint', 'skype_for_business', 'yammer',
    'teams',
] -%}

with

source as (

    select * from {{ source('raw', 'm365_active_user_detail') }}

),

renamed as (

    select
        cast(report_refresh_date as date) as report_refresh_date,
        cast(report_period as integer) as report_period,
        -- A date= pull reports the day given. A file without it is read as
        -- reporting its refresh date.
        case
            when report_period is null
                then coalesce(report_date, report_refresh_date)
        end as report_date,
        case
            when report_period is null then 'date'
            else 'period'
        end as pull_kind,
        user_principal_name,
        display_name,
        coalesce(
            is_concealed,
            false
        )
        or regexp_matches(trim(user_principal_name), '^[0-9A-F]{32}$')
        or lower(trim(user_principal_name)) in ('(unknown)', '')
        or user_principal_name is null as is_concealed,
        coalesce(is_deleted, false) as is_deleted,
        deleted_date,
        {%- for service in services %}
        has_{{ service }}_license,
        cast({{ service }}_last_activity_date as date)
            as {{ service }}_last_activity_date,
        cast({{ service }}_license_assign_date as date)
            as {{ service }}_license_assign_date,
        {%- endfor %}
        assigned_products,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Overlapping exports repeat a user's row for the same report: keep the latest
    -- loaded copy.
    select *
    from renamed
    qualify row_number() over (
        partition by
            user_principal_name,
            report_refresh_date,
            report_date,
            report_period
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

),

final as (

    select
        case
            when not is_concealed then {{ user_key('user_principal_name') }}
        end as user_key,
        *,
    from deduplicated

)

select * from final
