{#- Each restart's clusters at every k of the sweep after Lloyd's steps (int_kmeans_sweep_lloyd):
    the centroids, their customers and the restart's inertia; the restart with the lowest
    inertia is each k's best (ties to the lower init_number). -#}
{%- set k_max = kmeans_k_max() %}

with

sweep_customers as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_sweep_customers') }}
),

lloyd as (
    {{ kmeans_wide_state(ref('int_kmeans_sweep_lloyd'), ['init_number', 'k'], k_max) }}
),

fitted as (
    {{ kmeans_summary('sweep_customers', 'lloyd', k_max) }}
),

final as (
    select
        init_number,
        k,
        cluster_number,
        {%- for feature in kmeans_features() %}
        {{ feature }},
        {%- endfor %}
        customers,
        inertia,
        init_number = first_value(init_number) over (partition by k order by inertia, init_number) as is_best_init
    from fitted
)

select * from final
