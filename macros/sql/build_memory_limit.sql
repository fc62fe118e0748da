{#- DuckDB's memory_limit for this build (docs/configuration.md, "DuckDB settings"). The profile
    opens the database with SEGMENTATION_DUCKDB_MEMORY_LIMIT, 4GB when unset. When it is unset, a
    build on a warehouse that has read files (or a table's loads) before under the same input
    rules (daily_registry: not the first build, not --full-refresh) runs with 3GB instead: it
    reads only the files or loads no build has read, which at 10M customers keeps its peak RSS
    under 4 GiB at no cost in time, while a build from scratch, which reads all history, is 9%
    faster with 4GB (docs/benchmarks_daily_notes.md). It looks at the registry only, never at the orders path, so
    a build of a selection that reads no orders cannot fail here. An on-run-start hook: DuckDB's
    memory_limit holds for the whole database, every thread's cursor. A profile of your own with
    another memory_limit is left as it is. -#}
{% macro set_build_memory_limit() -%}
    {#- The limit the profile opened DuckDB with: only its default (profiles.yml, 4GB) is lowered,
        not a limit a user wrote into their own profile. -#}
    {%- set opened_with = (target.get('config_options') or {}).get('memory_limit') -%}
    {%- if execute and flags.WHICH in ['build', 'run'] and daily_builds_enabled()
        and not env_var('SEGMENTATION_DUCKDB_MEMORY_LIMIT', '') and opened_with == '4GB'
        and daily_registry() is not none -%}
        set memory_limit = '3GB'
    {%- endif -%}
{%- endmacro %}

{#- A pre-hook of the late nodes that read every customer (int_segment_membership_changes,
    publish_membership_rows, publish_marts): `force checkpoint` on DuckDB in a fit build (`dbt
    build` or `dbt run`, not with --full-refresh), whose new model moves every customer's
    distance, so these nodes compare and write every customer. Until DuckDB checkpoints, the
    table data a build wrote stays in its buffer pool and cannot be evicted: at 10M customers
    1.5 GB of a daily build's 3GB when the membership changes started, and the first daily fit
    build after a history build ran out of memory there in two benchmark runs of two and in two
    repeats; a checkpoint first (3 s) left 645 MB, all of it evictable
    (docs/benchmarks_daily_notes.md). FORCE waits for the other thread's transaction to end and
    holds new ones meanwhile, which made a 10M daily score build 8.6 s slower (100.7 s of wall
    time against 92.1 s in the run before); a score build compares only the customers a day
    touched and never ran out of memory there, so it does not checkpoint. Run while the hook
    renders, before any query: DuckDB refuses a checkpoint in a transaction that has read the
    database, so the condition reads none (a daily fit build is not told from a first one here:
    both checkpoint). -#}
{% macro checkpoint_before_wide_reads() -%}
    {%- if execute and target.type == 'duckdb' and flags.WHICH in ['build', 'run'] and not flags.FULL_REFRESH
        and segmentation_mode() == 'fit' -%}
        {%- do run_query('force checkpoint') -%}
    {%- endif -%}
{%- endmacro %}
