{%- set relation = source('raw', 'lmstat_entitlements') -%}
{%- set columns = existing_columns(relation) -%}

with

source as (

    select * from {{ relation }}

),

renamed as (

    select
        {{ column_or_null(columns, 'server', 'varchar') }} as server,
        {{ column_or_null(columns, 'vendor', 'varchar') }} as daemon,
        {{ column_or_null(columns, 'feature', 'varchar') }} as feature,
        {{ column_or_null(columns, 'version', 'varchar') }} as version,
        {{ column_or_null(columns, 'seats', 'integer') }} as seats,
        {{ column_or_null(columns, 'expires', 'date') }} as expires_on,
        {{ column_or_null(columns, 'is_permanent', 'boolean') }}
            as is_permanent,
        _source_file,
        _line_number,
        _loaded_at,
    from source

)

select * from renamed
