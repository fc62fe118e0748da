{#- The customers the SQL k sweep fits on: the whole training set up to
    segmentation_sweep_sample_size, beyond that a fixed pseudo-random subset (hash order); a
    second hash order pins the silhouette's sample among them. -#}
{%- do segmentation_fit_engine() -%}
{%- set sweep_size = kmeans_whole_var('segmentation_sweep_sample_size') -%}
{%- set silhouette_size = kmeans_whole_var('segmentation_sql_silhouette_sample_size') -%}
{%- set random_state = kmeans_whole_var('segmentation_random_state', 0) %}

with

training_set as (
    select
        customer_id,
        {{ kmeans_feature_list() }}
    from {{ ref('int_segment_training_set') }}
),

swept as (
    select *
    from training_set
    order by {{ dbt.hash(dbt.concat(['customer_id', "'|sweep|" ~ random_state ~ "'"])) }}, customer_id
    limit {{ sweep_size }}
),

final as (
    select
        swept.*,
        row_number() over (
            order by
                {{ dbt.hash(dbt.concat(['customer_id', "'|silhouette|" ~ random_state ~ "'"])) }},
                swept.customer_id
        ) <= {{ silhouette_size }} as is_in_silhouette_sample
    from swept
)

select * from final
