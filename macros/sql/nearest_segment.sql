{#- The nearest segment of every customer, from `distances` (customer_id, segment_id,
    distance_to_centroid): one row per customer, ties to the lower segment_id. An aggregate
    per customer rather than a window ranking every customer x segment row. -#}
{% macro nearest_segment(distances) -%}
    {{ return(adapter.dispatch('nearest_segment', 'segmentation')(distances)) }}
{%- endmacro %}

{% macro default__nearest_segment(distances) -%}
    select
        {{ distances }}.customer_id,
        min({{ distances }}.segment_id) as segment_id,
        min({{ distances }}.distance_to_centroid) as distance_to_centroid
    from {{ distances }}
    inner join (
        select customer_id, min(distance_to_centroid) as nearest_distance
        from {{ distances }}
        group by customer_id
    ) as nearest
        on {{ distances }}.customer_id = nearest.customer_id
        and {{ distances }}.distance_to_centroid = nearest.nearest_distance
    group by {{ distances }}.customer_id
{%- endmacro %}

{#- One pass: the segment at the smallest (distance, segment_id) pair. -#}
{% macro duckdb__nearest_segment(distances) -%}
    select
        customer_id,
        arg_min(segment_id, row(distance_to_centroid, segment_id)) as segment_id,
        min(distance_to_centroid) as distance_to_centroid
    from {{ distances }}
    group by customer_id
{%- endmacro %}
