{%- set relation = source('raw', 'atlassian_product_access') -%}
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
        trim({{ column_or_null(columns, 'product', 'varchar') }}) as product,
        trim({{ column_or_null(columns, 'site', 'varchar') }}) as site,
        {{ column_or_null(columns, 'last_seen_on', 'date') }} as last_seen_on,
        {{ column_or_null(columns, 'never_accessed', 'boolean') }}
            as never_accessed,
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

    -- One row per user, product and site from the latest export listing them.
    -- Every distinct last-seen day in any export is kept, because each is a
    -- day of use.
    select
        *,
        list_sort(
            list(distinct last_seen_on)
                filter (where last_seen_on is not null)
                over (
                    partition by
                        coalesce(user_id, user_key),
                        lower(product),
                        lower(coalesce(site, ''))
                )
        ) as seen_days,
    from keyed
    qualify row_number() over (
        partition by
            coalesce(user_id, user_key),
            lower(product),
            lower(coalesce(site, ''))
        order by _loaded_at desc, _source_file desc, _line_number desc
    ) = 1

)

select * from deduplicated
