{#- The fit lifecycle (docs/reliability.md "Lifecycle"): every build that wrote rows under its
    run id gets one outcome row in segment_build_outcomes when it ends, and readers of the
    histories see only accepted runs (and the running build's own rows). A build killed before
    its end records nothing: its rows stay unaccepted for good. -#}

{% macro build_outcomes_relation() -%}
    {#- Spark targets have no database (undefined there) -#}
    {{ return(api.Relation.create(database=(target.database or none), schema=target.schema, identifier='segment_build_outcomes')) }}
{%- endmacro %}

{#- on-run-start: the outcome table exists before any model reads it (as the source
    segment_lifecycle.segment_build_outcomes). A warehouse built before outcomes were recorded
    gets its logged runs as accepted, so its last fit stays the current model. -#}
{% macro create_build_outcomes() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set outcomes = build_outcomes_relation() -%}
    {%- if adapter.get_relation(outcomes.database, outcomes.schema, outcomes.identifier) is none -%}
        {#- a `dbt seed` on a fresh Spark warehouse has not created the target schema. Not the
            create_schema macro: it opens a transaction that dbt rolls back after the hooks -#}
        {%- do run_query('create schema if not exists ' ~ outcomes.without_identifier()) -%}
        {%- do run_query(build_outcomes_ddl(outcomes)) -%}
        {%- set run_log = adapter.get_relation(outcomes.database, outcomes.schema, 'int_segment_run_log') -%}
        {%- if run_log is not none -%}
            {%- do run_query("insert into " ~ outcomes ~ " select run_id, run_at, segmentation_mode, 'accepted', "
                ~ "'built before build outcomes were recorded: taken as accepted', cast(null as timestamp) from " ~ run_log) -%}
        {%- endif -%}
    {%- endif -%}
    {#- a killed build's memberships (no outcome; this build has no rows yet) -#}
    {%- do purge_unaccepted_memberships() -%}
    {{ return('') }}
{%- endmacro %}

{#- on-run-start, first: a build's run records (the models that ref int_segment_run) and what it
    publishes come from one whole dbt build or run. Stops, before anything is written:
    - `dbt retry` (its command word, or an empty selected_resources, which only a retry's hooks
      see: it bypasses dbt's selector). A retry runs the failed and skipped nodes alone, under a
      new invocation: after a build that failed past its run records, it published the failed
      build's marts with membership rows this command's start had dropped (an unaccepted
      build's);
    - a --select that builds such a model without int_segment_run: it would write under the run
      of an earlier build. A selection with int_segment_run, or with none of them, goes on. -#}
{% macro check_run_records_built_whole() -%}
    {%- if not execute or flags.WHICH not in ['build', 'run'] -%}{{ return('') }}{%- endif -%}
    {%- set command = (invocation_args_dict.get('invocation_command') or '').split() -%}
    {%- if command[1:2] == ['retry'] or not selected_resources -%}
        {{ exceptions.raise_compiler_error("dbt retry cannot resume a segmentation build: a build's run records and what"
            ~ " it publishes come from one whole dbt build, and a retry runs only the nodes that failed or were skipped."
            ~ " Run dbt build again: it redoes what the failed build left undone (a daily build still reads only the"
            ~ " input files no build has read).") }}
    {%- endif -%}
    {%- set writers = models_built_without(['model.' ~ project_name ~ '.int_segment_run']).get('int_segment_run') -%}
    {%- if writers -%}
        {{ exceptions.raise_compiler_error("this command builds " ~ writers | join(', ')
            ~ " without int_segment_run, so it would write rows under the run of an earlier build."
            ~ " A build's run records are written by one whole dbt build: run dbt build (or add int_segment_run to the selection).") }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro build_outcomes_ddl(outcomes) -%}
    {{ return(adapter.dispatch('build_outcomes_ddl')(outcomes)) }}
{%- endmacro %}

{% macro default__build_outcomes_ddl(outcomes) -%}
    create table if not exists {{ outcomes }} (
        run_id {{ dbt.type_string() }},
        run_at {{ dbt.type_timestamp() }},
        segmentation_mode {{ dbt.type_string() }},
        outcome {{ dbt.type_string() }},
        reason {{ dbt.type_string() }},
        recorded_at {{ dbt.type_timestamp() }}
    )
{%- endmacro %}

{% macro spark__build_outcomes_ddl(outcomes) -%}
    {{ default__build_outcomes_ddl(outcomes) }}
    using {{ env_var('SEGMENTATION_SPARK_FILE_FORMAT', 'parquet') }}
{%- endmacro %}

{#- on-run-end: this invocation's outcome, when it built this run's rows (int_segment_run ran:
    every history row it appended carries that run id; a `dbt test`, `seed`, `compile` or a
    selection without the run records nothing). accepted: a `dbt build` whose every node
    succeeded, passed or warned; failed: a node errored (model, contract, publishing);
    rejected: a test failed at error severity (nodes after it were skipped), or the command was
    not `dbt build`, so its tests did not run, or it left out tests of the models publishing reads
    (tests_not_run_before_publishing: a selection or an --exclude). Then the temporary relations are dropped. -#}
{% macro record_build_outcome(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set run_node = 'model.' ~ project_name ~ '.int_segment_run' -%}
    {%- set built = results | selectattr('node.unique_id', 'equalto', run_node) | selectattr('status', 'equalto', 'success') | list -%}
    {%- if built -%}
        {%- set errors = [] -%}
        {%- set failures = [] -%}
        {%- set warned = [] -%}
        {%- for result in results -%}
            {%- if result.status in ['error', 'runtime error'] -%}{%- do errors.append(result) -%}
            {%- elif result.status in ['fail', 'skipped'] -%}{%- do failures.append(result) -%}
            {%- elif result.status == 'warn' -%}{%- do warned.append(result) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set untested = tests_not_run_before_publishing() if flags.WHICH == 'build' else [] -%}
        {%- if errors -%}
            {%- set outcome = 'failed' -%}
        {%- elif failures or flags.WHICH != 'build' or untested -%}
            {%- set outcome = 'rejected' -%}
        {%- else -%}
            {%- set outcome = 'accepted' -%}
        {%- endif -%}
        {%- set reasons = [] -%}
        {%- for result in (errors + failures | rejectattr('status', 'equalto', 'skipped') | list)[:5] -%}
            {#- a Python model's message is a traceback: its first and last lines say what failed -#}
            {%- set lines = ((result.message or '') | string | trim).split('\n') -%}
            {%- set message = lines[0] ~ (' ... ' ~ lines[-1] | trim if lines | length > 1 else '') -%}
            {%- do reasons.append(result.node.name ~ ' ' ~ result.status ~ ': ' ~ message[:300]) -%}
        {%- endfor -%}
        {%- set skipped = failures | selectattr('status', 'equalto', 'skipped') | list -%}
        {%- if skipped -%}{%- do reasons.append(skipped | length ~ ' nodes skipped') -%}{%- endif -%}
        {%- if flags.WHICH != 'build' -%}{%- do reasons.append('dbt ' ~ flags.WHICH ~ ', not dbt build: the tests did not all run') -%}{%- endif -%}
        {%- if untested and not errors -%}{%- do reasons.append(tests_not_run_message(untested)) -%}{%- endif -%}
        {%- if outcome == 'accepted' -%}
            {%- do reasons.append('dbt build: ' ~ results | length ~ ' nodes passed (' ~ warned | length ~ ' with warnings)') -%}
        {%- endif -%}
        {%- set reason = reasons | join('; ') -%}
        {%- if target.type == 'spark' -%}{%- set reason = reason | replace('\\', '\\\\') -%}{%- endif -%}
        {%- do run_query("insert into " ~ build_outcomes_relation()
            ~ " select " ~ sql_string(invocation_id)
            ~ ", cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)"
            ~ ", " ~ sql_string(var('segmentation_mode')) ~ ", '" ~ outcome ~ "', " ~ sql_string(reason)
            ~ ", cast('" ~ modules.datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as timestamp)") -%}
        {{ log('segmentation: build outcome ' ~ outcome ~ (': ' ~ reason if outcome != 'accepted' else ''), info=true) }}
    {%- endif -%}
    {%- do purge_unaccepted_memberships() -%}
    {%- do drop_temporary_relations() -%}
    {{ return('') }}
{%- endmacro %}

{#- The membership history keeps only accepted builds' rows (and, during a build, its own: this
    runs at its start, before it has rows, and at its end, after its outcome): its change rows
    (int_segment_membership_changes) are what the next build compares with, and publishing
    appends every run it has not published yet, so a rejected build's rows must be gone before
    the next build. The same for the old table of every customer in every build, on a warehouse
    not built since it became a view. Spark's Parquet tables take no delete: there the readers
    filter on the registry's status (the view fct_segment_memberships and the next build do on
    DuckDB too). -#}
{% macro purge_unaccepted_memberships() -%}
    {{ return(adapter.dispatch('purge_unaccepted_memberships')()) }}
{%- endmacro %}

{% macro default__purge_unaccepted_memberships() -%}
    {%- set outcomes = build_outcomes_relation() -%}
    {%- for name in ['int_segment_membership_changes', 'int_segment_membership_runs', 'fct_segment_memberships'] -%}
        {%- set history = adapter.get_relation(target.database, target.schema, name) -%}
        {%- if history is not none and history.type == 'table' -%}
            {%- do run_query("delete from " ~ history ~ " where run_id not in (select run_id from "
                ~ outcomes ~ " where outcome = 'accepted')") -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{% macro spark__purge_unaccepted_memberships() -%}
{%- endmacro %}

{#- dbt-duckdb leaves an incremental Python model's staging table (<model>__dbt_tmp<time>) in
    the warehouse; a killed build may leave others. Spark's are session views: nothing to do. -#}
{% macro drop_temporary_relations() -%}
    {{ return(adapter.dispatch('drop_temporary_relations')()) }}
{%- endmacro %}

{% macro default__drop_temporary_relations() -%}
    {%- set leftovers = run_query("select table_schema, table_name, table_type from information_schema.tables "
        ~ "where table_catalog = " ~ sql_string(target.database) ~ " and contains(table_name, '__dbt_tmp')") -%}
    {%- for row in leftovers.rows -%}
        {%- do run_query('drop ' ~ ('view' if row[2] == 'VIEW' else 'table') ~ ' if exists "'
            ~ row[0] ~ '"."' ~ row[1] ~ '"') -%}
    {%- endfor -%}
{%- endmacro %}

{% macro spark__drop_temporary_relations() -%}
{%- endmacro %}

{#- The runs whose history rows readers may use, as a subquery of run ids: the accepted builds
    and the running build itself (its rows are checked by its own tests; it only becomes a
    candidate for later builds once accepted). -#}
{% macro visible_run_ids() -%}
    (select run_id from {{ source('segment_lifecycle', 'segment_build_outcomes') }} where outcome = 'accepted'
     union all
     select run_id from {{ ref('int_segment_run') }})
{%- endmacro %}

{#- Run ids of accepted builds only, as a subquery: what a fit matches its ids to. -#}
{% macro accepted_run_ids() -%}
    (select run_id from {{ source('segment_lifecycle', 'segment_build_outcomes') }} where outcome = 'accepted')
{%- endmacro %}
