{#- A hash of several columns, to find rows that may be equal by grouping on one value instead
    of all of them. Equal rows always get equal hashes; a rare collision only makes two rows
    candidates, so callers compare the columns themselves before calling rows equal. -#}
{% macro row_fingerprint(columns) -%}
    {{ return(adapter.dispatch('row_fingerprint', 'segmentation')(columns)) }}
{%- endmacro %}

{% macro default__row_fingerprint(columns) -%}
    {%- set pieces = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first -%}{%- do pieces.append("'|'") -%}{%- endif -%}
        {%- do pieces.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(pieces)) }}
{%- endmacro %}

{#- DuckDB's built-in 64-bit hash of the values themselves: no text conversion, no md5. -#}
{% macro duckdb__row_fingerprint(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{#- The fingerprint of a whole input line: every column the input has, in its order, the ones
    staging does not read included, taken before any parsing; but not a table input's loaded_at
    (on DuckDB and Spark alike), which says when the line arrived, not what it is: two loads that
    deliver the same line are a duplicate, as two files are. `columns` is orders_input_columns(). -#}
{% macro input_row_fingerprint(columns) -%}
    {%- set quoted = [] -%}
    {%- for name, type in columns.values() if not (var('orders_table') and name | lower == 'loaded_at') -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
    {%- if quoted -%}
        {{ row_fingerprint(quoted) }}
    {%- else -%}
        {#- parse time: the columns are not known yet -#}
        {{ row_fingerprint(["''"]) }}
    {%- endif -%}
{%- endmacro %}
