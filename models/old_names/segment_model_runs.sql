select * from {{ ref('fct_segment_model_runs') }}
