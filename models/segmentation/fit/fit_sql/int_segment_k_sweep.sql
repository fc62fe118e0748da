{#- The SQL path's k sweep, with the same columns as the dbt Python model: the metrics per k
    and the chosen k. The choice is made at run time, from the metrics, by the same rule as
    segmentation.kmeans.choose_k (macro kmeans_choose_k). -#}
{%- set k_values = kmeans_k_values() -%}
{%- set choice = {'k': k_values[0], 'chosen_by': 'only k in range'} -%}
{%- set used = kmeans_used_features() -%}
{%- set iterations = kmeans_whole_var('segmentation_sql_kmeans_iterations') -%}
{%- if execute -%}
    {%- set metrics = ref('int_kmeans_sweep_metrics') -%}
    {%- set rows = run_query(
        "select k, ln(greatest(inertia, max(inertia) over () * 1e-12)) as log_inertia, silhouette from "
        ~ metrics ~ " order by k").rows -%}
    {%- set ks = [] -%}
    {%- set log_inertias = [] -%}
    {%- set silhouettes = [] -%}
    {%- for row in rows -%}
        {%- do ks.append(row[0] | int) -%}
        {%- do log_inertias.append(row[1] | float) -%}
        {%- do silhouettes.append(none if row[2] is none else row[2] | float) -%}
    {%- endfor -%}
    {%- set choice = kmeans_choose_k(ks, log_inertias, silhouettes, kmeans_segment_count()) -%}
    {%- do log("SQL K-Means: chose k=" ~ choice.k ~ " (" ~ choice.chosen_by ~ ")", info=true) -%}
{%- endif %}

with

metrics as (
    select k, inertia, silhouette, calinski_harabasz, davies_bouldin
    from {{ ref('int_kmeans_sweep_metrics') }}
),

training_set as (
    select count(*) as sample_size
    from {{ ref('int_segment_training_set') }}
),

sweep_customers as (
    select count(*) as sweep_sample_size
    from {{ ref('int_kmeans_sweep_customers') }}
),

final as (
    select
        cast(metrics.k as bigint) as k,
        metrics.inertia,
        metrics.silhouette,
        metrics.calinski_harabasz,
        metrics.davies_bouldin,
        cast(null as double) as fit_seconds,
        metrics.k = {{ choice.k }} as is_chosen,
        case when metrics.k = {{ choice.k }} then '{{ choice.chosen_by }}' end as chosen_by,
        cast(training_set.sample_size as bigint) as sample_size,
        cast(sweep_customers.sweep_sample_size as bigint) as sweep_sample_size,
        cast('{{ used | join(", ") }}' as {{ dbt.type_string() }}) as features,
        cast('SQL K-Means (dbt macros, {{ iterations }} Lloyd steps) on {{ target.type }}, dbt {{ dbt_version }}'
            as {{ dbt.type_string() }}) as library_versions
    from metrics
    cross join training_set
    cross join sweep_customers
)

select * from final
