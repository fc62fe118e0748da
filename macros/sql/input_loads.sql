{#- A table input (var orders_table) that grows by loads (docs/daily_builds.md). On DuckDB, a
    table with a column loaded_at (when the row's load arrived) is read as files are: each
    distinct loaded_at is one load, named '<orders_table>@<loaded_at, ISO, microseconds>'
    (names sort in time order, so input order is loads in loaded_at order), registered in
    int_input_files with its row count; a plain build reads only the loads no build has read. A
    table without loaded_at, and Spark, read the whole table on every build. -#}

{#- The column loaded_at as written when a DuckDB table input has one, else none. A loaded_at
    that is not a date or timestamp stops the build by name. -#}
{% macro orders_load_column() -%}
    {%- if not execute or not var('orders_table') or target.type != 'duckdb' -%}{{ return(none) }}{%- endif -%}
    {%- set found = orders_input_columns().get('loaded_at') -%}
    {%- if found is none -%}{{ return(none) }}{%- endif -%}
    {%- if not (found[1].startswith('timestamp') or found[1] == 'date') -%}
        {{ exceptions.raise_compiler_error("column " ~ found[0] ~ " of table " ~ orders_table() ~ " is " ~ found[1]
            ~ ": it must be a date or timestamp, when the row's load arrived (rename it to read the whole table on every build)") }}
    {%- endif -%}
    {{ return(found[0]) }}
{%- endmacro %}

{#- The load's time as a timestamp (UTC for a timestamp with time zone), as SQL over the table. -#}
{% macro orders_load_time() -%}
    {%- set column = orders_load_column() -%}
    {%- set type = orders_input_columns()['loaded_at'][1] -%}
    {%- if type == 'timestamp' -%}
        {{ return(adapter.quote(column)) }}
    {%- elif type == 'timestamp with time zone' -%}
        {{ return("timezone('UTC', " ~ adapter.quote(column) ~ ")") }}
    {%- endif -%}
    {{ return('cast(' ~ adapter.quote(column) ~ ' as timestamp)') }}
{%- endmacro %}

{#- A load's name from its time (SQL): '<orders_table>@2025-12-31T00:00:00.000000'. -#}
{% macro orders_load_name(load_time) -%}
    {{ sql_string(orders_table() ~ '@') }} || strftime({{ load_time }}, '%Y-%m-%dT%H:%M:%S.%f')
{%- endmacro %}

{#- The loads earlier builds registered (their loaded_at, as timestamp literals) when this
    build reads only the others; none when it reads the whole table: no loaded_at, not a daily
    build (see daily_registry), or a registry row that is not a load of this table (the input
    was something else: from scratch, those lines are not there). -#}
{% macro orders_loads_read_before() -%}
    {%- if not orders_load_column() -%}{{ return(none) }}{%- endif -%}
    {%- set registry = daily_registry() -%}
    {%- if registry is none -%}{{ return(none) }}{%- endif -%}
    {%- set rows = run_query("select starts_with(source_file, " ~ sql_string(orders_table() ~ '@') ~ "), modified_at from "
        ~ registry ~ " where first_read_in_run <> '" ~ invocation_id ~ "' order by modified_at").rows -%}
    {%- set loads = [] -%}
    {%- for is_load, loaded_at in rows -%}
        {%- if not is_load -%}{{ return(none) }}{%- endif -%}
        {%- do loads.append("timestamp '" ~ loaded_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'") -%}
    {%- endfor -%}
    {{ return(loads or none) }}
{%- endmacro %}

{#- Where the lines to read come from: the table, or only its loads no build has read. The
    filter scans loaded_at alone (1M rows in 30 loads: the new load filtered, named and numbered
    in 49 ms, against 688 ms for the whole table; check_input_loads' counts take 35 ms). -#}
{% macro orders_loads_filter() -%}
    {%- set at_start = input_files_at_start_rows() -%}
    {%- if at_start is not none -%}
        {#- The loads the build found when it started (snapshot_input_files, which took them with
            the filter below): one that arrives while the build runs is the next build's. -#}
        where {{ orders_load_time() }} in ({{ load_times(at_start) | join(', ') if at_start else 'null' }})
    {%- else -%}
        {%- set read_before = orders_loads_read_before() -%}
        {%- if read_before is not none -%}
        where {{ orders_load_time() }} not in ({{ read_before | join(', ') }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The loaded_at of each of `loads` (rows of name, row count, loaded_at) as timestamp literals. -#}
{% macro load_times(loads) -%}
    {%- set times = [] -%}
    {%- for load in loads -%}
        {%- do times.append("timestamp '" ~ load[2].strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'") -%}
    {%- endfor -%}
    {{ return(times) }}
{%- endmacro %}

{#- The loads of `loads` (rows of name, row count, loaded_at, as snapshot_input_files took them)
    whose rows are gone or whose row count differs now, each as [kind, name, detail] like
    file_changes: kind 'gone' (detail none) or 'changed' (detail "rows a -> b"). The gate
    gate_input_files_unchanged. -#}
{% macro load_changes(loads) -%}
    {%- set load_time = orders_load_time() -%}
    {%- set found = {} -%}
    {%- for name, row_count in run_query("select " ~ orders_load_name(load_time) ~ ", count(*) from "
        ~ source('orders', 'order_lines') ~ " where " ~ load_time ~ " in (" ~ load_times(loads) | join(', ')
        ~ ") group by all").rows -%}
        {%- do found.update({name: row_count}) -%}
    {%- endfor -%}
    {%- set problems = [] -%}
    {%- for name, row_count, loaded_at in loads -%}
        {%- set now = found.get(name) -%}
        {%- if now is none -%}
            {%- do problems.append(["gone", name, none]) -%}
        {%- elif now | int != row_count | int -%}
            {%- do problems.append(["changed", name, "rows " ~ "{:,}".format(row_count | int) ~ " -> " ~ "{:,}".format(now | int)]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}

{#- Staging's read of a table with loaded_at (orders_relation(numbered=true)): the lines to read
    with segmentation_source_file (their load's name) and segmentation_line_number (1, 2, 3, ...
    within the load, in the order of every other column: equal rows are interchangeable, and a
    build from scratch numbers a load alike). -#}
{% macro duckdb_read_orders_loads() -%}
    {%- set load_time = orders_load_time() -%}
    {%- set ordered = [] -%}
    {%- for name, type in orders_input_columns().values() if name != orders_load_column() -%}
        {%- do ordered.append(adapter.quote(name)) -%}
    {%- endfor -%}
    {{ return('(select *, ' ~ orders_load_name(load_time) ~ ' as segmentation_source_file,'
        ~ ' row_number() over (partition by ' ~ load_time ~ ' order by ' ~ ordered | join(', ') ~ ') as segmentation_line_number'
        ~ ' from ' ~ source('orders', 'order_lines') ~ ' ' ~ orders_loads_filter() ~ ') as numbered_input') }}
{%- endmacro %}

{#- The stats of the loads this build reads: (source_file, size_bytes = its row count,
    modified_at = its loaded_at); what snapshot_input_files keeps, and int_input_files records. -#}
{% macro input_load_stats() -%}
    {%- set load_time = orders_load_time() -%}
    select
        {{ orders_load_name(load_time) }} as source_file,
        count(*) as size_bytes,
        {{ load_time }} as modified_at
    from {{ source('orders', 'order_lines') }}
    {{ orders_loads_filter() }}
    group by {{ load_time }}
{%- endmacro %}

{#- check_input_files for a table with loaded_at: rows without a loaded_at stop the build (they
    belong to no load; also with --full-refresh); then every registered load of this table must
    still have the rows it had when a build read it, else stop with one line naming the first
    such load and counting the others. The row count, not the rows: comparing rows would read
    the whole table on every build. -#}
{% macro check_input_loads() -%}
    {%- set column = orders_load_column() -%}
    {%- if column is none -%}{{ return('') }}{%- endif -%}
    {%- set table = source('orders', 'order_lines') -%}
    {%- set unloaded = run_query("select count(*) from " ~ table ~ " where " ~ adapter.quote(column) ~ " is null").rows[0][0] -%}
    {%- if unloaded > 0 -%}
        {{ exceptions.raise_compiler_error("{:,}".format(unloaded) ~ " row" ~ ('s' if unloaded > 1 else '') ~ " of table " ~ orders_table()
            ~ " have no " ~ column ~ ": set it to when each row was loaded (the rows of one load share one value), or drop the column " ~ column ~ " to read the whole table on every build") }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH -%}{{ return('') }}{%- endif -%}
    {%- set registry = adapter.get_relation(target.database, target.schema, 'int_input_files') -%}
    {%- if registry is none -%}{{ return('') }}{%- endif -%}
    {%- set load_time = orders_load_time() -%}
    {%- set problems = run_query(
        "with registered as (select source_file, size_bytes, modified_at from " ~ registry
        ~ " where starts_with(source_file, " ~ sql_string(orders_table() ~ '@') ~ ")),"
        ~ " present as (select " ~ load_time ~ " as loaded_at, count(*) as row_count from " ~ table
        ~ " where " ~ load_time ~ " in (select modified_at from registered) group by 1)"
        ~ " select registered.source_file, registered.size_bytes, coalesce(present.row_count, 0)"
        ~ " from registered left join present on registered.modified_at = present.loaded_at"
        ~ " where registered.size_bytes <> coalesce(present.row_count, 0) order by registered.source_file").rows -%}
    {%- if problems -%}
        {%- set load, before, now = problems[0] -%}
        {%- set notes = ["rows " ~ "{:,}".format(before | int) ~ " -> " ~ "{:,}".format(now | int)] if now > 0 else [] -%}
        {%- if problems | length > 1 -%}
            {%- do notes.append("and " ~ (problems | length - 1) ~ " more registered load" ~ ('s' if problems | length > 2 else '') ~ " changed or gone") -%}
        {%- endif -%}
        {{ exceptions.raise_compiler_error("input load " ~ ('changed' if now > 0 else 'gone') ~ " since a build read it: '" ~ load ~ "'"
            ~ (" (" ~ notes | join('; ') ~ ")" if notes else '')
            ~ ". Restore it as it was (the same rows with that " ~ column ~ "), or rebuild from the table as it is now: dbt build --full-refresh") }}
    {%- endif -%}
    {#- A load whose lines a build stored without registering it (check_unregistered_stored_files)
        and whose rows are gone from the table stops the build too. -#}
    {%- set validated = adapter.get_relation(target.database, target.schema, 'int_order_lines_validated') -%}
    {%- if validated is none -%}{{ return('') }}{%- endif -%}
    {%- set unregistered = run_query("select distinct source_file from " ~ validated
        ~ " where starts_with(source_file, " ~ sql_string(orders_table() ~ '@') ~ ")"
        ~ " and source_file not in (select source_file from " ~ registry ~ " where source_file is not null)"
        ~ " and source_file not in (select distinct " ~ orders_load_name(load_time) ~ " from " ~ table ~ ")"
        ~ " order by source_file").columns[0].values() -%}
    {%- if unregistered -%}
        {%- set more = unregistered | length - 1 -%}
        {{ exceptions.raise_compiler_error("input load gone since a build read it: '" ~ unregistered[0]
            ~ "' (a build stored its lines but did not register it: it failed, or did not select int_input_files"
            ~ ("; and " ~ more ~ " more such load" ~ ('s' if more > 1 else '') if more else '')
            ~ "). Restore its rows, or rebuild from the table as it is now: dbt build --full-refresh") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
