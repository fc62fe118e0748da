{#- Fails unless exactly one row satisfies `condition` (e.g. one chosen k in the sweep). -#}
{% test exactly_one_row_where(model, condition, column_name=none) %}

select count(*) as matching_rows
from {{ model }}
where {{ condition }}
having count(*) <> 1

{% endtest %}
