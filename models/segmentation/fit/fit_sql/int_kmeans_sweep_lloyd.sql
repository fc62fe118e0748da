{{ config(materialized='kmeans_lloyd', kmeans_points='int_kmeans_sweep_customers',
          kmeans_iterations=kmeans_whole_var('segmentation_sql_kmeans_iterations')) }}
{#- Lloyd's K-Means for every k of the sweep and every restart at once, on the sweep's
    customers. This SQL is where the centroids start: each restart's k-means++ seeds, the first
    k of them for k; the kmeans_lloyd materialization moves them step by step until they stop. -#}
-- depends_on: {{ ref('int_kmeans_sweep_customers') }}

with

seeds as (
    select
        init_number,
        seed_number,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_seeds') }}
),

k_values as (
    {{ kmeans_numbers('k', kmeans_k_values()) }}
),

final as (
    select
        seeds.init_number,
        k_values.k,
        seeds.seed_number as cluster_number,
        {{ kmeans_feature_list('seeds.') }}
    from seeds
    inner join k_values on seeds.seed_number <= k_values.k
)

select * from final
