{#- Net revenue per segment and calendar month, from the valid order lines (summed per customer
    and month in int_customer_monthly_totals: a customer-month is one active customer) and each
    customer's segment in the latest build: the trend behind dim_segment_profiles' revenue, small enough to
    publish (segments × months). -#}

with

customer_months as (
    select customer_id, order_month, net_value from {{ ref('int_customer_monthly_totals') }}
),

customers as (
    select customer_id, segment_id from {{ ref('dim_customers') }}
),

-- the segments' names, joined after summing: the join over every customer then carries the
-- segment id only (at 10M customers, with the names too, it ran a daily build out of memory)
segment_names as (
    select distinct segment_id, segment_name from {{ ref('dim_customers') }}
),

segment_months as (
    select
        customers.segment_id,
        customer_months.order_month,
        count(*) as active_customers,
        cast(sum(customer_months.net_value) as decimal(38, 4)) as net_revenue
    from customer_months
    inner join customers on customer_months.customer_id = customers.customer_id
    group by 1, 2
),

final as (
    select
        segment_months.segment_id,
        segment_names.segment_name,
        segment_months.order_month,
        segment_months.active_customers,
        segment_months.net_revenue
    from segment_months
    inner join segment_names on segment_months.segment_id = segment_names.segment_id
)

select * from final
