{{ config(materialized='kmeans_lloyd', kmeans_points='int_kmeans_sweep_customers',
          kmeans_iterations=kmeans_whole_var('segmentation_sql_kmeans_iterations')) }}
{#- Lloyd's K-Means for every k of the sweep and every restart at once, on the sweep's
    customers: this SQL is the starting state, the k-means++ seeds (the first k seeds for k),
    and the kmeans_lloyd materialization moves the centroids step by step until they stop. -#}
-- depends_on: {{ ref('int_kmeans_sweep_customers') }}
{%- set k_max = kmeans_k_max() %}

with

seeds as (
    select
        init_number,
        seed_number as cluster_number,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_seeds') }}
),

k_values as (
    {{ kmeans_numbers('k', kmeans_k_values()) }}
),

final as (
    select
        seeds_wide.init_number,
        k_values.k,
        {%- for j in range(1, k_max + 1) %}
        {%- set outer_loop = loop %}
        {%- for feature in kmeans_features() %}
        case when {{ j }} <= k_values.k then seeds_wide.{{ kmeans_centroid(j, feature) }} end
            as {{ kmeans_centroid(j, feature) }}{{ ',' if not (loop.last and outer_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from ({{ kmeans_wide_state('seeds', ['init_number'], k_max) }}) as seeds_wide
    cross join k_values
)

select * from final
