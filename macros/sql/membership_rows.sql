{#- The hooks of publish_membership_rows, on DuckDB an incremental table of the last build's rows
    of fct_segment_memberships. They run in the model's transaction: a build killed or failed
    part way leaves the table as the build before left it. -#}

{#- This build's (run_id, run_at) from int_segment_run, the run id checked to be letters, digits,
    '-' or '_' (the hooks and the model put it in their SQL as a literal). Before int_segment_run
    exists (`dbt compile` or sqlfluff on a warehouse not built that far) a placeholder run, so the
    model compiles; its SQL reads int_segment_run, so running it then fails on the missing table. -#}
{% macro this_build_run() -%}
    {%- set relation = ref('int_segment_run') -%}
    {%- if adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ return(['not-built-yet', none]) }}
    {%- endif -%}
    {%- set run = run_query("select run_id, run_at from " ~ relation).rows[0] -%}
    {%- if not modules.re.match('^[A-Za-z0-9_-]+$', run[0]) -%}
        {{ exceptions.raise_compiler_error("int_segment_run: run id '" ~ run[0] ~ "' must be letters, digits, '-' or '_'") }}
    {%- endif -%}
    {{ return(run) }}
{%- endmacro %}

{#- Pre-hook: before the model adds this build's rows, remove the stored rows they replace: when
    the table holds the last accepted build's rows (macro last_accepted_membership_rows, which
    the model's query asked before, on the same table), those of the customers this build
    changed, gone customers included; otherwise every row (the model then gives them all). -#}
{% macro replace_membership_rows() -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if last_accepted_membership_rows() is not none %}
        where customer_id in (
            select customer_id from {{ ref('int_segment_membership_changes') }}
            where run_id = (select run_id from {{ ref('int_segment_run') }})
        )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: the names this build gives the segments, on the rows kept from the build before
    (a renamed segment renames its unchanged customers, as the view does; the rows the model
    added already carry them). No row when no segment was renamed. Runs before
    stamp_membership_rows, while the kept rows still carry the build before's run id. -#}
{% macro rename_membership_rows() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set run_id = this_build_run()[0] -%}
        update {{ this }} as membership_rows
        set segment_name = segment_names.segment_name
        from {{ ref('int_segment_run_segments') }} as segment_names
        where segment_names.run_id = '{{ run_id }}'
            and membership_rows.run_id is distinct from '{{ run_id }}'
            and membership_rows.segment_id = segment_names.segment_id
            and membership_rows.segment_name is distinct from segment_names.segment_name
    {%- endif -%}
{%- endmacro %}

{#- Post-hook: every row kept from the build before becomes this build's (run_id, run_at): the
    table then holds this build's rows, as last_accepted_membership_rows expects. The two
    columns (the table's last) are dropped and added again with this build's values as default:
    DuckDB writes that as two statements, where updating 10M rows logged every row (at 10M
    customers 2 to 4 s with the commit, against 0.5 s). Nothing when every row is this build's
    (the model wrote them all). -#}
{% macro stamp_membership_rows() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set run = this_build_run() -%}
        {%- set kept = run_query("select count(*) from " ~ this ~ " where run_id is distinct from '" ~ run[0] ~ "'").rows[0][0] -%}
        {%- if kept > 0 -%}
            alter table {{ this }} drop column run_at;
            alter table {{ this }} drop column run_id;
            alter table {{ this }} add column run_id {{ dbt.type_string() }} default '{{ run[0] }}';
            alter table {{ this }} add column run_at {{ dbt.type_timestamp() }}
                default cast('{{ run[1].strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
