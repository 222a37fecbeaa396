{%- set relation = source('raw', 'slack_billing') -%}
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
        {{ column_or_null(columns, 'username', 'varchar') }} as username,
        {{ column_or_null(columns, 'email', 'varchar') }} as email,
        -- Member, Admin, Owner, Deactivated, Bot or a guest type, case-folded
        lower(trim({{ column_or_null(columns, 'status', 'varchar') }}))
            as status,
        {{ column_or_null(columns, 'account_type', 'varchar') }}
            as account_type,
        {{ column_or_null(columns, 'billing_active', 'boolean') }}
            as billing_active,
        {{ column_or_null(columns, 'has_2fa', 'boolean') }} as has_2fa,
        {{ column_or_null(columns, 'has_sso', 'boolean') }} as has_sso,
        {{ column_or_null(columns, 'full_name', 'varchar') }} as full_name,
        {{ column_or_null(columns, 'display_name', 'varchar') }}
            as display_name,
        {{ column_or_null(columns, 'expiration_at', 'timestamp') }}
            as expiration_at,
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

    -- One row per member (Slack id, else e-mail or username) from the latest
    -- members export listing them.
    select *
    from keyed
    qualify row_number() over (
        partition by coalesce(user_id, user_key, lower(trim(username)))
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
