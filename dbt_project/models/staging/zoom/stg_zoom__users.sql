{%- set relation = source('raw', 'zoom_users') -%}
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
        {{ column_or_null(columns, 'user_id', 'varchar') }} as user_id,
        {{ column_or_null(columns, 'email', 'varchar') }} as email,
        {{ column_or_null(columns, 'first_name', 'varchar') }} as first_name,
        {{ column_or_null(columns, 'last_name', 'varchar') }} as last_name,
        -- Zoom user type codes are 1 Basic, 2 Licensed, 3 On-prem, 4 Unassigned
        -- and 99 None.
        {{ column_or_null(columns, 'user_type', 'integer') }} as user_type,
        {{ column_or_null(columns, 'license_type', 'varchar') }}
            as license_type,
        lower(trim({{ column_or_null(columns, 'status', 'varchar') }}))
            as status,
        {{ column_or_null(columns, 'department', 'varchar') }} as department,
        {{ column_or_null(columns, 'role_id', 'varchar') }} as role_id,
        {{ column_or_null(columns, 'timezone', 'varchar') }} as timezone,
        {{ column_or_null(columns, 'last_client_version', 'varchar') }}
            as last_client_version,
        {{ column_or_null(columns, 'created_at', 'timestamp') }} as created_at,
        {{ column_or_null(columns, 'last_login_at', 'timestamp') }}
            as last_login_at,
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

    -- One row per user (Zoom id, else e-mail) from the latest export listing
    -- them. Every distinct last login seen in any export is kept, because each
    -- is a day of use.
    select
        *,
        list_sort(
            list(distinct cast(last_login_at as date))
                filter (where last_login_at is not null)
                over (partition by coalesce(user_id, user_key))
        ) as login_days,
    from keyed
    qualify row_number() over (
        partition by coalesce(user_id, user_key)
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
