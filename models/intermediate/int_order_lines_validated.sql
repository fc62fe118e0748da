{#- Every staged line once, with rejection_reason null when the line is usable. Rules are
    tried in order; a line gets the first reason that applies. When far more lines are rejected
    than normal, the test gate_rejected_order_lines stops the build right after this model.

    Daily builds (docs/daily_builds.md): on DuckDB with file input the table is incremental.
    Staging then holds only the lines of files no build has read; they are judged, and so are
    the stored lines whose verdict they can change (see the daily CTEs below), and those rows
    replace theirs (delete+insert on the line's key). The verdicts are the ones a build from
    scratch on all the files gives. -#}
{{ config(
    materialized=('incremental' if daily_builds_enabled() else 'table'),
    incremental_strategy='delete+insert',
    unique_key=['source_file', 'source_line_number'],
    on_schema_change='fail',
    pre_hook="{{ replace_rows_unless_daily() }}",
) }}
-- depends_on: {{ ref('int_order_lines_of_touched_customers') }}
{%- set daily = is_incremental() and is_daily_build() -%}
{%- if is_incremental() -%}{%- do assert_stored_lines_are_current(this) -%}{%- endif -%}

{#- A duplicate is equal in every column of the input as written, the ones staging does not use
    included (through raw_row_fingerprint, in line_fingerprint): two lines that differ only in,
    say, the source system's line number are two lines. The typed columns are compared as well,
    so a collision of fingerprints is not a duplicate. -#}
{%- set duplicate_key = ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price',
                         'returned_quantity', 'is_return_line', 'line_fingerprint'] -%}
{%- set fingerprinted = ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price',
                         'returned_quantity', 'is_return_line', 'raw_row_fingerprint'] -%}
{%- set qualified_fingerprinted = [] -%}
{%- for column in fingerprinted -%}{%- do qualified_fingerprinted.append('order_lines.' ~ column) -%}{%- endfor -%}
{%- set several_customers = "'order_id used by more than one customer'" -%}
{%- set without_purchase = "'return without a purchase of the product by the customer'" %}

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
            {{ line_checks_from_the_clock('order_lines') }}
        end as line_rejection_reason,
        {{ row_fingerprint(qualified_fingerprinted) }} as line_fingerprint
    from order_lines
    left join non_product_products
        on order_lines.product_id = non_product_products.product_id
),

{%- if not daily %}

lines_passing_line_checks as {{ not_materialized() }} (
    select source_file, source_line_number, {{ duplicate_key | join(', ') }}
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

{# The rules below are set-level: each finds the few lines or keys it rejects with one
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
                then {{ several_customers }}
            when duplicate_lines.source_line_number is not null then 'duplicate line'
            when line_checks.is_return_line and returns_without_purchase.customer_id is not null
                then {{ without_purchase }}
        end as rejection_reason
    from line_checks
    left join orders_with_several_customers
        on line_checks.order_id = orders_with_several_customers.order_id
    {#- source_file is null for a table input: compared as '' so that null matches null. #}
    left join duplicate_lines
        on line_checks.source_line_number = duplicate_lines.source_line_number
        and coalesce(line_checks.source_file, '') = coalesce(duplicate_lines.source_file, '')
    left join returns_without_purchase
        on line_checks.customer_id = returns_without_purchase.customer_id
        and line_checks.product_id = returns_without_purchase.product_id
),

{%- else %}

{#- Daily: the lines of new files and the stored lines come due (rejected as in the future,
    whose time has come), both judged as new lines, and the stored lines whose verdict they can
    change. A new line can change (1) whether its order has several customers, hence the verdict of every line
    of that order; (2) which line of its fingerprint is the first copy; (3) whether a return of
    its (customer, product) has a purchase. Through (1), the lines of a touched order can in turn
    change (2) and (3) for their fingerprints and (customer, product)s. Nothing else feeds a
    rule: duplicates and returns change no order and no other rule. So the stored lines to judge
    again are those of the touched orders, and those sharing a fingerprint or a (customer,
    product) with a new line or a line of a touched order, fetched in two passes over the
    stored lines. A re-judged line's order status, first copy and purchase are recomputed where
    its order, fingerprint or (customer, product) was touched, and otherwise read from its stored
    verdict (the rules' order makes that unambiguous). -#}
stored_lines as {{ not_materialized() }} (
    {#- The stored lines of the customers this build touches, read once by the model before
        this one (every line judged again below is among them); the whole stored table when
        this command does not build that model (it would be an earlier build's). A file read
        again (its registry row was lost with a failed build) replaces its lines. -#}
    select * from
    {%- if builds_model('int_order_lines_of_touched_customers') %} {{ ref('int_order_lines_of_touched_customers') }}
    {%- else %} {{ this }}
    {%- endif %}
    where source_file not in (select distinct source_file from order_lines)
),

{#- Stored lines rejected as in the future whose time has come: a build from scratch now puts
    them through the checks after that one and the rules across lines, so they are judged again
    here as new lines are (their customers and orders are touched: int_touched_customers). -#}
come_due as (
    select
        source_file, source_line_number, order_id, customer_id, ordered_at, product_id, quantity,
        unit_price, returned_quantity, is_return_line, line_value,
        case
            {{ line_checks_from_the_clock('stored_lines') }}
        end as line_rejection_reason,
        line_fingerprint
    from stored_lines
    where {{ lines_come_due('stored_lines') }}
),

{#- The lines judged as new: the new files' lines with their line checks, and those come due. -#}
new_lines as (
    select
        source_file, source_line_number, order_id, customer_id, ordered_at, product_id, quantity,
        unit_price, returned_quantity, is_return_line, line_value, line_rejection_reason, line_fingerprint
    from line_checks
    union all
    select * from come_due
),

new_passing as (
    select source_file, source_line_number, {{ duplicate_key | join(', ') }},
        cast(null as {{ dbt.type_string() }}) as stored_reason, line_value, false as is_stored
    from new_lines
    where line_rejection_reason is null
),

touched_orders as (
    select distinct order_id from new_passing
),

touched_order_lines as (
    select * from new_passing
    union all
    select source_file, source_line_number, {{ duplicate_key | join(', ') }}, rejection_reason as stored_reason,
        line_value, true as is_stored
    from stored_lines
    where line_rejection_reason is null
        and order_id in (select order_id from touched_orders)
),

touched_fingerprints as (
    select distinct line_fingerprint from touched_order_lines
),

touched_products as (
    select distinct customer_id, product_id from touched_order_lines
),

{#- Every passing line of a touched order, fingerprint or (customer, product): the groups the
    rules below need are complete in it. -#}
rejudged as (
    select * from touched_order_lines
    union all
    select
        stored_lines.source_file, stored_lines.source_line_number,
        {%- for column in duplicate_key %} stored_lines.{{ column }},{% endfor %}
        stored_lines.rejection_reason as stored_reason,
        stored_lines.line_value,
        true as is_stored
    from stored_lines
    left join touched_products
        on stored_lines.customer_id = touched_products.customer_id
        and stored_lines.product_id = touched_products.product_id
    where stored_lines.line_rejection_reason is null
        and stored_lines.order_id not in (select order_id from touched_orders)
        and (
            stored_lines.line_fingerprint in (select line_fingerprint from touched_fingerprints)
            or touched_products.customer_id is not null
        )
),

orders_with_several_customers as (
    select order_id
    from touched_order_lines
    group by order_id
    having min(customer_id) <> max(customer_id)
),

rejudged_orders as (
    {#- Each line's order status: recomputed for a touched order, else as its stored verdict says. -#}
    select
        rejudged.*,
        case
            when rejudged.order_id in (select order_id from touched_orders)
                then orders_with_several_customers.order_id is not null
            else coalesce(rejudged.stored_reason = {{ several_customers }}, false)
        end as has_several_customers
    from rejudged
    left join orders_with_several_customers
        on rejudged.order_id = orders_with_several_customers.order_id
),

duplicate_lines as (
    {#- As from scratch: the first copy in input order is kept, among lines outside orders of
        several customers; only touched fingerprints are complete here. -#}
    select source_file, source_line_number
    from (
        select
            source_file,
            source_line_number,
            row_number() over (
                partition by {{ duplicate_key | join(', ') }}
                order by source_file, source_line_number
            ) as copy_number
        from rejudged_orders
        where not has_several_customers
            and line_fingerprint in (select line_fingerprint from touched_fingerprints)
    ) as copies
    where copy_number > 1
),

returned_products as (
    select distinct rejudged_orders.customer_id, rejudged_orders.product_id
    from rejudged_orders
    inner join touched_products
        on rejudged_orders.customer_id = touched_products.customer_id
        and rejudged_orders.product_id = touched_products.product_id
    where rejudged_orders.is_return_line and not rejudged_orders.has_several_customers
),

purchased_products as (
    select distinct customer_id, product_id
    from rejudged_orders
    where not is_return_line and not has_several_customers
),

returns_without_purchase as (
    select returned_products.customer_id, returned_products.product_id
    from returned_products
    left join purchased_products
        on returned_products.customer_id = purchased_products.customer_id
        and returned_products.product_id = purchased_products.product_id
    where purchased_products.customer_id is null
),

verdicts as (
    select
        rejudged_orders.source_file,
        rejudged_orders.source_line_number,
        case
            when rejudged_orders.has_several_customers then {{ several_customers }}
            when rejudged_orders.line_fingerprint in (select line_fingerprint from touched_fingerprints)
                then case when duplicate_lines.source_line_number is not null then 'duplicate line' end
            when rejudged_orders.stored_reason = 'duplicate line' then 'duplicate line'
        end as order_or_copy_reason,
        case
            when touched_products.customer_id is not null
                then rejudged_orders.is_return_line and returns_without_purchase.customer_id is not null
            else coalesce(rejudged_orders.stored_reason = {{ without_purchase }}, false)
        end as lacks_purchase
    from rejudged_orders
    left join duplicate_lines
        on rejudged_orders.source_file = duplicate_lines.source_file
        and rejudged_orders.source_line_number = duplicate_lines.source_line_number
    left join returns_without_purchase
        on rejudged_orders.customer_id = returns_without_purchase.customer_id
        and rejudged_orders.product_id = returns_without_purchase.product_id
    left join touched_products
        on rejudged_orders.customer_id = touched_products.customer_id
        and rejudged_orders.product_id = touched_products.product_id
),

judged_lines as (
    {#- The new lines with their line checks, and the stored lines judged again (they passed
        the line checks: only such lines are judged again), carried through the rules above, so
        the stored lines are not read a third time. -#}
    select * from new_lines
    union all
    select
        source_file, source_line_number, order_id, customer_id, ordered_at, product_id, quantity,
        unit_price, returned_quantity, is_return_line, line_value,
        cast(null as {{ dbt.type_string() }}) as line_rejection_reason, line_fingerprint
    from rejudged
    where is_stored
),

checked as (
    select
        judged_lines.*,
        case
            when judged_lines.line_rejection_reason is not null then judged_lines.line_rejection_reason
            when verdicts.order_or_copy_reason is not null then verdicts.order_or_copy_reason
            when verdicts.lacks_purchase then {{ without_purchase }}
        end as rejection_reason
    from judged_lines
    left join verdicts
        on judged_lines.source_file = verdicts.source_file
        and judged_lines.source_line_number = verdicts.source_line_number
),

{%- endif %}

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
        rejection_reason is null as is_valid,
        line_rejection_reason,
        line_fingerprint,
        {{ run_started_timestamp() }} as judged_at
    from checked
)

select * from final
