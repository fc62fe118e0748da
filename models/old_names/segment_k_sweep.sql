select * from {{ ref('fct_segment_k_sweep') }}
