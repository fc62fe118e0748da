{#- The run registry: one row per build, newest flagged, each with its outcome. A build that
    failed before its run log row (a gate on the fit, a killed build) is listed from the model
    history and the outcome table, with what they know. -#}

with

runs as (
    select * from {{ ref('int_segment_run_log') }}
),

this_run as (
    select run_id from {{ ref('int_segment_run') }}
),

outcomes as (
    select run_id, run_at, segmentation_mode, outcome, reason
    from {{ source('segment_lifecycle', 'segment_build_outcomes') }}
),

fits as (
    select
        run_id,
        max(fitted_at) as fitted_at,
        count(distinct segment_id) as k,
        max(id_assignment) as id_assignment
    from {{ stored_history('int_segment_centroid_history') }}
    group by run_id
),

run_ids as (
    select run_id from runs
    union
    select run_id from outcomes
    union
    select run_id from fits
),

registry as (
    select
        run_ids.run_id,
        coalesce(runs.dbt_invocation_id, run_ids.run_id) as dbt_invocation_id,
        coalesce(runs.run_at, outcomes.run_at, fits.fitted_at) as run_at,
        coalesce(runs.fitted_at, fits.fitted_at) as fitted_at,
        coalesce(runs.segmentation_mode, outcomes.segmentation_mode, 'fit') as segmentation_mode,
        coalesce(runs.model_run_id, fits.run_id) as model_run_id,
        runs.orders_format,
        runs.orders_input,
        runs.input_lines,
        runs.valid_lines,
        runs.first_ordered_at,
        runs.last_ordered_at,
        runs.currency,
        runs.customers,
        runs.sample_size,
        coalesce(runs.k, cast(fits.k as integer)) as k,
        runs.chosen_by,
        runs.features,
        runs.transforms,
        runs.inertia,
        runs.silhouette,
        runs.calinski_harabasz,
        runs.davies_bouldin,
        runs.n_init,
        runs.random_state,
        runs.library_versions,
        runs.dbt_version,
        coalesce(runs.id_assignment, fits.id_assignment) as id_assignment,
        -- the running build cannot know its outcome yet: 'current' (it is published only when
        -- every test upstream of publishing passed; the outcome is recorded when it ends)
        case
            when outcomes.outcome is not null then outcomes.outcome
            when this_run.run_id is not null then 'current'
            else 'failed'
        end as status,
        case
            when outcomes.outcome is not null then outcomes.reason
            when this_run.run_id is not null then 'this build: its outcome is recorded when it ends'
            else 'interrupted: the build ended without recording an outcome (killed, or the hook failed)'
        end as status_reason
    from run_ids
    left join runs on run_ids.run_id = runs.run_id
    left join outcomes on run_ids.run_id = outcomes.run_id
    left join fits on run_ids.run_id = fits.run_id
    left join this_run on run_ids.run_id = this_run.run_id
),

final as (
    select
        *,
        row_number() over (order by run_at desc, run_id desc) = 1 as is_latest
    from registry
)

select * from final
