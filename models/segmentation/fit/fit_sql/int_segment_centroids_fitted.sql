{#- The SQL path's fit at the chosen k on the whole training set: Lloyd iterations seeded with
    the sweep's best centroids at that k. Segments are numbered 1..k by size, largest first
    (ties by centroid), like segmentation.tables.centroids_table; used features only. -#}
{%- set k_max = kmeans_k_max() -%}
{%- set iterations = kmeans_whole_var('segmentation_sql_kmeans_iterations') -%}
{%- set features = kmeans_features() %}

with

training_set as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_segment_training_set') }}
),

chosen as (
    select k
    from {{ ref('int_segment_k_sweep') }}
    where is_chosen
),

sweep_fits as (
    select
        init_number,
        k,
        cluster_number,
        {%- for feature in features %}
        {{ feature }},
        {%- endfor %}
        is_best_init
    from {{ ref('int_kmeans_sweep_fits') }}
),

seeds as (
    select sweep_fits.*
    from sweep_fits
    inner join chosen on sweep_fits.k = chosen.k
    where sweep_fits.is_best_init
),

seeded as (
    {{ kmeans_wide_state('seeds', ['init_number', 'k'], k_max) }}
),

{{ kmeans_lloyd('training_set', 'seeded', k_max, iterations) }}

fitted as (
    {{ kmeans_summary('training_set', 'lloyd_' ~ iterations, k_max) }}
),

numbered as (
    select
        fitted.*,
        row_number() over (
            order by
                fitted.customers desc
                {%- for feature in features %},
                fitted.{{ feature }}
                {%- endfor %}
        ) as segment_id
    from fitted
),

scaling as (
    select feature, feature_position
    from {{ ref('int_segment_feature_scaling') }}
    where is_used
),

final as (
    select
        cast(numbered.segment_id as bigint) as segment_id,
        scaling.feature,
        case scaling.feature
            {%- for feature in features %}
            when '{{ feature }}' then numbered.{{ feature }}
            {%- endfor %}
        end as centroid,
        cast(numbered.customers as bigint) as customers_in_sample
    from numbered
    cross join scaling
)

select * from final
