{%- set relation = source('raw', 'm365_activations_user_detail') -%}
{%- set columns = existing_columns(relation) -%}

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
        {{ column_or_null(columns, 'user_principal_name', 'varchar') }}
            as user_principal_name,
        {{ column_or_null(columns, 'display_name', 'varchar') }}
            as display_name,
        {{ column_or_null(columns, 'product_type', 'varchar') }}
            as product_type,
        {{ column_or_null(columns, 'last_activated_date', 'date') }}
            as last_activated_date,
        {{ column_or_null(columns, 'windows', 'integer') }}
            as windows_activations,
        {{ column_or_null(columns, 'mac', 'integer') }} as mac_activations,
        {{ column_or_null(columns, 'windows_10_mobile', 'integer') }}
            as windows_10_mobile_activations,
        {{ column_or_null(columns, 'ios', 'integer') }} as ios_activations,
        {{ column_or_null(columns, 'android', 'integer') }}
            as android_activations,
        {{ column_or_null(columns, 'activated_on_shared_computer', 'boolean') }}
            as is_activated_on_shared_computer,
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

    -- The report takes no period, so a later refresh replaces an earlier one
    -- and each user and product type keeps the row of the latest refresh.
    select *
    from flagged
    qualify row_number() over (
        partition by user_principal_name, lower(trim(product_type))
        order by
            report_refresh_date desc,
            _loaded_at desc,
            _source_file desc,
            _line_number desc
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
