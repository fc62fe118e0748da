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

changes as (
    select *
    from {{ ref('int_segment_membership_changes') }}
    where run_id in (select run_id from runs)
),

ranked as (
    select
        runs.run_id,
        runs.run_at,
        changes.customer_id,
        changes.is_member,
        changes.segment_id,
        changes.segment_name,
        changes.distance_to_centroid,
        changes.net_spending,
        changes.feature_hash,
        row_number() over (
            partition by runs.run_id, changes.customer_id
            order by changes.run_at desc, changes.run_id desc
        ) as change_recency
    from runs
    inner join changes
        on changes.run_at < runs.run_at
        or (changes.run_at = runs.run_at and changes.run_id <= runs.run_id)
),

segment_names as (
    select run_id, segment_id, segment_name from {{ ref('int_segment_run_segments') }}
),

final as (
    select
        ranked.run_id,
        ranked.run_at,
        ranked.customer_id,
        ranked.segment_id,
        coalesce(segment_names.segment_name, ranked.segment_name) as segment_name,
        ranked.distance_to_centroid,
        ranked.net_spending,
        ranked.feature_hash
    from ranked
    left join segment_names
        on ranked.run_id = segment_names.run_id
        and ranked.segment_id = segment_names.segment_id
    where ranked.change_recency = 1 and ranked.is_member
)

select * from final
