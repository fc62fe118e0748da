{{ config(materialized='kmeans_lloyd', kmeans_points='int_segment_training_set',
          kmeans_iterations=kmeans_whole_var('segmentation_sql_kmeans_iterations')) }}
{#- The fit at the chosen k on the whole training set. This SQL is where the centroids start:
    the sweep's best fit at that k; the kmeans_lloyd materialization moves them step by step
    until they stop. -#}
-- depends_on: {{ ref('int_segment_training_set') }}

with

chosen as (
    select k
    from {{ ref('int_segment_k_sweep') }}
    where is_chosen
),

final as (
    select
        sweep_fits.init_number,
        sweep_fits.k,
        sweep_fits.cluster_number,
        {{ kmeans_feature_list('sweep_fits.') }}
    from {{ ref('int_kmeans_sweep_fits') }} as sweep_fits
    inner join chosen on sweep_fits.k = chosen.k
    where sweep_fits.is_best_init
)

select * from final
