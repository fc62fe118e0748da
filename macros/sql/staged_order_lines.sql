{#- The staging model of the input layout chosen by var orders_format. -#}
{% macro staged_order_lines() -%}
    {%- if orders_format() == 'online_retail' -%}
        {{ return(ref('stg_online_retail__order_lines')) }}
    {%- else -%}
        {{ return(ref('stg_canonical__order_lines')) }}
    {%- endif -%}
{%- endmacro %}
