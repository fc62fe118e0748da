{#- The model every customer was scored with, as data: per segment and model feature, the
    centroid in model space and in original units, with the scaling between them. -#}

with

model as (
    select * from {{ ref('int_segment_model_current') }}
),

final as (
    select
        cast(run_id as {{ dbt.type_string() }}) as run_id,
        cast(fit_number as bigint) as fit_number,
        cast(segment_id as bigint) as segment_id,
        cast(feature as {{ dbt.type_string() }}) as feature,
        cast(feature_position as integer) as feature_position,
        cast(transform as {{ dbt.type_string() }}) as transform,
        cast(is_used as boolean) as is_used,
        cast(centroid as double) as centroid_model_space,
        case transform
            {%- for transform in ['none', 'log1p'] %}
            when '{{ transform }}'
                then {{ inverse_transform_feature('centroid * scale + center', transform) }}
            {%- endfor %}
        end as centroid_original_units,
        cast(clip_lower as double) as clip_lower,
        cast(clip_upper as double) as clip_upper,
        cast(center as double) as center,
        cast(scale as double) as scale,
        cast(customers_in_sample as bigint) as customers_in_sample,
        cast(matched_distance as double) as matched_distance
    from model
)

select * from final
