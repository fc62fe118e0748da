{#- Customers moving between segments from the previous build to the latest: one row per
    (from, to) pair. A customer new in the latest build has no from segment; one gone from it
    has no to segment. Empty after the first build. -#}

with

ranked_runs as (
    select run_id, row_number() over (order by run_at desc, run_id desc) as runs_ago
    from {{ ref('segment_model_runs') }}
),

memberships as (
    select run_id, customer_id, segment_id, segment_name, net_spending
    from {{ ref('fct_segment_memberships') }}
),

previous_run as (
    select memberships.*
    from memberships
    inner join ranked_runs on memberships.run_id = ranked_runs.run_id and ranked_runs.runs_ago = 2
),

latest_run as (
    select memberships.*
    from memberships
    inner join ranked_runs on memberships.run_id = ranked_runs.run_id and ranked_runs.runs_ago = 1
),

run_pair as (
    select
        max(case when runs_ago = 2 then run_id end) as from_run_id,
        max(case when runs_ago = 1 then run_id end) as to_run_id
    from ranked_runs
    having max(runs_ago) >= 2
),

moves as (
    select
        previous_run.segment_id as from_segment_id,
        previous_run.segment_name as from_segment_name,
        latest_run.segment_id as to_segment_id,
        latest_run.segment_name as to_segment_name,
        coalesce(latest_run.net_spending, previous_run.net_spending) as net_spending
    from previous_run
    full outer join latest_run on previous_run.customer_id = latest_run.customer_id
),

pairs as (
    select
        from_segment_id,
        from_segment_name,
        to_segment_id,
        to_segment_name,
        count(*) as customers,
        sum(net_spending) as net_revenue
    from moves
    group by from_segment_id, from_segment_name, to_segment_id, to_segment_name
),

final as (
    select
        run_pair.from_run_id,
        run_pair.to_run_id,
        pairs.from_segment_id,
        pairs.from_segment_name,
        pairs.to_segment_id,
        pairs.to_segment_name,
        pairs.customers,
        pairs.net_revenue
    from pairs
    cross join run_pair
)

select * from final
