{#
  Join condition between an application catalog row (alias `catalog_alias`) and a raw
  name: `exact` rows match the whole name, `prefix` rows match names that start with
  `raw_name`, both case-insensitively. Callers keep the longest matching `raw_name`.
#}
{% macro catalog_matches(catalog_alias, raw_name_expression) -%}
(
    (
        {{ catalog_alias }}.match_type = 'prefix'
        and starts_with(
            lower(trim({{ raw_name_expression }})),
            lower({{ catalog_alias }}.raw_name)
        )
    )
    or (
        coalesce({{ catalog_alias }}.match_type, 'exact') <> 'prefix'
        and lower(trim({{ raw_name_expression }}))
            = lower({{ catalog_alias }}.raw_name)
    )
)
{%- endmacro %}
