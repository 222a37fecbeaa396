-- One row per purchase line, with the SKU spelt as the catalog spells it and
-- the application the line licenses. Lines are never merged, so two lines for
-- one SKU with different terms both count.

with

purchase_lines as (

    select * from {{ ref('stg_entitlements__purchase_lines') }}

),

catalog as (

    select * from {{ ref('int_app_catalog') }}

),

catalog_skus as (

    select
        lower(sku) as name,
        min(sku) as sku,
        min(application_id) as application_id,
    from catalog
    where sku is not null
    group by lower(sku)

),

catalog_sku_aliases as (

    -- Other exact names of a catalog SKU, such as Microsoft 365 part numbers
    -- (`SPE_E3`), when the name means one SKU only.
    select
        lower(raw_name) as name,
        min(sku) as sku,
        min(application_id) as application_id,
    from catalog
    where sku is not null
        and match_type = 'exact'
    group by lower(raw_name)
    having count(distinct sku) = 1

),

catalog_features as (

    select
        lower(raw_name) as name,
        min(sku) as sku,
        min(application_id) as application_id,
    from catalog
    where source = 'flexlm'
    group by lower(raw_name)

),

catalog_applications as (

    select
        lower(application) as name,
        min(application_id) as application_id,
    from catalog
    group by lower(application)

),

final as (

    select
        purchase_lines.purchase_line_id,
        purchase_lines.sku as raw_sku,
        -- A line for a FlexLM feature takes the feature's SKU, so concurrent
        -- use and seats owned meet on one SKU.
        coalesce(
            catalog_skus.sku,
            catalog_sku_aliases.sku,
            catalog_features.sku,
            nullif(trim(purchase_lines.sku), '')
        ) as sku,
        -- A line for a product the catalog lacks gets an id made from its
        -- application name, else its SKU.
        coalesce(
            catalog_skus.application_id,
            catalog_sku_aliases.application_id,
            catalog_features.application_id,
            catalog_applications.application_id,
            nullif(
                trim(
                    regexp_replace(
                        lower(
                            coalesce(
                                purchase_lines.application, purchase_lines.sku
                            )
                        ),
                        '[^a-z0-9]+',
                        '_',
                        'g'
                    ),
                    '_'
                ),
                ''
            )
        ) as application_id,
        catalog_skus.sku is not null
        or catalog_sku_aliases.sku is not null
        or catalog_features.application_id is not null
        or catalog_applications.application_id is not null as is_catalogued,
        purchase_lines.* exclude (purchase_line_id, sku),
    from purchase_lines
    left join catalog_skus
        on lower(trim(purchase_lines.sku)) = catalog_skus.name
    left join catalog_sku_aliases
        on lower(trim(purchase_lines.sku)) = catalog_sku_aliases.name
    left join catalog_features
        on lower(trim(purchase_lines.feature)) = catalog_features.name
    left join catalog_applications
        on lower(trim(purchase_lines.application))
            = catalog_applications.name

)

select * from final
