{#- The run registry: one row per build, newest flagged. -#}

with

runs as (
    select * from {{ ref('int_segment_run_log') }}
),

final as (
    select
        *,
        row_number() over (order by run_at desc, run_id desc) = 1 as is_latest
    from runs
)

select * from final
