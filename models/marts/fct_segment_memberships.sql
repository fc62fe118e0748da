{{ config(materialized='view') }}
{#- The membership history: every customer's segment in every accepted build (and the running
    build's), with a hash of the model features so a later build can tell customers whose data
    did not change. A view of the history kept as changes (int_segment_membership_changes, one
    row per build in int_segment_membership_runs): for each build, every customer's last change
    at or before it, when it says member. The segment's name is the one the build gave it
    (int_segment_run_segments). Read one build at a time (`where run_id = ...`): the whole
    history is every customer in every build. -#}

with

-- accepted builds, and the running one
runs as (
    select run_id, run_at
    from {{ ref('int_segment_membership_runs') }}
    where run_id in {{ visible_run_ids() }}
),

-- (the visible runs again, not a semi-join with runs: with it, a build's rows took 7 s at 10M
-- customers, against 2.5 s)
changes as (
    select *
    from {{ ref('int_segment_membership_changes') }}
    where run_id in {{ visible_run_ids() }}
),

-- each build's customers: for every customer, their last change at or before the build. Its
-- time first, then its row joined back by customer and time (one build at a time holds the
-- lock, so no two builds start at the same microsecond): at 10M customers a build's rows took
-- 2.7 s so, 7.0 s taking every column with arg_max (docs/benchmarks_daily_notes.md)
last_change_times as (
    select
        runs.run_id,
        runs.run_at,
        changes.customer_id,
        max(changes.run_at) as changed_at
    from runs
    inner join changes on runs.run_at >= changes.run_at
    group by runs.run_id, runs.run_at, changes.customer_id
),

last_changes as (
    select
        last_change_times.run_id,
        last_change_times.run_at,
        changes.customer_id,
        changes.is_member,
        changes.segment_id,
        changes.segment_name,
        changes.distance_to_centroid,
        changes.net_spending,
        changes.feature_hash
    from last_change_times
    inner join changes
        on last_change_times.customer_id = changes.customer_id
        and last_change_times.changed_at = changes.run_at
),

segment_names as (
    select run_id, segment_id, segment_name from {{ ref('int_segment_run_segments') }}
),

final as (
    select
        last_changes.run_id,
        last_changes.run_at,
        last_changes.customer_id,
        last_changes.segment_id,
        coalesce(segment_names.segment_name, last_changes.segment_name) as segment_name,
        last_changes.distance_to_centroid,
        last_changes.net_spending,
        last_changes.feature_hash
    from last_changes
    left join segment_names
        on last_changes.run_id = segment_names.run_id
        and last_changes.segment_id = segment_names.segment_id
    where last_changes.is_member
)

select * from final
