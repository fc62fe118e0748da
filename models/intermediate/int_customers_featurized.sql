{#- One row per customer with at least one valid purchase: the behavioural features.
    Recency and tenure are measured from the last order date in the data, so a rebuild of
    the same data gives the same features whatever day it runs. -#}

with

order_lines as (
    select
        customer_id,
        order_id,
        product_id,
        ordered_at,
        quantity,
        unit_price,
        returned_quantity,
        is_return_line
    from {{ ref('int_order_lines_validated') }}
    where is_valid
),

data_end as (
    select max(ordered_at) as last_ordered_at_in_data from order_lines
),

customer_totals as (
    select
        customer_id,
        count(distinct case when not is_return_line then order_id end) as orders,
        cast(sum(quantity) as bigint) as units_ordered,
        cast(sum(returned_quantity) as bigint) as units_returned,
        -- Units as decimal(20,0): an integer times a decimal(18,4) overflows DuckDB's decimal(18).
        cast(sum(cast(quantity as decimal(20,0)) * unit_price) as decimal(38,4)) as gross_spending,
        cast(sum(cast(returned_quantity as decimal(20,0)) * unit_price) as decimal(38,4)) as returned_value,
        count(distinct case when not is_return_line then product_id end) as distinct_products,
        min(case when not is_return_line then ordered_at end) as first_ordered_at,
        max(case when not is_return_line then ordered_at end) as last_ordered_at
    from order_lines
    group by customer_id
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
