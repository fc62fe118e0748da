select * from {{ ref('dim_segment_profiles') }}
