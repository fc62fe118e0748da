{#- Small dispatch macros for the few places where DuckDB and Spark SQL differ. `default__` is
    the portable form; an adapter gets its own only where it needs one. -#}

{#- Each input line's position within the file it came from, 1, 2, 3, ... (for a table input,
    within its load, or within the table without loaded_at), over staging's read
    orders_relation(numbered=true). DuckDB's numbered read carries the number (see
    duckdb__read_orders_file, duckdb_read_orders_loads); Spark needs an order, and within one
    file monotonically_increasing_id() follows the file. -#}
{% macro input_line_number() -%}
    {{ return(adapter.dispatch('input_line_number', 'segmentation')()) }}
{%- endmacro %}

{% macro default__input_line_number() -%}
    row_number() over ()
{%- endmacro %}

{% macro duckdb__input_line_number() -%}
    {%- if var('orders_table') and not orders_load_column() -%}
        row_number() over ()
    {%- else -%}
        segmentation_line_number
    {%- endif -%}
{%- endmacro %}

{% macro spark__input_line_number() -%}
    {%- if var('orders_table') -%}
        row_number() over (order by monotonically_increasing_id())
    {%- else -%}
        row_number() over (partition by input_file_name() order by monotonically_increasing_id())
    {%- endif -%}
{%- endmacro %}

{#- The file each input line came from, as the reader matched it (for a glob, each file's own);
    for a table input (var orders_table) its load's name when the table has loaded_at on DuckDB
    (input_loads.sql), else null: the lines have no file. -#}
{% macro input_source_file() -%}
    {%- if var('orders_table') and not orders_load_column() -%}
        {{ return('cast(null as ' ~ dbt.type_string() ~ ')') }}
    {%- endif -%}
    {{ return(adapter.dispatch('input_source_file', 'segmentation')()) }}
{%- endmacro %}

{% macro default__input_source_file() -%}
    input_file_name()
{%- endmacro %}

{% macro duckdb__input_source_file() -%}
    segmentation_source_file
{%- endmacro %}

{#- The escape character of the naming seeds' LIKE patterns (a backslash), as a SQL literal:
    Spark reads backslash escapes inside string literals, DuckDB does not. -#}
{% macro like_escape() -%}
    {{ return(adapter.dispatch('like_escape', 'segmentation')()) }}
{%- endmacro %}

{% macro default__like_escape() -%}
    '\'
{%- endmacro %}

{% macro spark__like_escape() -%}
    '\\'
{%- endmacro %}

{#- A query that lists the columns (name, type) of `relation_sql`'s rows. -#}
{% macro describe_query(relation_sql) -%}
    {{ return(adapter.dispatch('describe_query', 'segmentation')(relation_sql)) }}
{%- endmacro %}

{% macro default__describe_query(relation_sql) -%}
    describe select * from {{ relation_sql }}
{%- endmacro %}

{% macro spark__describe_query(relation_sql) -%}
    describe query select * from {{ relation_sql }}
{%- endmacro %}

{#- The values of `expression` joined by ', ' in the order of `order_by`, as an aggregate.
    dbt-spark's dbt.listagg drops the order, so Spark sorts (order, value) pairs itself. -#}
{% macro ordered_listagg(expression, order_by) -%}
    {{ return(adapter.dispatch('ordered_listagg', 'segmentation')(expression, order_by)) }}
{%- endmacro %}

{% macro default__ordered_listagg(expression, order_by) -%}
    {{ dbt.listagg(expression, "', '", "order by " ~ order_by) }}
{%- endmacro %}

{% macro spark__ordered_listagg(expression, order_by) -%}
    array_join(transform(array_sort(collect_list(struct({{ order_by }} as sort_key, {{ expression }} as value))), pair -> pair.value), ', ')
{%- endmacro %}

{#- A CTE that is read more than once, computed again by each reader instead of being held:
    DuckDB otherwise keeps such a CTE's rows, which for every order line outgrows memory and
    spills (validation at 132M lines: 202 s held, 115 s recomputed). Spark always inlines. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'segmentation')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
{%- endmacro %}

{% macro duckdb__not_materialized() -%}
    not materialized
{%- endmacro %}
