select * from {{ ref('dim_segment_feature_profiles') }}
