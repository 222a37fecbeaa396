{%- set relation = source('raw', 'm365_app_user_detail') -%}
{%- set columns = existing_columns(relation) -%}
{%- set platforms = ['windows', 'mac', 'mobile', 'web'] -%}
{%- set apps = [
    'outlook', 'word', 'excel', 'powerpoint', 'onenote', 'teams',
] -%}

with

source as (

    -- The model is empty when the raw table is missing, as in a warehouse
    -- built by an older loader.
    {%- if columns %}
    select * from {{ relation }}
    {%- else %}
    select 1 as no_table where false
    {%- endif %}

),

renamed as (

    select
        {{ column_or_null(columns, 'report_refresh_date', 'date') }}
            as report_refresh_date,
        {{ column_or_null(columns, 'report_period', 'integer') }}
            as report_period,
        {{ column_or_null(columns, 'user_principal_name', 'varchar') }}
            as user_principal_name,
        {{ column_or_null(columns, 'last_activation_date', 'date') }}
            as last_activation_date,
        {{ column_or_null(columns, 'last_activity_date', 'date') }}
            as last_activity_date,
        {%- for platform in platforms %}
        {{ column_or_null(columns, platform, 'boolean') }}
            as used_on_{{ platform }},
        {%- endfor %}
        {%- for app in apps %}
        {{ column_or_null(columns, app, 'boolean') }} as used_{{ app }},
        {%- endfor %}
        {%- for platform in platforms %}
        {%- for app in apps %}
        {{ column_or_null(columns, app ~ '_' ~ platform, 'boolean') }}
            as used_{{ app }}_{{ platform }},
        {%- endfor %}
        {%- endfor %}
        {{ column_or_null(columns, 'is_concealed', 'boolean') }}
            as is_concealed_flag,
        {{ column_or_null(columns, '_source_file', 'varchar') }}
            as _source_file,
        {{ column_or_null(columns, '_line_number', 'integer') }}
            as _line_number,
        {{ column_or_null(columns, '_loaded_at', 'timestamp') }} as _loaded_at,
    from source

),

flagged as (

    select
        * exclude (is_concealed_flag),
        coalesce(is_concealed_flag, false)
        or regexp_matches(trim(user_principal_name), '^[0-9A-F]{32}$')
        or lower(trim(user_principal_name)) in ('(unknown)', '')
        or user_principal_name is null as is_concealed,
    from renamed

),

deduplicated as (

    -- Overlapping exports repeat a user's row for the same report, so the
    -- latest loaded copy is kept. Rows of other periods or refresh dates stay,
    -- because each restates the last activity date, which is a state.
    select *
    from flagged
    qualify row_number() over (
        partition by user_principal_name, report_refresh_date, report_period
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
