{#- The mean of a double, summed as a decimal: exact and independent of the order in which
    parallel threads add up, so a rebuild of the same data gives bit-identical statistics
    (a plain avg() of doubles can differ in the last bits from run to run). -#}
{% macro exact_avg(expression) -%}
    {{ return(adapter.dispatch('exact_avg', 'segmentation')(expression)) }}
{%- endmacro %}

{% macro default__exact_avg(expression) -%}
    cast(avg(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}

{% macro spark__exact_avg(expression) -%}
    avg({{ expression }})
{%- endmacro %}
