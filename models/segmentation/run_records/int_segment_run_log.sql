{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false,
          on_schema_change='append_new_columns') }}
{#- Append-only: one row per build (fit or score), written once the customers are scored.
    A score build repeats the description of the fit whose model it applied. A log stored
    before a column was added (the data period, currency) gets it, null on old rows. -#}

with

run as (
    select * from {{ ref('int_segment_run') }}
),

model as (
    select
        max(run_id) as model_run_id,
        max(fitted_at) as fitted_at,
        max(id_assignment) as id_assignment,
        {{ ordered_listagg("feature || ':' || transform", 'feature_position') }} as transforms
    from (select distinct run_id, fitted_at, id_assignment, feature, transform, feature_position
          from {{ ref('int_segment_model_current') }}) as model_features
),

input_lines as (
    select
        count(*) as input_lines,
        sum(case when is_valid then 1 else 0 end) as valid_lines,
        min(case when is_valid then ordered_at end) as first_ordered_at,
        max(case when is_valid then ordered_at end) as last_ordered_at
    from {{ ref('int_order_lines_validated') }}
),

customers as (
    select sum(customers) as customers from {{ ref('int_segment_sizes') }}
),

{% if segmentation_mode() == 'fit' -%}
fit_description as (
    select
        cast(sample_size as bigint) as sample_size,
        cast(k as integer) as k,
        chosen_by,
        features,
        inertia,
        silhouette,
        calinski_harabasz,
        davies_bouldin,
        cast({{ var('segmentation_n_init') | int }} as integer) as n_init,
        cast({{ var('segmentation_random_state') | int }} as integer) as random_state,
        library_versions
    from {{ ref('int_segment_k_sweep') }}
    where is_chosen
),
{%- else -%}
fit_description as (
    select
        sample_size, k, chosen_by, features, inertia, silhouette, calinski_harabasz,
        davies_bouldin, n_init, random_state, library_versions
    from {{ this }}
    where run_id = (select model_run_id from model)
),
{%- endif %}

final as (
    select
        run.run_id,
        run.run_id as dbt_invocation_id,
        run.run_at,
        model.fitted_at,
        run.segmentation_mode,
        model.model_run_id,
        run.orders_format,
        run.orders_input,
        cast(input_lines.input_lines as bigint) as input_lines,
        cast(input_lines.valid_lines as bigint) as valid_lines,
        cast(input_lines.first_ordered_at as timestamp) as first_ordered_at,
        cast(input_lines.last_ordered_at as timestamp) as last_ordered_at,
        run.currency,
        cast(customers.customers as bigint) as customers,
        fit_description.sample_size,
        fit_description.k,
        cast(fit_description.chosen_by as {{ dbt.type_string() }}) as chosen_by,
        cast(fit_description.features as {{ dbt.type_string() }}) as features,
        cast(model.transforms as {{ dbt.type_string() }}) as transforms,
        cast(fit_description.inertia as double) as inertia,
        cast(fit_description.silhouette as double) as silhouette,
        cast(fit_description.calinski_harabasz as double) as calinski_harabasz,
        cast(fit_description.davies_bouldin as double) as davies_bouldin,
        fit_description.n_init,
        fit_description.random_state,
        cast(fit_description.library_versions as {{ dbt.type_string() }}) as library_versions,
        run.dbt_version,
        cast(model.id_assignment as {{ dbt.type_string() }}) as id_assignment
    from run
    cross join model
    cross join input_lines
    cross join customers
    left join fit_description on true
)

select * from final
