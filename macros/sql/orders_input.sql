{#- Where the raw order lines come from: a table declared as the source orders.order_lines
    when var orders_table is set, otherwise the file at var orders_path. Only staging models
    call these macros. -#}

{% macro orders_path() -%}
    {%- set path = var('orders_path') | string -%}
    {%- if not (path.endswith('.parquet') or path.endswith('.csv')) -%}
        {{ exceptions.raise_compiler_error("var orders_path must name a .parquet or .csv file, got '" ~ path ~ "'") }}
    {%- endif -%}
    {{ return(path) }}
{%- endmacro %}

{#- var orders_table as [schema.]table of plain identifiers: the source quotes what it is given,
    and a name it cannot split that way (a database part, a dot in a name) is refused by name. -#}
{% macro orders_table() -%}
    {%- set name = var('orders_table') | string -%}
    {%- if not modules.re.fullmatch('([A-Za-z_][A-Za-z0-9_]*[.])?[A-Za-z_][A-Za-z0-9_]*', name) -%}
        {{ exceptions.raise_compiler_error("var orders_table must be <schema>.<table> or <table>, each letters, digits and _, got '" ~ name ~ "'") }}
    {%- endif -%}
    {{ return(name) }}
{%- endmacro %}

{#- numbered=true: staging's read, which may add the reader's own line numbers (see
    input_line_number); other callers see the input's columns only. -#}
{% macro orders_relation(numbered=false) -%}
    {%- if var('orders_table') -%}
        {%- do orders_table() -%}
        {{ return(source('orders', 'order_lines')) }}
    {%- else -%}
        {{ return(adapter.dispatch('read_orders_file', 'segmentation')(orders_path(), numbered)) }}
    {%- endif -%}
{%- endmacro %}

{#- True when the input is one Parquet file (not a table, a CSV or a glob of several files)
    without a column of its own named file_row_number: then DuckDB numbers its lines itself,
    in parallel, with file_row_number. -#}
{% macro orders_input_is_one_parquet_file() -%}
    {%- if var('orders_table') -%}{{ return(false) }}{%- endif -%}
    {%- set path = orders_path() -%}
    {%- if not path.endswith('.parquet') or modules.re.search('[*?\\[{]', path) -%}{{ return(false) }}{%- endif -%}
    {{ return('file_row_number' not in orders_input_columns()) }}
{%- endmacro %}

{#- A value as a SQL string literal, single quotes doubled: how a var's text reaches SQL. -#}
{% macro sql_string(value) -%}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{%- endmacro %}

{% macro duckdb__read_orders_file(path, numbered=false) -%}
    {%- set quoted = sql_string(path) -%}
    {%- if path.endswith('.csv') -%}
        {#- Everything as text: staging casts, and a value that does not parse is flagged, not fatal. -#}
        read_csv({{ quoted }}, header = true, all_varchar = true)
    {%- elif numbered and orders_input_is_one_parquet_file() -%}
        read_parquet({{ quoted }}, file_row_number = true)
    {%- else -%}
        read_parquet({{ quoted }})
    {%- endif -%}
{%- endmacro %}

{#- Spark reads a Parquet file by path; a CSV file (header line, every value as text, quoted
    fields may hold newlines, "" is a quote) through an external table over the file, made
    afresh at run time, since a view cannot read a CSV by path. -#}
{% macro spark__read_orders_file(path, numbered=false) -%}
    {%- if path.endswith('.csv') -%}
        {%- set table = target.schema ~ '.orders_input_csv' -%}
        {%- if execute -%}
            {%- do run_query('create schema if not exists ' ~ target.schema) -%}
            {%- do run_query('drop table if exists ' ~ table) -%}
            {%- do run_query('create table ' ~ table ~ ' using csv options (path ' ~ sql_string(path) ~ ", header 'true', inferSchema 'false', multiLine 'true', escape '\"')") -%}
        {%- endif -%}
        {{ table }}
    {%- else -%}
        parquet.`{{ path }}`
    {%- endif -%}
{%- endmacro %}

{#- The input's columns as a dict of lower-cased name -> (name as written, type), at run time.
    A missing file is reported by name before DuckDB's own error. -#}
{% macro orders_input_columns() -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- if not var('orders_table') -%}
        {%- do adapter.dispatch('assert_orders_file_exists', 'segmentation')(orders_path()) -%}
    {%- endif -%}
    {%- set described = run_query(describe_query(orders_relation())) -%}
    {%- set columns = {} -%}
    {%- for row in described.rows -%}
        {%- do columns.update({row[0] | lower: (row[0], row[1] | lower)}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- Elsewhere the engine's own error names the missing path. -#}
{% macro default__assert_orders_file_exists(path) -%}
{%- endmacro %}

{% macro duckdb__assert_orders_file_exists(path) -%}
    {%- set found = run_query("select count(*) from glob(" ~ sql_string(path) ~ ")").columns[0].values()[0] -%}
    {%- if found == 0 -%}
        {{ exceptions.raise_compiler_error("orders file not found: '" ~ path ~ "' (var orders_path; a relative path is read from the directory dbt runs in). Run `make build` to generate the demo data, or pass --vars '{orders_path: <your file>}'.") }}
    {%- endif -%}
    {%- set bytes = run_query("select coalesce(sum(size), 0) from read_blob(" ~ sql_string(path) ~ ")").columns[0].values()[0] -%}
    {%- if bytes == 0 -%}
        {{ exceptions.raise_compiler_error("orders file is empty (0 bytes): '" ~ path ~ "'; expected a header line and order lines.") }}
    {%- endif -%}
{%- endmacro %}

{#- Fail with the list of what is missing, and what was found, when a required column is absent. -#}
{% macro require_columns(columns, required, layout) -%}
    {%- if execute -%}
        {%- set missing = [] -%}
        {%- for name in required -%}
            {%- if name | lower not in columns -%}{%- do missing.append(name) -%}{%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error("order lines (" ~ layout ~ " layout, " ~ (var('orders_table') or var('orders_path')) ~ ") miss required column(s): " ~ missing | join(', ') ~ ". Found: " ~ columns.values() | map('first') | join(', ')) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A column of the input, quoted as written (a parse-time placeholder before execution). -#}
{% macro input_column(columns, name) -%}
    {%- if name | lower in columns -%}
        {{ adapter.quote(columns[name | lower][0]) }}
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}
