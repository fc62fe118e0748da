{#- One row per customer with at least one valid line: the behavioural features, from the
    customer's sums (int_customer_order_totals). Recency and tenure are measured from the last
    order date in the data, so a rebuild of the same data gives the same features whatever day
    it runs; they move for every customer when that date does, so this table is rebuilt whole
    (from the per-customer sums, not from the order lines) by every build. -#}

with

customer_totals as (
    select * from {{ ref('int_customer_order_totals') }}
),

data_end as (
    select max(last_line_at) as last_ordered_at_in_data from customer_totals
),

final as (
    select
        customer_totals.customer_id,
        customer_totals.orders,
        customer_totals.units_ordered,
        customer_totals.units_returned,
        least(1.0, cast(customer_totals.units_returned as double) / customer_totals.units_ordered)
            as return_rate,
        customer_totals.gross_spending,
        customer_totals.returned_value,
        customer_totals.gross_spending - customer_totals.returned_value as net_spending,
        customer_totals.distinct_products,
        customer_totals.first_ordered_at,
        customer_totals.last_ordered_at,
        cast({{ dbt.datediff('customer_totals.last_ordered_at', 'data_end.last_ordered_at_in_data', 'day') }}
            as bigint) as recency_days,
        cast({{ dbt.datediff('customer_totals.first_ordered_at', 'data_end.last_ordered_at_in_data', 'day') }}
            as bigint) as tenure_days,
        cast(customer_totals.gross_spending - customer_totals.returned_value as double)
            / customer_totals.orders as avg_order_value,
        -- no gap to average over a single order: NULL, never 0 (0 would read as "re-orders at once")
        case when customer_totals.orders > 1 then
            cast({{ dbt.datediff('customer_totals.first_ordered_at', 'customer_totals.last_ordered_at', 'day') }}
                as double) / (customer_totals.orders - 1)
        end as avg_days_between_orders
    from customer_totals
    cross join data_end
)

select * from final
