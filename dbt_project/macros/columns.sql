{#
  Lower-cased column names of a relation, read once per model, so staging models over
  tables whose connector may add or rename columns can select NULL for a missing one.
#}
{% macro existing_columns(relation) -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set found = adapter.get_columns_in_relation(relation) -%}
    {{ return(found | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}


{% macro column_or_null(columns, column_name, data_type) -%}
    {%- if column_name | lower in columns -%}
        cast({{ adapter.quote(column_name) }} as {{ data_type }})
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}
