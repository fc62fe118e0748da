{#- A public mart as the analyses name it. On DuckDB by its table name alone: ref() names the
    warehouse's catalog (uci.main.dim_customers for a warehouse file uci.duckdb), which the
    published file does not have, while the table name resolves both in
    published/segmentation.duckdb and in the warehouse (marts in the default schema, main).
    Elsewhere (Spark) the full name: there the marts are the shared tables BI tools read.
    Stops the compile when the model is not a public mart: only those are published.
    Arguments: model_name - a public mart, e.g. 'dim_customers'. -#}
{% macro published_ref(model_name) -%}
    {%- set relation = ref(model_name) -%}
    {%- if execute -%}
        {%- set public = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
            | selectattr('name', 'equalto', model_name) | selectattr('access', 'equalto', 'public') | list -%}
        {%- if not public -%}
            {{ exceptions.raise_compiler_error(model.name ~ " reads " ~ model_name ~ ", which is not a public mart and so is not published: read the published marts (README \"What you get\") or make it one") }}
        {%- endif -%}
    {%- endif -%}
    {%- if target.type == 'duckdb' -%}
        {{ return(relation.include(database=false, schema=false)) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#- Var `var_name` (a segment id, default `default`) as a SQL scalar that stops the query, in
    one line naming the id and the segments there are, when `profiles` (dim_segment_profiles, the
    latest build) has no such segment. An analysis given an id that does not exist would
    otherwise return no rows, silently: stable ids can skip numbers (a retired segment keeps
    its id) and pass k. The error is the engine's own (unknown_segment_id_error).
    Arguments: var_name, default - the var and its default; profiles - dim_segment_profiles. -#}
{% macro known_segment_id(var_name, default, profiles) -%}
    {%- set segment_id = var(var_name, default) | int -%}
(
    select
        case
            when bool_or(segment_id = {{ segment_id }}) then cast({{ segment_id }} as bigint)
            else {{ unknown_segment_id_error(
                sql_string(model.name ~ ": var " ~ var_name ~ " = " ~ segment_id ~ ": no segment " ~ segment_id ~ " in dim_segment_profiles (the latest build; ids are stable, so they can skip numbers); its segments are "),
                sql_string(": compile again with --vars '{" ~ var_name ~ ": <one of them>}'")) }}
        end
    from {{ profiles }}
)
{%- endmacro %}

{#- In known_segment_id's query over dim_segment_profiles: an error whose message is `before`, the
    segment ids there are (in order, comma-separated; "none"), then `after` (SQL strings).
    DuckDB's error(); Spark's raise_error(). -#}
{% macro unknown_segment_id_error(before, after) -%}
    {{ return(adapter.dispatch('unknown_segment_id_error', 'segmentation')(before, after)) }}
{%- endmacro %}

{% macro default__unknown_segment_id_error(before, after) -%}
    error({{ before }} || coalesce(string_agg(cast(segment_id as varchar), ', ' order by segment_id), 'none')
        || {{ after }})
{%- endmacro %}

{% macro spark__unknown_segment_id_error(before, after) -%}
    raise_error(concat({{ before }}, coalesce(nullif(array_join(
        transform(array_sort(collect_list(segment_id)), id -> cast(id as string)), ', '), ''), 'none'),
        {{ after }}))
{%- endmacro %}
