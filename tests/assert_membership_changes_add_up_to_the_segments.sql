{#- The membership history kept as changes gives this build's segments: for each segment, its
    members in the last accepted build (int_segment_run_segments), less the changed customers
    who were in it then, plus those in it now, are this build's members, with the same net
    revenue to the last decimal; and the member count int_segment_membership_runs keeps is the
    sum of the segments'. A daily build compares only the customers with a line judged or a
    score computed since the last accepted build: this fails when another customer's row moved
    (a stored table edited by hand, or a case the comparison misses): then build once with var
    membership_changes_compare_all: true, which compares every customer. -#}

with

run as (
    select run_id from {{ ref('int_segment_run') }}
),

previous_run as (
    select membership_runs.run_id
    from {{ ref('int_segment_membership_runs') }} as membership_runs
    where membership_runs.run_id in {{ accepted_run_ids() }}
        and membership_runs.run_id not in (select run_id from run)
    order by membership_runs.run_at desc, membership_runs.run_id desc
    limit 1
),

changes as (
    select *
    from {{ ref('int_segment_membership_changes') }}
    where run_id in (select run_id from run)
),

movements as (
    select segment_id, customers, net_revenue
    from {{ ref('int_segment_run_segments') }}
    where run_id in (select run_id from previous_run)
    union all
    select previous_segment_id, -1, -previous_net_spending
    from changes
    where had_previous
    union all
    select segment_id, 1, net_spending
    from changes
    where is_member
),

from_changes as (
    select segment_id, sum(customers) as customers, sum(net_revenue) as net_revenue
    from movements
    group by segment_id
),

this_build as (
    select segment_id, customers, net_revenue
    from {{ ref('int_segment_run_segments') }}
    where run_id in (select run_id from run)
),

segment_differences as (
    select
        'segment ' || cast(coalesce(this_build.segment_id, from_changes.segment_id) as {{ dbt.type_string() }})
            as what,
        coalesce(from_changes.customers, 0) as from_changes,
        coalesce(this_build.customers, 0) as in_this_build,
        coalesce(from_changes.net_revenue, 0) as net_revenue_from_changes,
        coalesce(this_build.net_revenue, 0) as net_revenue_in_this_build
    from from_changes
    full outer join this_build on from_changes.segment_id = this_build.segment_id
    where coalesce(from_changes.customers, 0) <> coalesce(this_build.customers, 0)
        or coalesce(from_changes.net_revenue, 0) <> coalesce(this_build.net_revenue, 0)
),

count_difference as (
    select
        'members in int_segment_membership_runs' as what,
        membership_runs.customers as from_changes,
        (select coalesce(sum(customers), 0) from this_build) as in_this_build,
        cast(null as decimal(38, 4)) as net_revenue_from_changes,
        cast(null as decimal(38, 4)) as net_revenue_in_this_build
    from {{ ref('int_segment_membership_runs') }} as membership_runs
    where membership_runs.run_id in (select run_id from run)
        and membership_runs.customers <> (select coalesce(sum(customers), 0) from this_build)
)

select * from segment_differences
union all
select * from count_difference
