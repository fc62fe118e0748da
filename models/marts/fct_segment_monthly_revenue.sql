{#- Net revenue per segment and calendar month, from the valid order lines (summed per customer
    and month in int_customer_monthly_totals: a customer-month is one active customer) and each
    customer's segment in the latest build: the trend behind dim_segment_profiles' revenue, small enough to
    publish (segments × months). -#}

with

customer_months as (
    select customer_id, order_month, net_value from {{ ref('int_customer_monthly_totals') }}
),

customers as (
    select customer_id, segment_id, segment_name from {{ ref('dim_customers') }}
),

final as (
    select
        customers.segment_id,
        customers.segment_name,
        customer_months.order_month,
        count(*) as active_customers,
        cast(sum(customer_months.net_value) as decimal(38, 4)) as net_revenue
    from customer_months
    inner join customers on customer_months.customer_id = customers.customer_id
    group by 1, 2, 3
)

select * from final
