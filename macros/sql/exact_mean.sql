{#- A mean that does not depend on row order: summed exactly as a decimal, returned as a double.
    A double sum depends on the order rows arrive in, which a parallel engine does not fix, and
    marts must be byte-identical from one build of the same data to the next. -#}
{% macro exact_mean(expression) -%}
    cast(avg(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}
