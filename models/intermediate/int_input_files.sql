{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          pre_hook="{{ replace_rows_unless_daily() }}") }}
{#- The registry of the input files builds have read: each file once, with its size and
    modification time as the build that first read it found them before reading any file
    (snapshot_input_files, on-run-start: a file changed after that does not match its row,
    and gate_input_files_unchanged stops that build before this model). Built after validation
    (the ref below), so only files whose lines were read are registered: a file that arrived
    mid-build is left for the next build. Registered
    files are never updated here; the guard check_input_files stops a build when one has
    changed, and --full-refresh rebuilds this table from the files read then. Each row also
    records the rules the file's lines were judged under (input_rules_fingerprint) and the DuckDB
    version that fingerprinted them (duckdb_library_version). No rows for a table input (var
    orders_table) or on Spark. -#}

with

{#- The files whose lines validation stored in this same command (judged_at is its start): a
    daily build's new files (and every file when it reads them all). A command that runs this
    model without validation (`dbt run --select int_input_files`) registers nothing: a file
    registered without its lines would never be read. Lines of registered files judged again
    are left out below. #}
validated_lines as (
    select distinct source_file
    from {{ ref('int_order_lines_validated') }}
    where judged_at = {{ run_started_timestamp() }}
),

file_stats as (
    {%- if input_files_are_registered() %}
    {{ input_file_stats_before_read() }}
    {%- else %}
    {{ default__input_file_stats() }}
    {%- endif %}
),

{% if is_incremental() -%}
registered_files as (
    select source_file from {{ this }}
),

{% endif -%}
read_files as (
    select distinct source_file
    from validated_lines
    where source_file is not null
    {%- if not input_files_are_registered() %}
        and false
    {%- endif %}
),

final as (
    select
        read_files.source_file,
        file_stats.size_bytes,
        file_stats.modified_at,
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as first_read_in_run,
        {{ run_started_timestamp() }} as first_read_at,
        cast('{{ input_rules_fingerprint() }}' as {{ dbt.type_string() }}) as read_with_rules,
        cast('{{ duckdb_library_version() }}' as {{ dbt.type_string() }}) as read_with_duckdb
    from read_files
    -- a file read but gone before it is registered keeps null stats: the not_null tests stop the build
    left join file_stats
        on read_files.source_file = file_stats.source_file
    {%- if is_incremental() %}
    where read_files.source_file not in (select registered_files.source_file from registered_files)
    {%- endif %}
)

select * from final
