{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false, on_schema_change='fail') }}
{#- Append-only membership history: every customer's segment in every build, with a hash of
    the model features so a later build can tell customers whose data did not change (computed
    when the customer was scored: int_customers_scored keeps it while the features stay). -#}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

scored as (
    select customer_id, feature_hash from {{ ref('int_customers_scored') }}
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
        scored.feature_hash
    from customers
    inner join scored on customers.customer_id = scored.customer_id
    cross join run
)

select * from final
