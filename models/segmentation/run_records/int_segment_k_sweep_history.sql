{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
{#- Append-only: every fit's k sweep under its run id. A score build shows the sweep of the fit
    whose model it applies from here, so no mart ever has to read itself back. -#}

with

run as (
    select run_id from {{ ref('int_segment_run') }}
),

k_sweep as (
    select * from {{ ref('int_segment_k_sweep') }}
),

final as (
    select
        run.run_id,
        cast(k_sweep.k as integer) as k,
        cast(k_sweep.inertia as double) as inertia,
        cast(k_sweep.silhouette as double) as silhouette,
        cast(k_sweep.calinski_harabasz as double) as calinski_harabasz,
        cast(k_sweep.davies_bouldin as double) as davies_bouldin,
        cast(k_sweep.is_chosen as boolean) as is_chosen,
        cast(k_sweep.chosen_by as {{ dbt.type_string() }}) as chosen_by,
        cast(k_sweep.sample_size as bigint) as sample_size,
        cast(k_sweep.features as {{ dbt.type_string() }}) as features,
        cast(k_sweep.fit_seconds as double) as fit_seconds
    from k_sweep
    cross join run
)

select * from final
