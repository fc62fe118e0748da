select * from {{ ref('fct_segment_history') }}
