{#- A segment's share of a total over its window (e.g. all segments of one run), as a double:
    of customers, or of net revenue (null when the window's net revenue is zero). -#}
{% macro share_of(column, window='') -%}
    cast({{ column }} as double) / nullif(cast(sum({{ column }}) over ({{ window }}) as double), 0)
{%- endmacro %}
