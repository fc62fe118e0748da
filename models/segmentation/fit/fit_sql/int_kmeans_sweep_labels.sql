{#- Every sweep customer's cluster at every k, from the best restart's centroids: the labels
    the sweep's quality metrics are computed on. -#}
{%- set k_max = kmeans_k_max() %}

with

sweep_customers as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_sweep_customers') }}
),

best_fits as (
    select
        init_number,
        k,
        cluster_number,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_sweep_fits') }}
    where is_best_init
),

best_state as (
    {{ kmeans_wide_state('best_fits', ['init_number', 'k'], k_max) }}
),

assigned as (
    {{ kmeans_assign('sweep_customers', 'best_state', k_max) }}
),

final as (
    select
        customer_id,
        k,
        cluster_number,
        nearest_distance as squared_distance
    from assigned
)

select * from final
