{#- Casting helpers for staging: a value that does not parse becomes null and is named in
    the line's unparseable_columns, so validation can reject the line with a reason. -#}

{% macro orders_format() -%}
    {%- set formats = ['demo', 'canonical', 'online_retail'] -%}
    {%- if var('orders_format') not in formats -%}
        {{ exceptions.raise_compiler_error("var orders_format must be one of " ~ formats | join(', ') ~ ", got '" ~ var('orders_format') ~ "'") }}
    {%- endif -%}
    {{ return(var('orders_format')) }}
{%- endmacro %}

{#- An identifier as trimmed text; empty becomes null. -#}
{% macro clean_id(expression) -%}
    nullif(trim(cast({{ expression }} as {{ dbt.type_string() }})), '')
{%- endmacro %}

{#- `expression` cast to `type`, or null when it does not parse. `source_type` is the input
    column's type: a column that already has the type is passed through untouched. -#}
{% macro parse_as(expression, type, source_type=none) -%}
    {%- if source_type is not none and source_type == type | lower -%}
        {{ expression }}
    {%- elif type == 'timestamp' -%}
        {{ adapter.dispatch('parse_timestamp', 'segmentation')(expression) }}
    {%- else -%}
        try_cast({{ expression }} as {{ type }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__parse_timestamp(expression) -%}
    coalesce(
        try_cast({{ expression }} as timestamp),
        try_strptime(cast({{ expression }} as varchar), '%m/%d/%Y %H:%M')
    )
{%- endmacro %}

{#- 'name' when the raw value is present but did not parse, else null (for concat_ws). -#}
{% macro unparseable_flag(raw, parsed, name) -%}
    case
        when {{ parsed }} is null and nullif(trim(cast({{ raw }} as {{ dbt.type_string() }})), '') is not null
            then '{{ name }}'
    end
{%- endmacro %}
