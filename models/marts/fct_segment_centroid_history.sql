{#- Every stored model: centroids with their stable ids and the scaling, per fit, so any
    past fit can be inspected or applied again. -#}

with

history as (
    select * from {{ stored_model_history() }}
),

final as (
    select
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(fit_number as bigint) as fit_number,
        cast(fitted_at as timestamp) as fitted_at,
        cast(segment_id as bigint) as segment_id,
        cast(feature as {{ dbt.type_string() }}) as feature,
        cast(feature_position as integer) as feature_position,
        cast(transform as {{ dbt.type_string() }}) as transform,
        cast(is_used as boolean) as is_used,
        cast(centroid as double) as centroid_model_space,
        cast(coalesce(impute, 'none') as {{ dbt.type_string() }}) as impute,
        cast(impute_value as double) as impute_value,
        cast(clip_lower as double) as clip_lower,
        cast(clip_upper as double) as clip_upper,
        cast(center as double) as center,
        cast(scale as double) as scale,
        cast(customers_in_sample as bigint) as customers_in_sample,
        cast(matched_distance as double) as matched_distance,
        cast(id_assignment as {{ dbt.type_string() }}) as id_assignment
    from history
)

select * from final
