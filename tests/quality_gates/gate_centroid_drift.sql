{{ config(severity=var('segment_quality_gate_severity')) }}
{#- Quality gate: a segment that kept its id moved its centroid by at most
    var segment_max_centroid_drift (model-space distance to the previous fit's centroid). -#}
select distinct segment_id, matched_distance
from {{ ref('dim_segment_centroids') }}
where matched_distance > {{ var('segment_max_centroid_drift') | float }}
