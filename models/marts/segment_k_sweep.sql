{#- The sweep of the fit the customers were scored with: a score build keeps the table as the
    last fit left it (it runs no sweep). -#}

with

{% if segmentation_mode() == 'fit' -%}
k_sweep as (
    select * from {{ ref('int_segment_k_sweep') }}
),
{%- else -%}
{%- do stored_model_history() -%}
k_sweep as (
    select * from {{ this }}
),
{%- endif %}

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
