{%- set relation = source('raw', 'entra_signins') -%}
{%- set columns = existing_columns(relation) -%}
{%- set text_columns = [
    'correlation_id',
    'user_id',
    'user_display_name',
    'user_principal_name',
    'user_type',
    'incoming_token_type',
    'authentication_protocol',
    'application',
    'application_id',
    'resource',
    'resource_id',
    'service_principal_id',
    'service_principal_name',
    'ip_address',
    'location',
    'status',
    'sign_in_error_code',
    'failure_reason',
    'client_app',
    'device_id',
    'device',
    'browser',
    'operating_system',
    'multifactor_authentication_result',
    'conditional_access',
    'autonomous_system_number',
    'risk_state',
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
        {{ column_or_null(columns, 'request_id', 'varchar') }} as request_id,
        {{ column_or_null(columns, 'signed_in_at', 'timestamp') }}
            as signed_in_at,
        -- interactive, non_interactive, service_principal or managed_identity
        -- from the download's file name, or NULL when the name does not give it
        {{ column_or_null(columns, 'sign_in_type', 'varchar') }}
            as sign_in_type,
        {%- for column in text_columns %}
        {{ column_or_null(columns, column, 'varchar') }} as {{ column }},
        {%- endfor %}
        {{ column_or_null(columns, '_source_file', 'varchar') }}
            as _source_file,
        {{ column_or_null(columns, '_line_number', 'integer') }}
            as _line_number,
        {{ column_or_null(columns, '_loaded_at', 'timestamp') }} as _loaded_at,
    from source

),

classified as (

    -- The portal writes Success, Failure or Interrupted. Error code 0 is a
    -- success in downloads without a status.
    select
        *,
        coalesce(
            lower(trim(status)) = 'success',
            trim(sign_in_error_code) = '0',
            false
        ) as is_success,
    from renamed

),

deduplicated as (

    -- Overlapping downloads repeat sign-ins, and the request id (the Graph id
    -- in older shapes) names one sign-in. A request logged as interrupted and
    -- then completed keeps its successful row. Rows without an id are keyed on
    -- their time, user, application and correlation id.
    select *
    from classified
    qualify row_number() over (
        partition by coalesce(
            request_id,
            concat_ws(
                '|',
                signed_in_at,
                user_principal_name,
                application,
                correlation_id
            )
        )
        order by
            is_success desc,
            _loaded_at desc,
            _source_file desc,
            _line_number desc
    ) = 1

),

final as (

    select
        {{ user_key('user_principal_name') }} as user_key,
        *,
    from deduplicated

)

select * from final
