{#- One row per customer with at least one valid line: the customer features, from the
    customer's sums (int_customer_order_totals). Each feature is declared once, as a column of
    dim_customers with its SQL expression (models/marts/dim_customers.yml,
    docs/add_a_feature.md): an expression over the columns of `customers` below, cast to the
    column's data_type. Recency and tenure are measured from the last order date in the data,
    so a rebuild of the same data gives the same features whatever day it runs; they move for
    every customer when that date does, so this table is rebuilt whole (from the per-customer
    sums, not from the order lines) by every build. -#}

with

customer_totals as (
    select * from {{ ref('int_customer_order_totals') }}
),

data_end as (
    select max(last_line_at) as last_ordered_at_in_data from customer_totals
),

-- what a feature expression can name: the customer's sums, and day counts computed here with
-- dbt.datediff (per adapter), so the expressions themselves are plain SQL on every engine
customers as (
    select
        customer_totals.*,
        cast({{ dbt.datediff('customer_totals.last_ordered_at', 'data_end.last_ordered_at_in_data', 'day') }}
            as bigint) as days_since_last_order,
        cast({{ dbt.datediff('customer_totals.first_ordered_at', 'data_end.last_ordered_at_in_data', 'day') }}
            as bigint) as days_since_first_order,
        cast({{ dbt.datediff('customer_totals.first_ordered_at', 'customer_totals.last_ordered_at', 'day') }}
            as bigint) as days_first_to_last_order
    from customer_totals
    cross join data_end
),

final as (
    select
        customer_id,
        {%- for feature in customer_feature_definitions() %}
        cast(({{ feature.expression }}) as {{ feature.data_type }}) as {{ feature.name }},
        {%- endfor %}
        returned_value,
        first_ordered_at,
        last_ordered_at
    from customers
)

select * from final
