{#
  True when the local part of a user_key matches one of the `service_account_patterns`
  regular expressions (dbt var), so test and service accounts are flagged, not dropped.
#}
{% macro is_service_account(user_key_expression) -%}
(
    {%- for pattern in var('service_account_patterns', []) %}
    regexp_matches(
        split_part({{ user_key_expression }}, '@', 1),
        '{{ pattern | replace("'", "''") }}'
    )
    {%- if not loop.last %} or {% endif -%}
    {%- else %}
    false
    {%- endfor %}
)
{%- endmacro %}


{# The as-of date given as a dbt var, as a DATE literal, or NULL when none was given. #}
{% macro as_of_date_var() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none or value | string | lower in ('', 'none', 'null') -%}
        cast(null as date)
    {%- else -%}
        cast('{{ value }}' as date)
    {%- endif -%}
{%- endmacro %}


{#
  The latest date a source may carry and still date the data: a day after the machine's
  current date, which allows for time zones, or after the as-of date var when that is later.
#}
{% macro latest_usable_date() -%}
    greatest(current_date, coalesce({{ as_of_date_var() }}, current_date)) + 1
{%- endmacro %}
