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

    select * from {{ ref('int_purchase_lines') }}

),

flexlm_features as (

    select * from {{ ref('int_flexlm_features') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

install_names as (

    select
        'installs' as source,
        installs.application_name as raw_name,
        installs.device_name as example_value,
        1 as rows,
    from installs
    where nullif(trim(installs.application_name), '') is not null
        and not exists (
            select 1
            from catalog
            where catalog.source = 'installs'
                and {{
                    catalog_matches('catalog', 'installs.application_name')
                }}
        )

),

purchase_names as (

    -- A purchase line maps by its SKU, a SKU alias, its FlexLM feature or its
    -- application name.
    select
        'entitlements' as source,
        coalesce(raw_sku, application) as raw_name,
        _source_file as example_value,
        1 as rows,
    from purchase_lines
    where not is_catalogued

),

flexlm_names as (

    -- A FlexLM feature maps by its code and vendor daemon, so the daemons
    -- serving an unmapped feature are its examples.
    select
        'flexlm' as source,
        feature as raw_name,
        'daemon ' || coalesce(nullif(daemon, ''), 'not named') as example_value,
        rows,
    from flexlm_features
    where application_id is null

),

unioned as (

    select
        source,
        raw_name,
        raw_identity as example_value,
        1 as rows,
    from assignments
    where application_id is null

    union all

    select
        source,
        raw_name,
        raw_identity as example_value,
        1 as rows,
    from usage_events
    where application_id is null
        and source <> 'flexlm'

    union all

    select * from install_names

    union all

    select * from purchase_names

    union all

    select * from flexlm_names

),

final as (

    select
        source,
        raw_name,
        cast(sum(rows) as bigint) as rows,
        string_agg(distinct example_value, '; ')[:200] as example_values,
    from unioned
    group by source, raw_name

)

select * from final
