{#- The SQL path's fit at the chosen k on the whole training set (int_kmeans_final_lloyd's
    centroids, their customers). Segments are numbered 1..k by size, largest first
    (ties by centroid), like segmentation.tables.centroids_table; used features only. -#}
{%- set k_max = kmeans_k_max() -%}
{%- set features = kmeans_features() %}

with

training_set as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_segment_training_set') }}
),

lloyd as (
    {{ kmeans_wide_state(ref('int_kmeans_final_lloyd'), ['init_number', 'k'], k_max) }}
),

fitted as (
    {{ kmeans_summary('training_set', 'lloyd', k_max) }}
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
