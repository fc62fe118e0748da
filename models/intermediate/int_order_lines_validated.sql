{#- Every staged line once, with rejection_reason null when the line is usable. Rules are
    tried in order; a line gets the first reason that applies. -#}

with

order_lines as (
    select * from {{ staged_order_lines() }}
),

non_product_stock_codes as (
    select product_id_pattern from {{ ref('non_product_stock_codes') }}
),

non_product_lines as (
    select distinct order_lines.source_line_number
    from order_lines
    inner join non_product_stock_codes
        on order_lines.product_id like non_product_stock_codes.product_id_pattern escape {{ like_escape() }}
),

line_checks as (
    select
        order_lines.*,
        case
            when order_lines.unparseable_columns <> ''
                then 'unparseable value in ' || order_lines.unparseable_columns
            when order_lines.customer_id is null then 'missing customer_id'
            when order_lines.order_id is null then 'missing order_id'
            when order_lines.product_id is null then 'missing product_id'
            when order_lines.ordered_at is null then 'missing ordered_at'
            when order_lines.quantity is null then 'missing quantity'
            when order_lines.unit_price is null then 'missing unit_price'
            when order_lines.returned_quantity is null then 'missing returned_quantity'
            when non_product_lines.source_line_number is not null then 'non-product line'
            when order_lines.ordered_at < cast('1990-01-01' as timestamp)
                then 'ordered_at before 1990-01-01'
            when order_lines.ordered_at > {{ dbt.current_timestamp() }} then 'ordered_at in the future'
            when not order_lines.is_return_line and order_lines.quantity <= 0
                then 'quantity not positive'
            when order_lines.unit_price < 0 then 'negative unit_price'
            when order_lines.unit_price = 0 then 'zero unit_price on a product line'
            when order_lines.returned_quantity < 0 then 'negative returned_quantity'
            when not order_lines.is_return_line and order_lines.returned_quantity > order_lines.quantity
                then 'returned_quantity exceeds quantity'
        end as line_rejection_reason
    from order_lines
    left join non_product_lines
        on order_lines.source_line_number = non_product_lines.source_line_number
),

-- An order belongs to one customer: when its otherwise valid lines name several, which one
-- is right cannot be told, so all of its lines are rejected.
orders_with_several_customers as (
    select order_id
    from line_checks
    where line_rejection_reason is null
    group by order_id
    having count(distinct customer_id) > 1
),

line_checks_with_orders as (
    select
        line_checks.*,
        orders_with_several_customers.order_id is not null as is_order_of_several_customers
    from line_checks
    left join orders_with_several_customers
        on line_checks.order_id = orders_with_several_customers.order_id
),

duplicates_ranked as (
    {#- Ranked in place rather than filtered and joined back: one pass over the lines. Only
        lines without a reason so far compete to be the first copy. -#}
    select
        *,
        row_number() over (
            partition by
                line_rejection_reason is null and not is_order_of_several_customers,
                order_id, customer_id, ordered_at, product_id, quantity, unit_price,
                returned_quantity, is_return_line
            order by source_line_number
        ) as copy_number
    from line_checks_with_orders
),

returned_products as (
    select distinct customer_id, product_id
    from duplicates_ranked
    where is_return_line and line_rejection_reason is null and not is_order_of_several_customers
),

purchased_products as (
    {#- Only the products that were returned need their purchase looked up. -#}
    select distinct duplicates_ranked.customer_id, duplicates_ranked.product_id
    from duplicates_ranked
    inner join returned_products
        on duplicates_ranked.customer_id = returned_products.customer_id
        and duplicates_ranked.product_id = returned_products.product_id
    where duplicates_ranked.line_rejection_reason is null
        and not duplicates_ranked.is_order_of_several_customers
        and duplicates_ranked.copy_number = 1
        and not duplicates_ranked.is_return_line
),

checked as (
    select
        duplicates_ranked.*,
        case
            when duplicates_ranked.line_rejection_reason is not null
                then duplicates_ranked.line_rejection_reason
            when duplicates_ranked.is_order_of_several_customers
                then 'order_id used by more than one customer'
            when duplicates_ranked.copy_number > 1 then 'duplicate line'
            when duplicates_ranked.is_return_line and purchased_products.customer_id is null
                then 'return without a purchase of the product by the customer'
        end as rejection_reason
    from duplicates_ranked
    left join purchased_products
        on duplicates_ranked.customer_id = purchased_products.customer_id
        and duplicates_ranked.product_id = purchased_products.product_id
),

final as (
    select
        source_line_number,
        order_id,
        customer_id,
        ordered_at,
        product_id,
        quantity,
        unit_price,
        returned_quantity,
        is_return_line,
        line_value,
        rejection_reason,
        rejection_reason is null as is_valid
    from checked
)

select * from final
