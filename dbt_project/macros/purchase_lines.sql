{#
  The application a purchase line belongs to: the catalog application whose SKU, FlexLM
  feature or name matches the line, else an id made from the line's application name.
#}
{% macro purchased_application_id(line_alias) -%}
coalesce(
    (
        select min(catalog_by_sku.application_id)
        from {{ ref('int_app_catalog') }} as catalog_by_sku
        where lower(catalog_by_sku.sku) = lower(trim({{ line_alias }}.sku))
    ),
    (
        select min(catalog_by_feature.application_id)
        from {{ ref('int_app_catalog') }} as catalog_by_feature
        where catalog_by_feature.source = 'flexlm'
            and lower(catalog_by_feature.raw_name)
                = lower(trim({{ line_alias }}.feature))
    ),
    (
        select min(catalog_by_name.application_id)
        from {{ ref('int_app_catalog') }} as catalog_by_name
        where lower(catalog_by_name.application)
            = lower(trim({{ line_alias }}.application))
    ),
    nullif(
        trim(
            regexp_replace(
                lower(coalesce({{ line_alias }}.application, {{ line_alias }}.sku)),
                '[^a-z0-9]+',
                '_',
                'g'
            ),
            '_'
        ),
        ''
    )
)
{%- endmacro %}
