{#- k-means++ seeds of every restart (var segmentation_sweep_n_init, as the Python sweep) for the
    largest k of the sweep, drawn from the sweep's customers; the first k seeds seed a fit with k
    clusters. -#}
{%- set n_init = kmeans_whole_var('segmentation_sweep_n_init') -%}
{%- set random_state = kmeans_whole_var('segmentation_random_state', 0) -%}
{%- set k_max = kmeans_k_max() -%}
{%- do kmeans_check_enough_customers(ref('int_kmeans_sweep_customers'), k_max) %}

with

sweep_customers as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_sweep_customers') }}
),

inits as (
    {{ kmeans_numbers('init_number', range(1, n_init + 1)) }}
),

{{ kmeans_plus_plus('sweep_customers', 'inits', k_max, random_state) }}

final as (
    select
        init_number,
        seed_number,
        customer_id,
        {{ kmeans_feature_list() }}
    from seeding_{{ k_max }}
    where seed_number is not null
)

select * from final
