{#- Pseudo-random numbers that DuckDB and Spark compute alike: the first 13 hex digits (52
    bits) of the md5 of the parts, as a number in (0, 1). -#}
{% macro kmeans_uniform(parts) -%}
    {%- set texts = [] -%}
    {%- for part in parts -%}
        {%- if not loop.first %}{% do texts.append("'|'") %}{% endif -%}
        {%- do texts.append('cast(' ~ part ~ ' as ' ~ dbt.type_string() ~ ')') -%}
    {%- endfor -%}
    ((cast({{ kmeans_md5_prefix_number(dbt.hash(dbt.concat(texts))) }} as double) + 0.5) / 4503599627370496.0)
{%- endmacro %}

{#- The first 13 hex digits of an md5 text as a bigint. -#}
{% macro kmeans_md5_prefix_number(md5_text) -%}
    {{ return(adapter.dispatch('kmeans_md5_prefix_number')(md5_text)) }}
{%- endmacro %}

{% macro default__kmeans_md5_prefix_number(md5_text) -%}
    {{ exceptions.raise_compiler_error("the SQL K-Means has no kmeans_md5_prefix_number for adapter " ~ target.type ~ ": add a " ~ target.type ~ "__kmeans_md5_prefix_number macro") }}
{%- endmacro %}

{% macro duckdb__kmeans_md5_prefix_number(md5_text) -%}
    cast('0x' || substr({{ md5_text }}, 1, 13) as bigint)
{%- endmacro %}

{% macro spark__kmeans_md5_prefix_number(md5_text) -%}
    cast(conv(substr({{ md5_text }}, 1, 13), 16, 10) as bigint)
{%- endmacro %}
