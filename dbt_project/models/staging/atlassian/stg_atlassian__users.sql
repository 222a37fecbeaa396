{%- set relation = source('raw', 'atlassian_users') -%}
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
        -- `site` for the legacy site export, `admin` for admin.atlassian.com
        {{ column_or_null(columns, 'export_kind', 'varchar') }} as export_kind,
        {{ column_or_null(columns, 'user_id', 'varchar') }} as user_id,
        {{ column_or_null(columns, 'username', 'varchar') }} as username,
        {{ column_or_null(columns, 'full_name', 'varchar') }} as full_name,
        {{ column_or_null(columns, 'email', 'varchar') }} as email,
        lower(trim({{ column_or_null(columns, 'status', 'varchar') }}))
            as status,
        {{ column_or_null(columns, 'is_active', 'boolean') }} as is_active,
        {{ column_or_null(columns, 'group_name', 'varchar') }} as group_name,
        {{ column_or_null(columns, 'added_to_org', 'date') }}
            as added_to_org_on,
        {{ column_or_null(columns, 'last_login_at', 'timestamp') }}
            as last_login_at,
        {{ column_or_null(columns, 'last_session_at', 'timestamp') }}
            as last_session_at,
        {{ column_or_null(columns, 'last_active_on', 'date') }}
            as last_active_on,
        {{ column_or_null(columns, 'never_logged_in', 'boolean') }}
            as never_logged_in,
        {{ column_or_null(columns, '_file_sha256', 'varchar') }}
            as _file_sha256,
        {{ column_or_null(columns, '_source_file', 'varchar') }}
            as _source_file,
        {{ column_or_null(columns, '_line_number', 'integer') }}
            as _line_number,
        {{ column_or_null(columns, '_loaded_at', 'timestamp') }} as _loaded_at,
    from source

),

keyed as (

    select
        {{ user_key('coalesce(nullif(trim(email), \'\'), username)') }}
            as user_key,
        *,
    from renamed

),

deduplicated as (

    -- One row per user from the latest export listing them. The site export
    -- repeats a user on one line per group, so the groups of that export are
    -- gathered into group_names.
    select
        * exclude (group_name, _file_sha256),
        array_to_string(
            list_sort(
                list(distinct group_name)
                    filter (where group_name is not null)
                    over (
                        partition by
                            coalesce(user_id, user_key),
                            _file_sha256
                    )
            ),
            ', '
        ) as group_names,
    from keyed
    qualify row_number() over (
        partition by coalesce(user_id, user_key)
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
