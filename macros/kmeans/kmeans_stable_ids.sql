{#- Stable ids on the SQL path: the greedy matching of new to previous centroids, and the text
    of the retired ids. -#}

{#- CTEs <name>_0 .. <name>_<steps> over `candidates` (segment_id, previous_segment_id,
    distance): each step takes the closest pair whose two ends are both still free (ties to the
    lower ids) and blocks the other pairs of those ends. matched_at: the step that matched the
    pair, -1 blocked, 0 open. scipy's optimal assignment minimises the total distance instead;
    the two agree whenever each new centroid's closest previous one is distinct. -#}
{% macro kmeans_greedy_matching(candidates, steps, name='matching') -%}
    {%- set pick_window = 'over (order by case when matched_at = 0 then 0 else 1 end, distance, segment_id, previous_segment_id)' %}
{{ name }}_0 as (
    select segment_id, previous_segment_id, distance, 0 as matched_at
    from {{ candidates }}
),
    {%- for step in range(1, steps + 1) %}

{{ name }}_{{ step }} as (
    select
        segment_id,
        previous_segment_id,
        distance,
        case
            when matched_at <> 0 or pick_state <> 0 then matched_at
            when segment_id = pick_segment_id and previous_segment_id = pick_previous_segment_id then {{ step }}
            when segment_id = pick_segment_id or previous_segment_id = pick_previous_segment_id then -1
            else 0
        end as matched_at
    from (
        select
            previous_step.segment_id,
            previous_step.previous_segment_id,
            previous_step.distance,
            previous_step.matched_at,
            first_value(segment_id) {{ pick_window }} as pick_segment_id,
            first_value(previous_segment_id) {{ pick_window }} as pick_previous_segment_id,
            first_value(matched_at) {{ pick_window }} as pick_state
        from {{ name }}_{{ step - 1 }} as previous_step
    ) as picked
),
    {%- endfor %}
{%- endmacro %}

{#- Whole numbers aggregated as text in ascending order, '1, 3, 12' (an ordered string
    aggregate is spelt differently by each engine). -#}
{% macro kmeans_ordered_id_list(column) -%}
    {{ return(adapter.dispatch('kmeans_ordered_id_list')(column)) }}
{%- endmacro %}

{% macro default__kmeans_ordered_id_list(column) -%}
    string_agg(cast({{ column }} as {{ dbt.type_string() }}), ', ' order by {{ column }})
{%- endmacro %}

{% macro spark__kmeans_ordered_id_list(column) -%}
    concat_ws(', ', transform(array_sort(collect_list({{ column }})), id -> cast(id as string)))
{%- endmacro %}
