{%- set relation = source('raw', 'entra_users') -%}
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
        {{ column_or_null(columns, 'user_principal_name', 'varchar') }}
            as user_principal_name,
        {{ column_or_null(columns, 'display_name', 'varchar') }}
            as display_name,
        {{ column_or_null(columns, 'mail', 'varchar') }} as mail,
        {{ column_or_null(columns, 'user_type', 'varchar') }} as user_type,
        {{ column_or_null(columns, 'account_enabled', 'boolean') }}
            as is_account_enabled,
        {{ column_or_null(columns, 'created_at', 'timestamp') }} as created_at,
        {{ column_or_null(columns, 'last_sign_in_at', 'timestamp') }}
            as last_sign_in_at,
        {{
            column_or_null(
                columns, 'last_non_interactive_sign_in_at', 'timestamp'
            )
        }}
            as last_non_interactive_sign_in_at,
        {{ column_or_null(columns, 'last_successful_sign_in_at', 'timestamp') }}
            as last_successful_sign_in_at,
        {{ column_or_null(columns, 'last_activity_at', 'timestamp') }}
            as last_activity_at,
        {{ column_or_null(columns, 'last_activity_field', 'varchar') }}
            as last_activity_field,
        {{ column_or_null(columns, 'never_signed_in', 'boolean') }}
            as never_signed_in,
        {{ column_or_null(columns, '_source_file', 'varchar') }}
            as _source_file,
        {{ column_or_null(columns, '_line_number', 'integer') }}
            as _line_number,
        {{ column_or_null(columns, '_loaded_at', 'timestamp') }} as _loaded_at,
    from source

),

deduplicated as (

    -- One row per user (object id, else UPN) from the latest export listing
    -- them.
    select *
    from renamed
    qualify row_number() over (
        partition by coalesce(user_id, lower(trim(user_principal_name)))
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

),

final as (

    -- The mail attribute is the person's address. A guest's UPN has the
    -- `#EXT#` form, which no other source writes.
    select
        {{
            user_key('coalesce(nullif(trim(mail), \'\'), user_principal_name)')
        }} as user_key,
        *,
    from deduplicated

)

select * from final
