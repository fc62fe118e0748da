{#- Customers moving between segments, from an earlier accepted build to the latest, one row per
    comparison and (from, to) pair. since_last_build: from the last accepted build before the
    latest (fit or score); since_last_fit: from the last accepted fit build before it (in a score
    build, the fit whose model it applies). A rejected, failed or interrupted build is never a
    from. A customer new in the latest build has no from segment; one gone from it has no to
    segment. Empty after the first build. -#}

with

registry as (
    select run_id, run_at, segmentation_mode, status, is_latest
    from {{ ref('fct_segment_model_runs') }}
),

changes as (
    select
        run_id,
        run_at,
        customer_id,
        is_member,
        segment_id,
        net_spending,
        had_previous,
        previous_segment_id,
        previous_net_spending
    from {{ ref('int_segment_membership_changes') }}
),

run_segments as (
    select run_id, segment_id, segment_name, customers, net_revenue
    from {{ ref('int_segment_run_segments') }}
),

latest as (
    select run_id, run_at from registry where is_latest
),

earlier_accepted as (
    select
        registry.run_id,
        registry.run_at,
        registry.segmentation_mode
    from registry
    cross join latest
    where registry.status = 'accepted'
        and registry.run_id <> latest.run_id
        and registry.run_at <= latest.run_at
),

candidates as (
    select
        'since_last_build' as comparison,
        run_id,
        row_number() over (order by run_at desc, run_id desc) as runs_ago
    from earlier_accepted
    union all
    select
        'since_last_fit' as comparison,
        run_id,
        row_number() over (order by run_at desc, run_id desc) as runs_ago
    from earlier_accepted
    where segmentation_mode = 'fit'
),

run_pairs as (
    select
        candidates.comparison,
        candidates.run_id as from_run_id,
        latest.run_id as to_run_id
    from candidates
    cross join latest
    where candidates.runs_ago = 1
),

-- one comparison per distinct from build: when both comparisons start at the same build (the
-- first build after a fit), it is counted once, and the moves are counted by segment id and a
-- small number for the from build, the names added after (docs/benchmarks_daily_notes.md)
from_runs as (
    select
        distinct_from_runs.from_run_id,
        registry.run_at as from_run_at,
        row_number() over (order by distinct_from_runs.from_run_id) as from_number
    from (select distinct from_run_id from run_pairs) as distinct_from_runs
    inner join registry on distinct_from_runs.from_run_id = registry.run_id
),

-- the moves from the membership changes (int_segment_membership_changes): the change rows of
-- the accepted builds after the from build, up to the latest. A customer without one kept
-- their segment and net spending; one with some was in the from build as their first change
-- row's previous values say, and is in the latest as their last one says.
changes_since as (
    select
        from_runs.from_number,
        changes.*
    from changes
    cross join from_runs
    cross join latest
    where (
        changes.run_id in (select earlier_accepted.run_id from earlier_accepted)
        or changes.run_id = latest.run_id
    )
        and (changes.run_at > from_runs.from_run_at
            or (changes.run_at = from_runs.from_run_at and changes.run_id > from_runs.from_run_id))
        and (changes.run_at < latest.run_at
            or (changes.run_at = latest.run_at and changes.run_id <= latest.run_id))
),

-- each changed customer's first change row (first_by on run_at: builds hold a lock, so no two
-- start at the same microsecond) and last one, column by column
changed_customers as (
    select
        from_number,
        customer_id,
        {{ first_by('had_previous', 'run_at') }} as had_previous,
        {{ first_by('previous_segment_id', 'run_at') }} as previous_segment_id,
        {{ first_by('previous_net_spending', 'run_at') }} as previous_net_spending,
        {{ last_by('is_member', 'run_at') }} as is_member,
        {{ last_by('segment_id', 'run_at') }} as segment_id,
        {{ last_by('net_spending', 'run_at') }} as net_spending
    from changes_since
    group by from_number, customer_id
),

changed_moves as (
    select
        from_number,
        case when had_previous then previous_segment_id end as from_segment_id,
        case when is_member then segment_id end as to_segment_id,
        case when is_member then net_spending else previous_net_spending end as net_spending
    from changed_customers
    -- not a customer who came and went between the two builds
    where had_previous or is_member
),

-- the from build's members of each segment who have no change row: they stayed, with the same
-- net spending (exact: counts and decimal sums)
leavers as (
    select
        from_number,
        from_segment_id as segment_id,
        count(*) as customers,
        sum(net_revenue_before) as net_revenue
    from (
        select from_number, previous_segment_id as from_segment_id, previous_net_spending as net_revenue_before
        from changed_customers
        where had_previous
    ) as changed_before
    group by from_number, from_segment_id
),

stayed as (
    select
        from_runs.from_number,
        run_segments.segment_id as from_segment_id,
        run_segments.segment_id as to_segment_id,
        run_segments.customers - coalesce(leavers.customers, 0) as customers,
        run_segments.net_revenue - coalesce(leavers.net_revenue, 0) as net_revenue
    from run_segments
    inner join from_runs on run_segments.run_id = from_runs.from_run_id
    left join leavers
        on from_runs.from_number = leavers.from_number
        and run_segments.segment_id = leavers.segment_id
),

pairs as (
    select
        from_number,
        from_segment_id,
        to_segment_id,
        cast(sum(customers) as bigint) as customers,
        sum(net_revenue) as net_revenue
    from (
        select from_number, from_segment_id, to_segment_id, customers, net_revenue
        from stayed
        where customers > 0
        union all
        select from_number, from_segment_id, to_segment_id, count(*) as customers, sum(net_spending) as net_revenue
        from changed_moves
        group by from_number, from_segment_id, to_segment_id
    ) as counted
    group by from_number, from_segment_id, to_segment_id
),

-- each compared build's segment names, as the build gave them
segment_names as (
    select run_id, segment_id, segment_name from run_segments
),

final as (
    select
        cast(run_pairs.comparison as {{ dbt.type_string() }}) as comparison,
        run_pairs.from_run_id,
        run_pairs.to_run_id,
        pairs.from_segment_id,
        from_names.segment_name as from_segment_name,
        pairs.to_segment_id,
        to_names.segment_name as to_segment_name,
        pairs.customers,
        pairs.net_revenue
    from pairs
    inner join from_runs on pairs.from_number = from_runs.from_number
    inner join run_pairs on from_runs.from_run_id = run_pairs.from_run_id
    left join segment_names as from_names
        on run_pairs.from_run_id = from_names.run_id
        and pairs.from_segment_id = from_names.segment_id
    left join segment_names as to_names
        on run_pairs.to_run_id = to_names.run_id
        and pairs.to_segment_id = to_names.segment_id
)

select * from final
