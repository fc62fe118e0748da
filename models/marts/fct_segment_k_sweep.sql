{#- The sweep of the fit the customers were scored with: this build's in a fit build, the
    stored sweep of the applied fit in a score build (which runs no sweep). -#}

with

k_sweeps as (
    select * from {{ stored_history('int_segment_k_sweep_history') }}
),

model_run as (
    select distinct run_id from {{ ref('int_segment_model_current') }}
),

final as (
    select
        k_sweeps.k,
        k_sweeps.inertia,
        k_sweeps.silhouette,
        k_sweeps.calinski_harabasz,
        k_sweeps.davies_bouldin,
        k_sweeps.is_chosen,
        k_sweeps.chosen_by,
        k_sweeps.sample_size,
        k_sweeps.features,
        k_sweeps.fit_seconds
    from k_sweeps
    inner join model_run on k_sweeps.run_id = model_run.run_id
)

select * from final
