{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
{#- Append-only: each build's segments with the name the rules gave them, their size and
    revenue, so name changes and retired ids stay on record. -#}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

segments as (
    select segment_id, segment_name, naming_rule_id from {{ ref('int_segments_named') }}
),

sizes as (
    select segment_id, customers, net_revenue from {{ ref('int_segment_sizes') }}
),

final as (
    select
        run.run_id,
        run.run_at,
        segments.segment_id,
        segments.segment_name,
        segments.naming_rule_id,
        sizes.customers,
        sizes.net_revenue
    from segments
    inner join sizes on segments.segment_id = sizes.segment_id
    cross join run
)

select * from final
