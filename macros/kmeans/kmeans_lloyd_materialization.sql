{#- materialized='kmeans_lloyd': Lloyd's K-Means run as a loop, one statement per step, instead
    of steps unrolled into one query. The model's SQL is the starting centroids, one row per
    fit (init_number and k) and cluster_number, one column per model feature; the steps work on
    them as wide columns c<j>__<feature>, one row per fit (kmeans_lloyd.sql).
    config kmeans_points names the model whose customers the centroids move over (the model
    declares it with a depends_on comment), kmeans_iterations the most steps to run. Each step
    reads the state table (a few dozen rows) and writes the next one. A fit (one init_number
    and k) whose step returned its input takes no further steps, since every further step would
    return it too, and the loop ends when no fit moves: the result is the state the steps
    unrolled to the limit gave. The table is the final centroids in the model SQL's long form,
    with each fit's steps (lloyd_steps) and whether its centroids stopped moving within the
    limit (is_converged); dbt's log says how many steps ran and how many fits still moved. -#}
{% materialization kmeans_lloyd, default %}
    {%- set points = ref(config.require('kmeans_points')) -%}
    {%- set iterations = config.require('kmeans_iterations') | int -%}
    {%- set k_max = kmeans_k_max() -%}
    {%- set existing = load_cached_relation(this) -%}
    {%- set target = this.incorporate(type='table') -%}
    {%- set states = [] -%}
    {%- for suffix in ['__lloyd_a', '__lloyd_b'] -%}
        {%- do states.append(this.incorporate(path={'identifier': this.identifier ~ suffix}, type='table')) -%}
    {%- endfor -%}

    {{ run_hooks(pre_hooks) }}
    {%- for state in states -%}
        {%- do adapter.drop_relation(state) -%}
    {%- endfor -%}
    {%- call statement('kmeans_start') -%}
        {{ create_table_as(False, states[0], "select start.*, 0 as lloyd_steps, true as is_moving from ("
            ~ kmeans_wide_state("(" ~ compiled_code ~ ") as centroids", ['init_number', 'k'], k_max) ~ ") as start") }}
    {%- endcall -%}

    {%- set loop_state = namespace(current=0, steps=0, moving=1) -%}
    {%- for step in range(1, iterations + 1) -%}
        {%- if loop_state.moving > 0 -%}
            {%- set previous = states[loop_state.current] -%}
            {%- set following = states[1 - loop_state.current] -%}
            {%- do adapter.drop_relation(following) -%}
            {%- call statement('kmeans_step') -%}
                {{ create_table_as(False, following, kmeans_lloyd_next_state(points, previous, k_max)) }}
            {%- endcall -%}
            {%- set loop_state.current = 1 - loop_state.current -%}
            {%- set loop_state.steps = step -%}
            {%- set loop_state.moving = run_query("select count(*) from " ~ following ~ " where is_moving").columns[0].values()[0] | int -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do log(this.identifier ~ ": " ~ loop_state.steps ~ " Lloyd steps; "
        ~ ("every fit's centroids stopped moving" if loop_state.moving == 0
           else loop_state.moving ~ " fits still moving at the limit (var segmentation_sql_kmeans_iterations)"),
        info=true) -%}

    {%- if existing is not none -%}
        {%- do adapter.drop_relation(existing) -%}
    {%- endif -%}
    {%- call statement('main') -%}
        {{ create_table_as(False, target, kmeans_long_state(states[loop_state.current], k_max)) }}
    {%- endcall -%}
    {%- for state in states -%}
        {%- do adapter.drop_relation(state) -%}
    {%- endfor -%}
    {{ run_hooks(post_hooks) }}
    {%- do adapter.commit() -%}
    {{ return({'relations': [target]}) }}
{% endmaterialization %}

{#- The state after one more Lloyd step: the fits still moving take a step (lloyd_steps + 1;
    is_moving stays true while the step changed a centroid), the others are copied as they are:
    a fit whose step returned its input would return it at every further step. -#}
{% macro kmeans_lloyd_next_state(points, previous, k_max) -%}
    {%- set centroid_columns = [] -%}
    {%- set changed = [] -%}
    {%- for j in range(1, k_max + 1) -%}
        {%- for feature in kmeans_features() -%}
            {%- set column = kmeans_centroid(j, feature) -%}
            {%- do centroid_columns.append(column) -%}
            {%- do changed.append("not coalesce(stepped." ~ column ~ " = previous." ~ column ~ ", stepped." ~ column ~ " is null and previous." ~ column ~ " is null)") -%}
        {%- endfor -%}
    {%- endfor -%}
    select
        stepped.init_number,
        stepped.k,
        {%- for column in centroid_columns %}
        stepped.{{ column }},
        {%- endfor %}
        previous.lloyd_steps + 1 as lloyd_steps,
        ({{ changed | join('
            or ') }}) as is_moving
    from ({{ kmeans_lloyd_step(points, '(select * from ' ~ previous ~ ' where is_moving)', k_max) }}) as stepped
    inner join {{ previous }} as previous
        on stepped.init_number = previous.init_number and stepped.k = previous.k
    union all
    select
        init_number,
        k,
        {%- for column in centroid_columns %}
        {{ column }},
        {%- endfor %}
        lloyd_steps,
        is_moving
    from {{ previous }}
    where not is_moving
{%- endmacro %}

{#- The wide state back in long form: one row per fit (init_number, k) and cluster_number
    (j <= k), one column per model feature, with the fit's lloyd_steps and is_converged. -#}
{% macro kmeans_long_state(state, k_max) -%}
    select
        state.init_number,
        state.k,
        clusters.cluster_number,
        {%- for feature in kmeans_features() %}
        case clusters.cluster_number
            {%- for j in range(1, k_max + 1) %}
            when {{ j }} then state.{{ kmeans_centroid(j, feature) }}
            {%- endfor %}
        end as {{ feature }},
        {%- endfor %}
        state.lloyd_steps,
        not state.is_moving as is_converged
    from {{ state }} as state
    cross join ({{ kmeans_numbers('cluster_number', range(1, k_max + 1)) }}
    ) as clusters
    where clusters.cluster_number <= state.k
{%- endmacro %}
