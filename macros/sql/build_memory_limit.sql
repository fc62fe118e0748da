{#- DuckDB's memory_limit for this build (docs/configuration.md, "DuckDB settings"). The profile
    opens the database with SEGMENTATION_DUCKDB_MEMORY_LIMIT, 4GB when unset. A daily build reads
    only the new lines: when that variable is unset it runs with 3GB instead, which keeps its peak
    RSS under 4 GiB at 10M customers at no cost in time, while a build from scratch, which reads
    all history, is 9% faster with 4GB (docs/benchmarks.md, "Daily builds"). An on-run-start
    hook: DuckDB's memory_limit holds for the whole database, every thread's cursor. -#}
{% macro set_build_memory_limit() -%}
    {%- if execute and flags.WHICH in ['build', 'run'] and daily_builds_enabled()
        and not env_var('SEGMENTATION_DUCKDB_MEMORY_LIMIT', '') and is_daily_build() -%}
        set memory_limit = '3GB'
    {%- endif -%}
{%- endmacro %}
