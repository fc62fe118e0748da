{#- The registry of the input files builds have read (int_input_files) and the guard that stops a
    build when one of them has changed since. A file is known by its size and modification time,
    not a hash of its content: hashing would read every file on every build, which daily builds
    must not do (DuckDB's read_blob gives both without reading the content). -#}

{#- True when this build registers its input files: a file input on DuckDB, or the loads of a
    table input with loaded_at (input_loads.sql). A table without it has no files; Spark
    registers nothing and is not guarded (docs/daily_builds.md). -#}
{% macro input_files_are_registered() -%}
    {%- if var('orders_table') -%}{{ return(orders_load_column() is not none) }}{%- endif -%}
    {{ return(adapter.dispatch('input_files_are_registered', 'segmentation')()) }}
{%- endmacro %}

{% macro default__input_files_are_registered() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro duckdb__input_files_are_registered() -%}
    {{ return(true) }}
{%- endmacro %}

{#- The size and modification time (UTC) of the files var orders_path matches, as a query of
    (source_file, size_bytes, modified_at), without reading their content; for a table input,
    its loads' (input_load_stats). -#}
{% macro input_file_stats() -%}
    {{ return(adapter.dispatch('input_file_stats', 'segmentation')()) }}
{%- endmacro %}

{% macro default__input_file_stats() -%}
    select
        cast(null as {{ dbt.type_string() }}) as source_file,
        cast(null as {{ dbt.type_bigint() }}) as size_bytes,
        cast(null as {{ dbt.type_timestamp() }}) as modified_at
    where false
{%- endmacro %}

{% macro duckdb__input_file_stats() -%}
    {%- if var('orders_table') -%}{{ return(input_load_stats()) }}{%- endif -%}
    {{ duckdb_file_stats(orders_read_path().path) }}
{%- endmacro %}

{#- The size and modification time (UTC) of the files a DuckDB glob matches, as a query of
    (source_file, size_bytes, modified_at). -#}
{% macro duckdb_file_stats(pattern) -%}
    select
        filename as source_file,
        size as size_bytes,
        timezone('UTC', last_modified) as modified_at
    from read_blob({{ sql_string(pattern) }})
{%- endmacro %}

{#- Where on-run-start keeps the size and modification time of the input files as the build
    found them, before it reads them (snapshot_input_files). -#}
{% macro input_files_at_start_relation() -%}
    {{ return(api.Relation.create(database=(target.database or none), schema=target.schema, identifier='input_files_at_start')) }}
{%- endmacro %}

{#- on-run-start, after the guard: the files var orders_path matches, with their size and
    modification time before the build reads any of them (for a table input with loaded_at, the
    loads it reads, with their row counts: input_load_stats), this invocation's id in each row
    and as the table's comment. The build reads only these (files_found_at_start,
    orders_loads_filter: one that arrives while it runs is the next build's), the registry
    records these (input_file_stats_before_read), and the gate gate_input_files_unchanged stops
    the build when one has changed since: a file still being written when the build read it
    would otherwise be registered complete while part of its lines were read, and the rest never
    would be. Only on DuckDB; nothing when orders_path matches no file (staging says so). Plain
    queries only: dbt rolls back what the hooks write once a transaction is open, and
    introspection (get_columns_in_relation) opens one. -#}
{% macro snapshot_input_files() -%}
    {%- if not execute or flags.WHICH not in ['build', 'run', 'test'] or not input_files_are_registered() -%}
        {{ return('') }}
    {%- endif -%}
    {%- if var('orders_table') -%}
        {%- set stats = input_load_stats() -%}
    {%- else -%}
        {%- set files = duckdb_orders_files(orders_path()) -%}
        {%- if files is none -%}{{ return('') }}{%- endif -%}
        {%- set stats = duckdb_file_stats(files.path) -%}
    {%- endif -%}
    {%- set snapshot = input_files_at_start_relation() -%}
    {%- do run_query("create or replace table " ~ snapshot ~ " as select *, '" ~ invocation_id
        ~ "' as taken_in_run from (" ~ stats ~ ")") -%}
    {%- do run_query("comment on table " ~ snapshot ~ " is '" ~ invocation_id ~ "'") -%}
    {{ return('') }}
{%- endmacro %}

{#- The input files' size and modification time (a table input's loads: their row counts and
    loaded_at) as this build found them before reading them (snapshot_input_files), as a query
    of (source_file, size_bytes, modified_at); as they are now where this invocation took no
    snapshot (a command other than build, run or test, or orders_path matched nothing then). -#}
{% macro input_file_stats_before_read() -%}
    {%- if input_files_at_start_rows() is not none -%}
    select source_file, size_bytes, modified_at from {{ input_files_at_start_relation() }} where taken_in_run = '{{ invocation_id }}'
    {%- else -%}
    {{ input_file_stats() }}
    {%- endif -%}
{%- endmacro %}

{#- This invocation's rows of the snapshot (source_file, size_bytes, modified_at, in name
    order; a list, empty when a daily build found no new load), or none when it took none (not
    a build, run or test; Spark). The table's comment names the invocation that took it: read
    from the catalog, not dbt's cache of relations, which on a warehouse's first build does not
    know the table the hook created. -#}
{% macro input_files_at_start_rows() -%}
    {%- if not execute or target.type != 'duckdb' -%}{{ return(none) }}{%- endif -%}
    {%- set snapshot = input_files_at_start_relation() -%}
    {%- set taken = run_query("select comment from duckdb_tables() where schema_name = " ~ sql_string(snapshot.schema)
        ~ " and table_name = " ~ sql_string(snapshot.identifier)
        ~ (" and database_name = " ~ sql_string(snapshot.database) if snapshot.database else '')).rows -%}
    {%- if not taken or taken[0][0] != invocation_id -%}{{ return(none) }}{%- endif -%}
    {{ return(run_query("select source_file, size_bytes, modified_at from " ~ snapshot ~ " order by source_file").rows | list) }}
{%- endmacro %}

{#- The gate gate_input_files_unchanged: a message naming the first input file whose size or
    modification time changed since the build found it (snapshot_input_files), counting the
    others; empty when none did, or when no snapshot was taken. -#}
{% macro input_files_changed_during_build() -%}
    {%- set files = input_files_at_start_rows() -%}
    {%- if not files -%}{{ return('') }}{%- endif -%}
    {%- set what = 'load' if var('orders_table') else 'file' -%}
    {%- set problems = load_changes(files) if var('orders_table') else file_changes(files) -%}
    {%- if not problems -%}{{ return('') }}{%- endif -%}
    {%- set kind, file, detail = problems[0] -%}
    {%- set detail = detail or ('deleted' if what == 'file' else 'rows gone') -%}
    {%- set more = "; and " ~ (problems | length - 1) ~ " more " ~ what ~ ('s' if problems | length > 2 else '') if problems | length > 1 else '' -%}
    {%- set advice = "(write each export under a temporary name, then rename it)" if what == 'file'
        else "(add each load's rows in one transaction)" -%}
    {{ return("input " ~ what ~ " changed while this build read it: '" ~ file ~ "' (" ~ detail ~ more ~ "), so its lines may be part of it."
        ~ " Nothing was segmented or published, and no " ~ what ~ " this build read is registered: the next build reads them again."
        ~ " Run it once the " ~ what ~ " is complete " ~ advice ~ ".") }}
{%- endmacro %}

{#- The files of `files` (rows of name, size in bytes, modification time in UTC) that are gone or
    whose size or time differs now, each as [kind, name, detail]: kind 'gone' (detail none) or
    'changed' (detail "size a -> b bytes" or "modified t -> u UTC"). The check_input_files guard
    and gate_input_files_unchanged. -#}
{% macro file_changes(files) -%}
    {%- set literals = [] -%}
    {%- for file in files -%}{%- do literals.append(sql_string(duckdb_glob_literal(file[0]))) -%}{%- endfor -%}
    {%- set found = {} -%}
    {%- for row in run_query("select filename, size, timezone('UTC', last_modified) from read_blob(["
        ~ literals | join(', ') ~ "])").rows -%}
        {%- do found.update({row[0]: row}) -%}
    {%- endfor -%}
    {%- set problems = [] -%}
    {%- for file, size, modified_at in files -%}
        {%- set now = found.get(file) -%}
        {%- if now is none -%}
            {%- do problems.append(["gone", file, none]) -%}
        {%- elif now[1] | int != size | int -%}
            {%- do problems.append(["changed", file, "size " ~ "{:,}".format(size | int) ~ " -> " ~ "{:,}".format(now[1] | int) ~ " bytes"]) -%}
        {%- elif now[2] != modified_at -%}
            {%- do problems.append(["changed", file, "modified " ~ modified_at ~ " -> " ~ now[2] ~ " UTC"]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}

{#- A file name as a DuckDB glob that matches that file only ([x] is the character x). -#}
{% macro duckdb_glob_literal(path) -%}
    {{ return(modules.re.sub('([*?\\[])', '[\\1]', path)) }}
{%- endmacro %}

{#- on-run-start, before anything is written: every registered file that var orders_path matches
    (as a glob, or a directory's *.parquet parts) or names must still exist with the size and
    modification time it had when a build read it; else stop with one line naming the first such
    file and counting the others. Registered files the current orders_path does not match are not
    checked: pointing orders_path at other files is no change to the files read before. Skipped
    without a registry yet, for a table input, on Spark, with --full-refresh (which rebuilds the
    registry from the files read now), and for commands that neither build nor test. A table
    input with loaded_at has its loads checked instead (check_input_loads). -#}
{% macro check_input_files() -%}
    {%- if execute -%}{%- do check_orders_table_not_blank() -%}{%- endif -%}
    {%- if execute and var('orders_table') and flags.WHICH in ['build', 'run', 'test'] -%}
        {{ return(check_input_loads()) }}
    {%- endif -%}
    {%- if not execute or flags.FULL_REFRESH or flags.WHICH not in ['build', 'run', 'test'] or not input_files_are_registered() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set registry = adapter.get_relation(target.database, target.schema, 'int_input_files') -%}
    {%- if registry is none -%}{{ return('') }}{%- endif -%}
    {%- set path = orders_path() -%}
    {%- set files = run_query("select source_file, size_bytes, modified_at from " ~ registry
        ~ " where source_file = " ~ sql_string(path) ~ " or source_file glob " ~ sql_string(path)
        ~ " or source_file glob " ~ sql_string(path ~ '/*.parquet') ~ " order by source_file").rows -%}
    {%- if not files -%}{{ return(check_unregistered_stored_files(registry, path)) }}{%- endif -%}
    {%- set problems = file_changes(files) -%}
    {%- if problems -%}
        {%- set kind, file, detail = problems[0] -%}
        {%- set notes = [detail] if detail else [] -%}
        {%- if problems | length > 1 -%}
            {%- do notes.append("and " ~ (problems | length - 1) ~ " more registered file" ~ ('s' if problems | length > 2 else '') ~ " changed or gone") -%}
        {%- endif -%}
        {{ exceptions.raise_compiler_error("input file " ~ kind ~ " since a build read it: '" ~ file ~ "'"
            ~ (" (" ~ notes | join('; ') ~ ")" if notes else '')
            ~ ". Restore it as it was (same size and modification time), or rebuild from the files as they are now: dbt build --full-refresh") }}
    {%- endif -%}
    {{ return(check_unregistered_stored_files(registry, path)) }}
{%- endmacro %}

{#- Part of check_input_files: a build can store a file's lines (validation) without registering
    the file (int_input_files), when it fails after validation (a gate) or does not select the
    registry. Such a file that var orders_path no longer finds on disk (deleted, or orders_path
    pointed elsewhere) stops the build with one line naming it: its stored lines are not the
    input any more, and a build from scratch would not have them. One that is still there is read
    again as a new file (orders_new_files), which replaces its stored lines. -#}
{% macro check_unregistered_stored_files(registry, path) -%}
    {%- set validated = adapter.get_relation(target.database, target.schema, 'int_order_lines_validated') -%}
    {%- if validated is none -%}{{ return('') }}{%- endif -%}
    {%- set literal = duckdb_glob_literal(path) -%}
    {%- set found_now = "select file from glob(" ~ sql_string(literal) ~ ") union select file from glob("
        ~ sql_string(path) ~ ") union select file from glob(" ~ sql_string(literal ~ '/*.parquet') ~ ")" -%}
    {%- set unregistered = run_query("select distinct source_file from " ~ validated ~ " where source_file is not null"
        ~ " and source_file not in (select source_file from " ~ registry ~ " where source_file is not null)"
        ~ " and source_file not in (" ~ found_now ~ ") order by source_file").columns[0].values() -%}
    {%- if not unregistered -%}{{ return('') }}{%- endif -%}
    {%- set file = unregistered[0] -%}
    {%- set on_disk = glob_count(duckdb_glob_literal(file)) > 0 -%}
    {%- set more = unregistered | length - 1 -%}
    {%- set others = "; and " ~ more ~ " more such file" ~ ('s' if more > 1 else '') if more else '' -%}
    {%- set why = "a build stored its lines but did not register it: it failed, or did not select int_input_files" ~ others -%}
    {%- if on_disk -%}
        {{ exceptions.raise_compiler_error("input file no longer matched by var orders_path: '" ~ file ~ "' (" ~ why
            ~ "). Point orders_path at it again, or rebuild from the files orders_path matches: dbt build --full-refresh") }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error("input file gone since a build read it: '" ~ file ~ "' (" ~ why
        ~ "). Restore it, or rebuild from the files as they are now: dbt build --full-refresh") }}
{%- endmacro %}

{#- on-run-start hook: a dbt build or run that builds a model reading a staging model (validation,
    int_touched_customers) builds that staging model too. Staging is a view whose SQL names the
    input the build that created it read (a daily build: only the files no build had read then),
    so a model built without it reads an earlier build's lines again and misses new ones:
    validation would judge those lines as new, changing the verdicts of the lines they were
    judged with. Stops with one line, before anything is written. -#}
{% macro check_staging_built_with_its_readers() -%}
    {%- if not execute or flags.WHICH not in ['build', 'run'] -%}{{ return('') }}{%- endif -%}
    {%- set staging = [] -%}
    {%- for unique_id, node in graph.nodes.items() if node.resource_type == 'model' and node.fqn[1] == 'staging' -%}
        {%- do staging.append(unique_id) -%}
    {%- endfor -%}
    {%- for name, readers in models_built_without(staging) | dictsort -%}
        {{ exceptions.raise_compiler_error("this command builds " ~ readers | join(', ') ~ " without " ~ name
            ~ ", the view of the input it reads: that view still reads the input of the build that created it, so new"
            ~ " files would be missed and files already read judged again. Select " ~ name ~ " too (dbt build --select +"
            ~ readers[0] ~ "), or run dbt build.") }}
    {%- endfor -%}
    {{ return('') }}
{%- endmacro %}

{#- Daily builds (docs/daily_builds.md): on DuckDB a build reads only the files (or a table's
    loads, input_loads.sql) no build has read, and validation judges their lines with the stored
    ones. A table without loaded_at is read whole on each build; Spark builds from scratch each
    time. -#}
{% macro daily_builds_enabled() -%}
    {{ return(target.type == 'duckdb') }}
{%- endmacro %}

{#- The stored validated lines carry what a daily build needs to judge new lines with them
    (line_rejection_reason, line_fingerprint) and to find the lines judged since a model last
    read them (judged_at): a table written by an older version does not. -#}
{% macro assert_stored_lines_are_current(relation) -%}
    {%- if execute -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}{%- do names.append(column.name | lower) -%}{%- endfor -%}
        {%- set missing = [] -%}
        {%- for name in ['line_rejection_reason', 'line_fingerprint', 'judged_at'] -%}
            {%- if name not in names -%}{%- do missing.append(name) -%}{%- endif -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error("the validated order lines in " ~ relation ~ " were stored by an older version of this project (no " ~ missing | join(', ') ~ "): run dbt build --full-refresh once") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The stored validated lines, as the builds before this one left them, for the model upstream
    of validation that cannot ref() it (int_order_lines_of_touched_customers); none when there
    are none. Checked as validation checks them. -#}
{% macro stored_validated_lines() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set relation = adapter.get_relation(target.database, target.schema, 'int_order_lines_validated') -%}
    {%- if relation is not none -%}{%- do assert_stored_lines_are_current(relation) -%}{%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#- The models this dbt command builds that read one of `parents` (unique ids) which it does not
    build, as {parent's name: [the readers' names, in name order]}: for a model whose input must
    come from the same command (the run record, a staging view naming the build's files). -#}
{% macro models_built_without(parents) -%}
    {%- set readers = {} -%}
    {%- for unique_id in selected_resources | sort -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- if node and node.resource_type == 'model' -%}
            {%- for parent_id in node.depends_on.nodes if parent_id in parents and parent_id not in selected_resources -%}
                {%- do readers.setdefault(graph.nodes[parent_id].name, []).append(node.name) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(readers) }}
{%- endmacro %}

{#- True when this dbt command builds `name` (a model of this project), e.g. before a model that
    relies on it having been built in the same command. -#}
{% macro builds_model(name) -%}
    {{ return(('model.' ~ project_name ~ '.' ~ name) in selected_resources) }}
{%- endmacro %}

{#- The files var orders_path matches that no build has read (not in int_input_files), in name
    order, for a daily build; none when this build reads every file: not a daily build (see
    daily_registry), no file recorded before, or a recorded file that orders_path no longer
    matches (it was pointed at other files: from scratch, those lines are not there, and verdicts
    that depended on them change). Rows this build registered are left out, so every node of the
    build takes the same decision; so are files not in `at_start` when it is given (the files
    the build found when it started: one that arrived since is the next build's). -#}
{% macro orders_new_files(pattern, at_start=none) -%}
    {%- set registry = daily_registry() -%}
    {%- if registry is none -%}{{ return(none) }}{%- endif -%}
    {%- set before = "(select source_file from " ~ registry ~ " where first_read_in_run <> '" ~ invocation_id ~ "')" -%}
    {%- set files = run_query("select file, file in " ~ before ~ " from glob(" ~ sql_string(pattern) ~ ")"
        ~ " union all select source_file, null from " ~ before ~ " as recorded"
        ~ " where source_file not in (select file from glob(" ~ sql_string(pattern) ~ "))"
        ~ " order by 1").rows -%}
    {%- set new_files = [] -%}
    {%- set present = [] -%}
    {%- for file, recorded in files -%}
        {%- if recorded is none -%}{{ return(none) }}{%- endif -%}
        {#- A file that arrived after the build started is the next build's (files_found_at_start). -#}
        {%- if at_start is none or file in at_start -%}
            {%- do present.append(file) -%}
            {%- if not recorded -%}{%- do new_files.append(file) -%}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {#- No file recorded before (the registry held a table input's lines): read every file. -#}
    {%- if new_files | length == present | length -%}{{ return(none) }}{%- endif -%}
    {{ return(new_files) }}
{%- endmacro %}

{#- The registry (int_input_files) when this build may read only what earlier builds did not:
    none when it reads everything: not a daily build, the first build, --full-refresh, no stored
    validated lines to judge new ones with, or a registry row of an earlier build under other
    rules (input_rules_fingerprint) or another DuckDB (duckdb_library_version: the stored lines'
    fingerprints are its hash()); a registry of an older version has none. -#}
{% macro daily_registry() -%}
    {%- if not execute or not daily_builds_enabled() or flags.FULL_REFRESH -%}{{ return(none) }}{%- endif -%}
    {%- set registry = adapter.get_relation(target.database, target.schema, 'int_input_files') -%}
    {%- set validated = adapter.get_relation(target.database, target.schema, 'int_order_lines_validated') -%}
    {%- if registry is none or validated is none -%}{{ return(none) }}{%- endif -%}
    {#- The columns by a plain query: on-run-start's snapshot_input_files calls this for a table
        input, and dbt rolls back what a hook writes after get_columns_in_relation. -#}
    {%- set columns = run_query("select * from " ~ registry ~ " limit 0").column_names | map('lower') | list -%}
    {%- if 'read_with_rules' not in columns or 'read_with_duckdb' not in columns or run_query("select count(*) from " ~ registry
        ~ " where first_read_in_run <> '" ~ invocation_id ~ "'"
        ~ " and (read_with_rules is distinct from '" ~ input_rules_fingerprint() ~ "'"
        ~ " or read_with_duckdb is distinct from '" ~ duckdb_library_version() ~ "')").rows[0][0] > 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(registry) }}
{%- endmacro %}

{#- The version of the DuckDB library this build runs on ('' on other engines). Each line's
    fingerprint (line_fingerprint, by which duplicates are found) is DuckDB's hash(), which other
    versions compute differently (duckdb/duckdb#17596), so each registered file records the
    version that fingerprinted its lines (int_input_files.read_with_duckdb) and a build on
    another one reads every file again (daily_registry). -#}
{% macro duckdb_library_version() -%}
    {%- if not execute or target.type != 'duckdb' -%}{{ return('') }}{%- endif -%}
    {{ return(run_query("select library_version from pragma_version()").rows[0][0]) }}
{%- endmacro %}

{#- What decides a stored line's verdict besides its file, as a hash: the code of the staging
    models and of validation (their files and the macros they call: code_checksum), the seed
    validation reads, and the vars that say how to read the input. Registered with each file
    (int_input_files); a registry row under another hash means stored verdicts may not be the
    ones a build from scratch gives now, so that build reads every file again
    (orders_new_files). -#}
{% macro input_rules_fingerprint() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- set reads_input = node.resource_type == 'model'
            and ('staging' in node.fqn or node.name == 'int_order_lines_validated') -%}
        {%- set rule_seed = node.resource_type == 'seed' and node.name == 'non_product_stock_codes' -%}
        {%- if node.package_name == project_name and (reads_input or rule_seed) -%}
            {%- do parts.append(node.unique_id ~ '=' ~ (code_checksum(node) if reads_input else node.checksum.checksum)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['orders_format', 'orders_csv_delimiter', 'orders_csv_quote', 'orders_csv_escape', 'orders_encoding'] -%}
        {%- do parts.append(name ~ '=' ~ var(name, none)) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}

{#- True when this build is a daily one: it reads only new files (orders_new_files) and
    validation judges them with the stored lines. -#}
{% macro is_daily_build() -%}
    {%- if not (execute and daily_builds_enabled()) -%}{{ return(false) }}{%- endif -%}
    {%- if var('orders_table') -%}{{ return(orders_loads_read_before() is not none) }}{%- endif -%}
    {{ return(orders_read_path().get('daily', false)) }}
{%- endmacro %}

{#- A pre-hook of the incremental models that store what was read (validated lines, the file
    registry): a build that reads every file again on a stored table replaces all of its rows.
    Nothing where builds are never daily (a table input, Spark: nothing stored to replace). -#}
{% macro replace_rows_unless_daily() -%}
    {%- if daily_builds_enabled() and is_incremental() and not is_daily_build() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}
