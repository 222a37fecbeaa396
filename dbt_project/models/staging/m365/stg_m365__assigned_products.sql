{%- set relation = source('raw', 'm365_assigned_products') -%}
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
        trim({{ column_or_null(columns, 'product', 'varchar') }}) as product,
        {{ column_or_null(columns, 'report', 'varchar') }} as report,
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
    where nullif(product, '') is not null

),

deduplicated as (

    -- Every report and period pull lists the products again, so one row per
    -- user, product, report and refresh date is kept.
    select *
    from flagged
    qualify row_number() over (
        partition by
            user_principal_name,
            upper(product),
            report,
            report_refresh_date
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
