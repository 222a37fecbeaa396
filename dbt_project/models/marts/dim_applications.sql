with

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

purchase_lines as (

    select * from {{ ref('int_purchase_lines') }}

),

catalog_applications as (

    -- A row naming a SKU describes the product best; among those the first
    -- raw name in sort order wins, so every run picks the same row.
    select
        application_id,
        arg_min(application, [(sku is null)::int::varchar, raw_name])
            as application,
        arg_min(vendor, [(sku is null)::int::varchar, raw_name]) as vendor,
        arg_min(license_model, [(sku is null)::int::varchar, raw_name])
            as license_model,
    from catalog
    group by application_id

),

purchased_applications as (

    -- Purchase lines for products the catalog lacks still need an application.
    select
        application_id,
        min(application) as application,
        min(vendor) as vendor,
        min(license_model) as license_model,
    from purchase_lines
    where application_id is not null
    group by application_id

),

final as (

    select * from catalog_applications

    union all

    select * from purchased_applications
    where application_id not in (
        select application_id from catalog_applications
    )

)

select * from final
