{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
{#- Append-only: each build's segments with the name the rules gave them, their size and
    revenue, so name changes and retired ids stay on record. -#}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

segments as (
    select * from {{ ref('segment_profiles') }}
),

final as (
    select
        run.run_id,
        run.run_at,
        segments.segment_id,
        segments.segment_name,
        segments.naming_rule_id,
        segments.customers,
        segments.net_revenue
    from segments
    cross join run
)

select * from final
