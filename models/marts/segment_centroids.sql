{#- The fitted model as data: per segment and model feature, the centroid in model space and
    in original units, with the scaling that maps one to the other. -#}

with

centroids as (
    select segment_id, feature, centroid, customers_in_sample from {{ ref('int_segment_centroids') }}
),

scaling as (
    select feature, feature_position, transform, clip_lower, clip_upper, center, scale
    from {{ ref('int_segment_feature_scaling') }}
),

final as (
    select
        cast(centroids.segment_id as bigint) as segment_id,
        cast(centroids.feature as {{ dbt.type_string() }}) as feature,
        cast(scaling.feature_position as integer) as feature_position,
        cast(scaling.transform as {{ dbt.type_string() }}) as transform,
        cast(centroids.centroid as double) as centroid_model_space,
        case scaling.transform
            {%- for transform in ['none', 'log1p'] %}
            when '{{ transform }}'
                then {{ inverse_transform_feature('centroids.centroid * scaling.scale + scaling.center', transform) }}
            {%- endfor %}
        end as centroid_original_units,
        scaling.clip_lower,
        scaling.clip_upper,
        scaling.center,
        scaling.scale,
        cast(centroids.customers_in_sample as bigint) as customers_in_sample
    from centroids
    inner join scaling on centroids.feature = scaling.feature
)

select * from final
