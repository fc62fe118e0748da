select * from {{ ref('fct_segment_centroid_history') }}
