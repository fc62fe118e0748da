{#- A continuous quantile, as an aggregate. -#}
{% macro quantile(expression, fraction) -%}
    {{ return(adapter.dispatch('quantile', 'segmentation')(expression, fraction)) }}
{%- endmacro %}

{% macro default__quantile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}
