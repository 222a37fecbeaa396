{%- set relation = source('raw', 'google_users') -%}
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
        {{ column_or_null(columns, 'email', 'varchar') }} as email,
        {{ column_or_null(columns, 'first_name', 'varchar') }} as first_name,
        {{ column_or_null(columns, 'last_name', 'varchar') }} as last_name,
        {{ column_or_null(columns, 'org_unit_path', 'varchar') }}
            as org_unit_path,
        lower(trim({{ column_or_null(columns, 'status', 'varchar') }}))
            as status,
        {{ column_or_null(columns, 'employee_id', 'varchar') }} as employee_id,
        {{ column_or_null(columns, 'employee_title', 'varchar') }}
            as employee_title,
        {{ column_or_null(columns, 'department', 'varchar') }} as department,
        {{ column_or_null(columns, 'manager_email', 'varchar') }}
            as manager_email,
        {{ column_or_null(columns, 'cost_center', 'varchar') }} as cost_center,
        {{ column_or_null(columns, 'is_2sv_enrolled', 'boolean') }}
            as is_2sv_enrolled,
        {{ column_or_null(columns, 'is_2sv_enforced', 'boolean') }}
            as is_2sv_enforced,
        {{ column_or_null(columns, 'last_sign_in_at', 'timestamp') }}
            as last_sign_in_at,
        {{ column_or_null(columns, 'never_logged_in', 'boolean') }}
            as never_logged_in,
        {{ column_or_null(columns, '_source_file', 'varchar') }}
            as _source_file,
        {{ column_or_null(columns, '_line_number', 'integer') }}
            as _line_number,
        {{ column_or_null(columns, '_loaded_at', 'timestamp') }} as _loaded_at,
    from source

),

keyed as (

    select
        {{ user_key('email') }} as user_key,
        *,
    from renamed

),

deduplicated as (

    -- One row per user from the latest download listing them. Every distinct
    -- last sign-in seen in any download is kept, because each is a day of use.
    select
        *,
        list_sort(
            list(distinct cast(last_sign_in_at as date))
                filter (where last_sign_in_at is not null)
                over (partition by coalesce(user_key, lower(trim(email))))
        ) as sign_in_days,
    from keyed
    qualify row_number() over (
        partition by coalesce(user_key, lower(trim(email)))
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
