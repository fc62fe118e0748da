with

order_lines as (
    select * from {{ ref('int_order_lines_validated') }}
),

final as (
    select
        source_file,
        source_line_number,
        rejection_reason,
        order_id,
        customer_id,
        ordered_at,
        product_id,
        quantity,
        unit_price,
        returned_quantity,
        is_return_line,
        line_value
    from order_lines
    where not is_valid
)

select * from final
