{#- Net revenue (purchases minus returns) per segment and calendar month, traced to the
    valid order lines. -#}

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
        {{ dbt.date_trunc('month', 'order_lines.ordered_at') }} as order_month,
        count(distinct order_lines.customer_id) as active_customers,
        sum(order_lines.line_value) as net_revenue
    from order_lines
    inner join customers on order_lines.customer_id = customers.customer_id
    group by customers.segment_id, customers.segment_name, {{ dbt.date_trunc('month', 'order_lines.ordered_at') }}
    order by order_month, segment_id
)

select * from final
