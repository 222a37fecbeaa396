{%- set relation = source('raw', 'lmstat_checkouts') -%}
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
        {{ column_or_null(columns, 'user_name', 'varchar') }} as user_name,
        {{ column_or_null(columns, 'host', 'varchar') }} as host,
        {{ column_or_null(columns, 'seats', 'integer') }} as seats,
        {{ column_or_null(columns, 'start_at', 'timestamp') }} as started_at,
        -- checkout, reservation or queued, as the lmstat connector classifies
        -- the line
        {{ column_or_null(columns, 'kind', 'varchar') }} as kind,
        {{ column_or_null(columns, 'linger_seconds', 'integer') }}
            as linger_seconds,
        {{ column_or_null(columns, 'reserved_for', 'varchar') }}
            as reserved_for,
        _source_file,
        _line_number,
        _loaded_at,
    from source

),

deduplicated as (

    -- Identical lines from a re-exported snapshot count once.
    select *
    from renamed
    qualify row_number() over (
        partition by
            snapshot_at,
            server,
            daemon,
            feature,
            user_name,
            host,
            started_at,
            kind,
            seats,
            _line_number
        order by _loaded_at desc, _source_file desc
    ) = 1

)

select
    {{ os_login('user_name') }} as os_login,
    *,
from deduplicated
