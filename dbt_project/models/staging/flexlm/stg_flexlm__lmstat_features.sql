{%- set relation = source('raw', 'lmstat_features') -%}
{%- set columns = existing_columns(relation) -%}

with

source as (

    select * from {{ relation }}

),

renamed as (

    select
        {{ column_or_null(columns, 'snapshot_at', 'timestamp') }}
            as snapshot_at,
        {{ column_or_null(columns, 'server', 'varchar') }} as server,
        {{ column_or_null(columns, 'vendor', 'varchar') }} as daemon,
        {{ column_or_null(columns, 'feature', 'varchar') }} as feature,
        {{ column_or_null(columns, 'version', 'varchar') }} as version,
        {{ column_or_null(columns, 'issued', 'integer') }} as licenses_issued,
        {{ column_or_null(columns, 'in_use', 'integer') }} as licenses_in_use,
        {{ column_or_null(columns, 'expires', 'date') }} as expires_on,
        {{ column_or_null(columns, 'is_uncounted', 'boolean') }}
            as is_uncounted,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    select *
    from renamed
    qualify row_number() over (
        partition by snapshot_at, server, daemon, feature
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
