{#- The customers' spending adds up to the valid lines it came from, and every featurized
    customer has exactly one segment in dim_customers. -#}

with

valid_lines as (
    select
        coalesce(sum(line_value), 0) as net_value,
        coalesce(sum(cast(quantity as decimal(20,0)) * unit_price), 0) as gross_value,
        count(distinct customer_id) as customers
    from {{ ref('int_order_lines_validated') }}
    where is_valid
),

customers as (
    select
        coalesce(sum(net_spending), 0) as net_value,
        coalesce(sum(gross_spending), 0) as gross_value,
        count(*) as customers
    from {{ ref('dim_customers') }}
),

checks as (
    select 'net value of valid lines = customers net spending' as equation,
        valid_lines.net_value as left_side, customers.net_value as right_side
    from valid_lines cross join customers
    union all
    select 'gross value of valid lines = customers gross spending',
        valid_lines.gross_value, customers.gross_value
    from valid_lines cross join customers
    union all
    select 'customers with valid lines = customers with a segment',
        valid_lines.customers, customers.customers
    from valid_lines cross join customers
)

select * from checks where left_side <> right_side
