{{ config(severity=var('segment_quality_gate_severity')) }}
{#- Quality gate: the fitted k separates customers at least as well as var
    segment_silhouette_floor (mean silhouette on a sample; not defined for k = 1). -#}
select run_id, k, silhouette
from {{ ref('fct_segment_model_runs') }}
where is_latest
    and k > 1
    and silhouette < {{ var('segment_silhouette_floor') | float }}
