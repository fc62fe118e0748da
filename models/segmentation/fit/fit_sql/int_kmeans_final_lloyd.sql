{{ config(materialized='kmeans_lloyd', kmeans_points='int_segment_training_set',
          kmeans_iterations=kmeans_whole_var('segmentation_sql_kmeans_iterations')) }}
{#- The fit at the chosen k on the whole training set: this SQL is the starting state, the
    sweep's best centroids at that k, and the kmeans_lloyd materialization moves them step by
    step until they stop. -#}
-- depends_on: {{ ref('int_segment_training_set') }}
{%- set k_max = kmeans_k_max() %}

with

chosen as (
    select k
    from {{ ref('int_segment_k_sweep') }}
    where is_chosen
),

seeds as (
    select sweep_fits.*
    from {{ ref('int_kmeans_sweep_fits') }} as sweep_fits
    inner join chosen on sweep_fits.k = chosen.k
    where sweep_fits.is_best_init
),

final as (
    {{ kmeans_wide_state('seeds', ['init_number', 'k'], k_max) }}
)

select * from final
