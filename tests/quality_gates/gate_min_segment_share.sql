{{ config(severity=var('segment_quality_gate_severity')) }}
{#- Quality gate: every segment holds at least var segment_min_share of the customers. -#}
select segment_id, segment_name, share_of_customers
from {{ ref('dim_segment_profiles') }}
where share_of_customers < {{ var('segment_min_share') | float }}
