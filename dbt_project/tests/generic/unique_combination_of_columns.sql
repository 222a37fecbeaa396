{#
  Fails for every combination of `combination_of_columns` that occurs more than once,
  because several marts have a key made of more than one column.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(',\n    ') }},
    count(*) as duplicate_rows

from {{ model }}

group by {{ combination_of_columns | join(', ') }}

having count(*) > 1

{% endtest %}
