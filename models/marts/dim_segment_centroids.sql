{#- The model every customer was scored with, as data: per segment and model feature, the
    centroid in model space and in original units, with the scaling between them. -#}

with

stored_models as (
    select * from {{ ref('fct_segment_centroid_history') }}
),

current_model as (
    select distinct run_id from {{ ref('int_segment_model_current') }}
),

final as (
    select
        stored_models.run_id,
        stored_models.fit_number,
        stored_models.segment_id,
        stored_models.feature,
        stored_models.feature_position,
        stored_models.transform,
        stored_models.is_used,
        stored_models.centroid_model_space,
        case stored_models.transform
            {%- for transform in ['none', 'log1p'] %}
            when '{{ transform }}' then {{ inverse_transform_feature(
                'stored_models.centroid_model_space * stored_models.scale + stored_models.center', transform) }}
            {%- endfor %}
        end as centroid_original_units,
        stored_models.impute,
        stored_models.impute_value,
        stored_models.clip_lower,
        stored_models.clip_upper,
        stored_models.center,
        stored_models.scale,
        stored_models.customers_in_sample,
        stored_models.matched_distance
    from stored_models
    inner join current_model on stored_models.run_id = current_model.run_id
)

select * from final
