{#- Custom schemas are used as they are (staging, seeds), not prefixed with the target schema,
    so BI users find the marts in the target schema and nothing else beside them. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{- (custom_schema_name or target.schema) | trim -}}
{%- endmacro %}
