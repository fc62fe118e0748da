{{ config(severity=var('segment_quality_gate_severity')) }}
{#- Quality gate: of the customers whose model features did not change since the previous
    build, at most var segment_max_changed_share moved to another segment. -#}

with

ranked_runs as (
    select run_id, row_number() over (order by run_at desc, run_id desc) as runs_ago
    from {{ ref('fct_segment_model_runs') }}
    -- the previous build is the last accepted one: a rejected build's segments never went live
    where status = 'accepted' or is_latest
),

memberships as (
    select memberships.customer_id, memberships.segment_id, memberships.feature_hash, ranked_runs.runs_ago
    from {{ ref('fct_segment_memberships') }} as memberships
    inner join ranked_runs on memberships.run_id = ranked_runs.run_id
    where ranked_runs.runs_ago <= 2
),

unchanged as (
    select
        count(*) as customers,
        sum(case when latest.segment_id <> previous.segment_id then 1 else 0 end) as moved
    from memberships as latest
    inner join memberships as previous
        on latest.customer_id = previous.customer_id
        and latest.feature_hash = previous.feature_hash
    where latest.runs_ago = 1 and previous.runs_ago = 2
)

select customers, moved, cast(moved as double) / customers as moved_share
from unchanged
where customers > 0
    and cast(moved as double) / customers > {{ var('segment_max_changed_share') | float }}
