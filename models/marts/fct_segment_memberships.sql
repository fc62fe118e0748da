{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false, on_schema_change='fail') }}
{#- Append-only membership history: every customer's segment in every build, with a hash of
    the model features so a later build can tell customers whose data did not change. -#}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

final as (
    select
        run.run_id,
        run.run_at,
        customers.customer_id,
        customers.segment_id,
        customers.segment_name,
        customers.distance_to_centroid,
        customers.net_spending,
        {{ dbt.hash(dbt.concat(model_feature_text('customers'))) }} as feature_hash
    from customers
    cross join run
)

select * from final
