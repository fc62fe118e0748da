with

k_sweep as (
    select * from {{ ref('int_segment_k_sweep') }}
),

final as (
    select
        cast(k as integer) as k,
        cast(inertia as double) as inertia,
        cast(silhouette as double) as silhouette,
        cast(calinski_harabasz as double) as calinski_harabasz,
        cast(davies_bouldin as double) as davies_bouldin,
        cast(is_chosen as boolean) as is_chosen,
        cast(chosen_by as {{ dbt.type_string() }}) as chosen_by,
        cast(sample_size as bigint) as sample_size,
        cast(features as {{ dbt.type_string() }}) as features,
        cast(fit_seconds as double) as fit_seconds
    from k_sweep
)

select * from final
