{#- Net revenue per segment and calendar month, from the valid order lines and each customer's
    segment in the latest build: the trend behind segment_profiles' revenue, small enough to
    publish (segments × months). -#}

with

order_lines as (
    select customer_id, ordered_at, line_value
    from {{ ref('int_order_lines_validated') }}
    where is_valid
),

customers as (
    select customer_id, segment_id, segment_name from {{ ref('dim_customers') }}
),

final as (
    select
        customers.segment_id,
        customers.segment_name,
        cast({{ dbt.date_trunc('month', 'order_lines.ordered_at') }} as date) as order_month,
        count(distinct order_lines.customer_id) as active_customers,
        cast(sum(order_lines.line_value) as decimal(38,4)) as net_revenue
    from order_lines
    inner join customers on order_lines.customer_id = customers.customer_id
    group by 1, 2, 3
)

select * from final
