{#- Per segment and customer feature: mean and median in the feature's units, and the same over
    all customers. Long form (one row per segment and feature), so every customer feature is
    here, a new one included, without a column per feature in the contract. -#}

with

feature_stats as (
    select * from {{ ref('int_segment_feature_stats') }}
),

segments as (
    select segment_id, segment_name from {{ ref('int_segments_named') }}
),

-- each feature's position (the order of dim_customers' columns) and whether it is money
features as (
    {%- for feature in customer_feature_definitions() %}
    select
        '{{ feature.name }}' as feature,
        {{ loop.index }} as feature_position,
        {{ 'true' if feature.money else 'false' }} as is_money
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        cast(feature_stats.segment_id as bigint) as segment_id,
        segments.segment_name,
        feature_stats.feature,
        cast(features.feature_position as integer) as feature_position,
        features.is_money,
        feature_stats.mean_value,
        feature_stats.median_value,
        feature_stats.overall_mean_value,
        feature_stats.overall_median_value
    from feature_stats
    inner join segments on feature_stats.segment_id = segments.segment_id
    inner join features on feature_stats.feature = features.feature
)

select * from final
