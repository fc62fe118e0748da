{#- Fails for every row whose value lies outside [min_value, max_value] (either bound may be
    omitted). Nulls pass: pair with not_null where they must not occur. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

select *
from {{ model }}
where
    {%- if min_value is none and max_value is none %}
    false
    {%- else %}
    not (
        {%- if min_value is not none %}{{ column_name }} >= {{ min_value }}{% endif %}
        {%- if min_value is not none and max_value is not none %} and {% endif %}
        {%- if max_value is not none %}{{ column_name }} <= {{ max_value }}{% endif -%}
    )
    {%- endif %}

{% endtest %}
