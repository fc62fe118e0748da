{#- Lloyd's K-Means for every k of the sweep and every restart at once, on the sweep's
    customers, from the k-means++ seeds; the restart with the lowest inertia is each k's best
    (ties to the lower init_number). -#}
{%- set k_values = kmeans_k_values() -%}
{%- set k_max = kmeans_k_max() -%}
{%- set iterations = kmeans_whole_var('segmentation_sql_kmeans_iterations') %}

with

sweep_customers as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_sweep_customers') }}
),

seeds as (
    select
        init_number,
        seed_number as cluster_number,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_seeds') }}
),

k_values as (
    {{ kmeans_numbers('k', k_values) }}
),

seeded as (
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
),

{{ kmeans_lloyd('sweep_customers', 'seeded', k_max, iterations) }}

fitted as (
    {{ kmeans_summary('sweep_customers', 'lloyd_' ~ iterations, k_max) }}
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
