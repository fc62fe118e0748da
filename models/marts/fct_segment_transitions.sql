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

memberships as (
    select run_id, customer_id, segment_id, segment_name, net_spending
    from {{ ref('fct_segment_memberships') }}
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

-- one comparison of members per distinct from build: when both comparisons start at the same
-- build (the first build after a fit), the latest build's members are joined once, not twice.
-- A from build is joined by a small number and the moves are counted by segment id, the names
-- added after: at 10M customers joining and grouping on the run ids and names took 1.6 times as
-- long (docs/benchmarks_daily_notes.md)
from_runs as (
    select
        from_run_id,
        row_number() over (order by from_run_id) as from_number
    from (select distinct from_run_id from run_pairs) as distinct_from_runs
),

from_members as (
    select
        from_runs.from_number,
        memberships.customer_id,
        memberships.segment_id,
        memberships.net_spending
    from memberships
    inner join from_runs on memberships.run_id = from_runs.from_run_id
),

to_members as (
    select
        from_runs.from_number,
        memberships.customer_id,
        memberships.segment_id,
        memberships.net_spending
    from memberships
    inner join latest on memberships.run_id = latest.run_id
    cross join from_runs
),

moves as (
    select
        coalesce(from_members.from_number, to_members.from_number) as from_number,
        from_members.segment_id as from_segment_id,
        to_members.segment_id as to_segment_id,
        coalesce(to_members.net_spending, from_members.net_spending) as net_spending
    from from_members
    full outer join to_members
        on from_members.from_number = to_members.from_number
        and from_members.customer_id = to_members.customer_id
),

pairs as (
    select
        from_number,
        from_segment_id,
        to_segment_id,
        count(*) as customers,
        sum(net_spending) as net_revenue
    from moves
    group by from_number, from_segment_id, to_segment_id
),

-- each compared build's segment names, as its members have them (one per segment: were there
-- two, the pair would appear twice and fail the unique test of comparison and segments)
segment_names as (
    select
        run_id,
        segment_id,
        segment_name
    from memberships
    where run_id in (
        select from_runs.from_run_id from from_runs
        union all
        select latest.run_id from latest
    )
    group by run_id, segment_id, segment_name
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
