{#- The customers' spending adds up to the valid lines it came from, and every featurized
    customer has exactly one segment in dim_customers. In two steps, so a daily build checks
    what it summed, not all of history: the customers int_customer_order_totals summed in its
    latest build (all of them on a build that sums everyone) against their valid lines, and
    dim_customers against int_customer_order_totals (a row per customer). The customers summed
    before were checked against their lines by the build that summed them. -#}

with

totals as (
    select
        *,
        totals_as_of = max(totals_as_of) over () as is_latest
    from {{ ref('int_customer_order_totals') }}
),

valid_lines as (
    select
        coalesce(sum(line_value), 0) as net_value,
        coalesce(sum(cast(quantity as decimal(20,0)) * unit_price), 0) as gross_value,
        count(distinct customer_id) as customers
    from {{ ref('int_order_lines_validated') }}
    where is_valid
        and customer_id in (select customer_id from totals where is_latest)
),

summed as (
    select
        coalesce(sum(case when is_latest then gross_spending - returned_value end), 0) as latest_net_value,
        coalesce(sum(case when is_latest then gross_spending end), 0) as latest_gross_value,
        count(case when is_latest then 1 end) as latest_customers,
        coalesce(sum(gross_spending - returned_value), 0) as net_value,
        coalesce(sum(gross_spending), 0) as gross_value,
        count(*) as customers
    from totals
),

customers as (
    select
        coalesce(sum(net_spending), 0) as net_value,
        coalesce(sum(gross_spending), 0) as gross_value,
        count(*) as customers
    from {{ ref('dim_customers') }}
),

checks as (
    select 'net value of valid lines = net spending summed for their customers' as equation,
        valid_lines.net_value as left_side, summed.latest_net_value as right_side
    from valid_lines cross join summed
    union all
    select 'gross value of valid lines = gross spending summed for their customers',
        valid_lines.gross_value, summed.latest_gross_value
    from valid_lines cross join summed
    union all
    select 'customers of those valid lines = customers summed', valid_lines.customers, summed.latest_customers
    from valid_lines cross join summed
    union all
    select 'customers summed: net spending = customers net spending', summed.net_value, customers.net_value
    from summed cross join customers
    union all
    select 'customers summed: gross spending = customers gross spending', summed.gross_value, customers.gross_value
    from summed cross join customers
    union all
    select 'customers with valid lines = customers with a segment', summed.customers, customers.customers
    from summed cross join customers
)

select * from checks where left_side <> right_side
