{{ config(severity=var('segment_quality_gate_severity')) }}
{#- Quality gate: of the customers whose model features did not change since the previous
    build, at most var segment_max_changed_share moved to another segment.

    Counted from the latest build's membership changes (int_segment_membership_changes), which
    compare each customer with the previous accepted build: a customer with no change row kept
    segment and feature hash. The unchanged customers are the previous build's members with a
    hash (int_segment_membership_runs), less those with a change row, plus those among them
    whose hash is the same; the moved ones are among those. -#}

with

ranked_runs as (
    select
        membership_runs.run_id,
        membership_runs.customers_with_feature_hash,
        row_number() over (order by membership_runs.run_at desc, membership_runs.run_id desc) as runs_ago
    from {{ ref('int_segment_membership_runs') }} as membership_runs
    inner join {{ ref('fct_segment_model_runs') }} as registry
        on membership_runs.run_id = registry.run_id
    -- the previous build is the last accepted one: a rejected build's segments never went live
    where registry.status = 'accepted' or registry.is_latest
),

latest_changes as (
    select changes.*
    from {{ ref('int_segment_membership_changes') }} as changes
    inner join ranked_runs on changes.run_id = ranked_runs.run_id
    where ranked_runs.runs_ago = 1
),

changed as (
    select
        sum(case when had_previous and previous_feature_hash is not null then 1 else 0 end) as hashed_before,
        sum(case when had_previous and is_member and feature_hash = previous_feature_hash then 1 else 0 end)
            as hash_kept,
        sum(case when had_previous and is_member and feature_hash = previous_feature_hash
            and segment_id <> previous_segment_id then 1 else 0 end) as moved
    from latest_changes
),

unchanged as (
    select
        previous.customers_with_feature_hash - coalesce(changed.hashed_before, 0) + coalesce(changed.hash_kept, 0)
            as customers,
        coalesce(changed.moved, 0) as moved
    from ranked_runs as previous
    cross join changed
    where previous.runs_ago = 2
)

select customers, moved, cast(moved as double) / customers as moved_share
from unchanged
where customers > 0
    and cast(moved as double) / customers > {{ var('segment_max_changed_share') | float }}
