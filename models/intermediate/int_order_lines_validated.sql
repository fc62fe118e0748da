{#- Every staged line once, with rejection_reason null when the line is usable. Rules are
    tried in order; a line gets the first reason that applies. When far more lines are rejected
    than normal, the test gate_rejected_order_lines stops the build right after this model. -#}

{#- A duplicate is equal in every column of the input as written, the ones staging does not use
    included (raw_row_fingerprint): two lines that differ only in, say, the source system's line
    number are two lines. -#}
{%- set duplicate_key = ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price',
                         'returned_quantity', 'is_return_line', 'raw_row_fingerprint'] -%}
{%- set qualified_duplicate_key = [] -%}
{%- for column in duplicate_key -%}{%- do qualified_duplicate_key.append('order_lines.' ~ column) -%}{%- endfor %}

with

order_lines as {{ not_materialized() }} (
    select * from {{ staged_order_lines() }}
),

-- The UCI stock codes that are not products (POST, M, ADJUST...) are rules of that layout: in
-- the canonical layout they are ordinary product ids.
non_product_stock_codes as (
    select product_id_pattern from {{ ref('non_product_stock_codes') }}
    {%- if orders_format() != 'online_retail' %}
    where false
    {%- endif %}
),

products as (
    select distinct product_id from order_lines
),

non_product_products as (
    {#- Patterns are matched against each distinct product once, not against every line. -#}
    select distinct products.product_id
    from products
    inner join non_product_stock_codes
        on products.product_id like non_product_stock_codes.product_id_pattern escape {{ like_escape() }}
),

line_checks as {{ not_materialized() }} (
    select
        order_lines.*,
        case
            when order_lines.malformed_reason is not null then order_lines.malformed_reason
            when order_lines.unparseable_columns <> ''
                then 'unparseable value in ' || order_lines.unparseable_columns
            when order_lines.customer_id is null then 'missing customer_id'
            when order_lines.order_id is null then 'missing order_id'
            when order_lines.product_id is null then 'missing product_id'
            when order_lines.ordered_at is null then 'missing ordered_at'
            when order_lines.quantity is null then 'missing quantity'
            when order_lines.unit_price is null then 'missing unit_price'
            when order_lines.returned_quantity is null then 'missing returned_quantity'
            when non_product_products.product_id is not null then 'non-product line'
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
        end as line_rejection_reason,
        {{ row_fingerprint(qualified_duplicate_key) }} as line_fingerprint
    from order_lines
    left join non_product_products
        on order_lines.product_id = non_product_products.product_id
),

lines_passing_line_checks as {{ not_materialized() }} (
    select source_file, source_line_number, {{ duplicate_key | join(', ') }}, line_fingerprint
    from line_checks
    where line_rejection_reason is null
),

-- An order belongs to one customer: when its otherwise valid lines name several, which one
-- is right cannot be told, so all of its lines are rejected.
orders_with_several_customers as (
    select order_id
    from lines_passing_line_checks
    group by order_id
    having min(customer_id) <> max(customer_id)
),

{#- The rules below are set-level: each finds the few lines or keys it rejects with one
    aggregate, and the final pass looks them up with hash joins against those small sets.
    Only lines without a reason so far, outside orders of several customers, compete to be
    the first copy or to be a purchase: that filter is applied to the few candidates only. -#}
repeated_fingerprints as (
    select line_fingerprint
    from lines_passing_line_checks
    group by line_fingerprint
    having count(*) > 1
),

duplicate_candidates as (
    select lines_passing_line_checks.*
    from lines_passing_line_checks
    inner join repeated_fingerprints
        on lines_passing_line_checks.line_fingerprint = repeated_fingerprints.line_fingerprint
    left join orders_with_several_customers
        on lines_passing_line_checks.order_id = orders_with_several_customers.order_id
    where orders_with_several_customers.order_id is null
),

duplicate_lines as (
    {#- Lines sharing a fingerprint are compared column by column: a hash collision is not a
        duplicate. The first copy in input order is kept: files in name order (a glob reads
        them so), lines in file order, as if the files were one. -#}
    select source_file, source_line_number
    from (
        select
            source_file,
            source_line_number,
            row_number() over (
                partition by {{ duplicate_key | join(', ') }}
                order by source_file, source_line_number
            ) as copy_number
        from duplicate_candidates
    ) as copies
    where copy_number > 1
),

returned_products as (
    select distinct lines_passing_line_checks.customer_id, lines_passing_line_checks.product_id
    from lines_passing_line_checks
    left join orders_with_several_customers
        on lines_passing_line_checks.order_id = orders_with_several_customers.order_id
    where lines_passing_line_checks.is_return_line
        and orders_with_several_customers.order_id is null
),

purchased_products as (
    {#- Only the products that were returned need their purchase looked up. -#}
    select distinct lines_passing_line_checks.customer_id, lines_passing_line_checks.product_id
    from lines_passing_line_checks
    inner join returned_products
        on lines_passing_line_checks.customer_id = returned_products.customer_id
        and lines_passing_line_checks.product_id = returned_products.product_id
    left join orders_with_several_customers
        on lines_passing_line_checks.order_id = orders_with_several_customers.order_id
    where not lines_passing_line_checks.is_return_line
        and orders_with_several_customers.order_id is null
),

returns_without_purchase as (
    select returned_products.customer_id, returned_products.product_id
    from returned_products
    left join purchased_products
        on returned_products.customer_id = purchased_products.customer_id
        and returned_products.product_id = purchased_products.product_id
    where purchased_products.customer_id is null
),

checked as (
    select
        line_checks.*,
        case
            when line_checks.line_rejection_reason is not null
                then line_checks.line_rejection_reason
            when orders_with_several_customers.order_id is not null
                then 'order_id used by more than one customer'
            when duplicate_lines.source_line_number is not null then 'duplicate line'
            when line_checks.is_return_line and returns_without_purchase.customer_id is not null
                then 'return without a purchase of the product by the customer'
        end as rejection_reason
    from line_checks
    left join orders_with_several_customers
        on line_checks.order_id = orders_with_several_customers.order_id
    left join duplicate_lines
        {#- source_file is null for a table input: compared as '' so that null matches null. #}
        on line_checks.source_line_number = duplicate_lines.source_line_number
        and coalesce(line_checks.source_file, '') = coalesce(duplicate_lines.source_file, '')
    left join returns_without_purchase
        on line_checks.customer_id = returns_without_purchase.customer_id
        and line_checks.product_id = returns_without_purchase.product_id
),

final as (
    select
        source_file,
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
