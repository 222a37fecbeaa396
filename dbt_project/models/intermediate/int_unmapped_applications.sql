with

assignments as (

    select * from {{ ref('int_license_assignments') }}

),

usage_events as (

    select * from {{ ref('int_usage_events') }}

),

installs as (

    select * from {{ ref('stg_installs__installs') }}

),

purchase_lines as (

    select * from {{ ref('stg_entitlements__purchase_lines') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

install_names as (

    select
        'installs' as source,
        installs.application_name as raw_name,
        installs.device_name as example_value,
    from installs
    where nullif(trim(installs.application_name), '') is not null
        and not exists (
            select 1
            from catalog
            where catalog.source = 'installs'
                and {{ catalog_matches('catalog', 'installs.application_name') }}
        )

),

purchase_names as (

    -- A purchase line maps by its SKU or its FlexLM feature.
    select
        'entitlements' as source,
        coalesce(purchase_lines.sku, purchase_lines.application) as raw_name,
        purchase_lines._source_file as example_value,
    from purchase_lines
    where not exists (
        select 1
        from catalog
        where lower(catalog.sku) = lower(trim(purchase_lines.sku))
            or lower(catalog.raw_name) = lower(trim(purchase_lines.feature))
            or lower(catalog.application) = lower(trim(purchase_lines.application))
    )

),

unioned as (

    select
        source,
        raw_name,
        raw_identity as example_value,
    from assignments
    where application_id is null

    union all

    select
        source,
        raw_name,
        raw_identity as example_value,
    from usage_events
    where application_id is null

    union all

    select * from install_names

    union all

    select * from purchase_names

),

final as (

    select
        source,
        raw_name,
        count(*) as rows,
        string_agg(distinct example_value, '; ')[:200] as example_values,
    from unioned
    group by source, raw_name

)

select * from final
