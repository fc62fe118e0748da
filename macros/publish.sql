{#- Stops publish_marts (its pre-hook) when the publish folder records another warehouse: one
    line of error, where the same refusal raised in the Python model would come with dbt-duckdb's
    traceback. publish_marts checks again under the folder's lock (segmentation/publish.py). -#}
{% macro check_publish_folder_owner(publish_dir, identity) -%}
with

owner as (
    select
        json_extract_string(content, '$.warehouse_id') as warehouse_id,
        json_extract_string(content, '$.database') as database_path,
        json_extract_string(content, '$.first_published_at') as first_published_at
    -- no rows before the folder's first publish
    from read_text({{ sql_string(publish_dir ~ '/warehouse.json') }})
),

this_warehouse as (
    select
        warehouse_id,
        (select path from duckdb_databases() where database_name = current_database()) as database_path
    from {{ identity }}
),

final as (
    select error(
        'publish folder ' || {{ sql_string(publish_dir) }} || ' holds the history of warehouse '
        || owner.warehouse_id || ' (' || owner.database_path || ', first published '
        || owner.first_published_at || '), not of this warehouse ' || this_warehouse.warehouse_id
        || ' (' || this_warehouse.database_path
        || case when owner.database_path = this_warehouse.database_path then ', deleted and rebuilt since' else '' end
        || '): set SEGMENTATION_PUBLISH_DIR to another folder, or remove '
        || {{ sql_string(publish_dir) }} || ' to start its history over'
    ) as refused
    from owner
    cross join this_warehouse
    where owner.warehouse_id is distinct from this_warehouse.warehouse_id
)

select * from final
{%- endmacro %}

{#- The data tests this command does not run among those of the models publish_marts is built
    from (its ancestors), gates first: all of them under `dbt run`, those a selection or an
    --exclude leaves out under `dbt build`. Empty for a whole `dbt build`. -#}
{% macro tests_not_run_before_publishing() -%}
    {%- set publish = 'model.' ~ project_name ~ '.publish_marts' -%}
    {%- set upstream = {} -%}
    {%- set queue = [publish] -%}
    {#- Jinja's loop iterates the list as it grows: a walk over every ancestor -#}
    {%- for unique_id in queue -%}
        {%- set node = graph.nodes.get(unique_id) -%}
        {%- for parent in (node.depends_on.nodes if node else []) if parent not in upstream -%}
            {%- do upstream.update({parent: true}) -%}
            {%- do queue.append(parent) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set gates = [] -%}
    {%- set others = [] -%}
    {%- for unique_id, node in graph.nodes.items() if node.resource_type == 'test' and unique_id not in selected_resources -%}
        {#- a test of a disabled model (the other fit path's) is in the graph, disabled -#}
        {%- if node.config.enabled and node.depends_on.nodes | select('in', upstream) | list -%}
            {%- do (gates if node.name.startswith('gate_') else others).append(node.name) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(gates | sort + others | sort) }}
{%- endmacro %}

{#- publish_marts' pre-hook: what goes live is what passed, so publishing stops, in one line,
    when this command did not run every test of the models it publishes from (a `dbt run`, or a
    `dbt build` whose selection or --exclude leaves some out): the published marts stay those of
    the last build that passed them. The build's outcome is then not accepted either
    (record_build_outcome). -#}
{% macro check_tests_ran_before_publishing() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set skipped = tests_not_run_before_publishing() -%}
    {%- if skipped -%}
        {{ exceptions.raise_compiler_error(tests_not_run_message(skipped)) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro tests_not_run_message(skipped) -%}
    {%- set named = skipped[:6] | join(', ') ~ (', and ' ~ (skipped | length - 6) ~ ' more' if skipped | length > 6 else '') -%}
    {{ return("not published: this command did not run " ~ skipped | length ~ " tests of the models publishing reads ("
        ~ named ~ "), so nothing it built may go live; the published marts stay those of the last build that passed."
        ~ " Run dbt build, with every test (dbt run --exclude publish_marts builds the models without publishing).") }}
{%- endmacro %}
