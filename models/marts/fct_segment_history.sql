{#- Every accepted build's segments (and the latest build's): names over time, with the previous
    name when the naming rules renamed a segment, and whether the segment still exists in the
    latest build. -#}

with

registry as (
    select run_id, status, is_latest from {{ ref('fct_segment_model_runs') }}
),

-- accepted builds and the latest: a rejected, failed or interrupted build's segments never
-- were the segments, so they are no one's previous name either
run_segments as (
    select run_segments.*
    from {{ ref('int_segment_run_segments') }} as run_segments
    inner join registry on run_segments.run_id = registry.run_id
    where registry.status = 'accepted' or registry.is_latest
),

latest_run as (
    select run_id from registry where is_latest
),

with_previous as (
    select
        run_segments.*,
        lag(run_segments.segment_name) over (
            partition by run_segments.segment_id order by run_segments.run_at, run_segments.run_id
        ) as previous_segment_name
    from run_segments
),

final as (
    select
        with_previous.run_id,
        with_previous.run_at,
        with_previous.segment_id,
        with_previous.segment_name,
        with_previous.previous_segment_name,
        coalesce(with_previous.previous_segment_name <> with_previous.segment_name, false) as is_renamed,
        with_previous.naming_rule_id,
        with_previous.customers,
        {{ share_of('with_previous.customers', 'partition by with_previous.run_id') }} as share_of_customers,
        with_previous.net_revenue,
        {{ share_of('with_previous.net_revenue', 'partition by with_previous.run_id') }}
            as share_of_net_revenue,
        latest_run.run_id is not null as is_latest_run
    from with_previous
    left join latest_run on with_previous.run_id = latest_run.run_id
)

select * from final
