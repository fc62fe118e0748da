{#- publish_membership_rows holds this build's members: every row carries this build's run, and
    its rows per segment (id and name) are the segment's customers and net revenue as the build
    sized them (int_segment_run_segments). On DuckDB a build applies its changes to the rows the
    build before left (macros/sql/membership_rows.sql): this fails when the rows left were not
    that build's (rows missing, kept twice, or of another run) or a rename missed a row. -#}

with

run as (
    select run_id from {{ ref('int_segment_run') }}
),

rows_by_segment as (
    select run_id, segment_id, segment_name, count(*) as customers, sum(net_spending) as net_revenue
    from {{ ref('publish_membership_rows') }}
    group by run_id, segment_id, segment_name
),

this_build as (
    select run_id, segment_id, segment_name, customers, net_revenue
    from {{ ref('int_segment_run_segments') }}
    where run_id in (select run_id from run)
),

final as (
    select
        coalesce(rows_by_segment.run_id, this_build.run_id) as run_id,
        coalesce(rows_by_segment.segment_id, this_build.segment_id) as segment_id,
        coalesce(rows_by_segment.segment_name, this_build.segment_name) as segment_name,
        coalesce(rows_by_segment.customers, 0) as customers_in_rows,
        coalesce(this_build.customers, 0) as customers_in_this_build,
        rows_by_segment.net_revenue as net_revenue_in_rows,
        this_build.net_revenue as net_revenue_in_this_build
    from rows_by_segment
    full outer join this_build
        on rows_by_segment.run_id = this_build.run_id
        and rows_by_segment.segment_id = this_build.segment_id
        and rows_by_segment.segment_name = this_build.segment_name
    where rows_by_segment.run_id is null
        or this_build.run_id is null
        or rows_by_segment.customers <> this_build.customers
        or coalesce(rows_by_segment.net_revenue, 0) <> coalesce(this_build.net_revenue, 0)
)

select * from final
