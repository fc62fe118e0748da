{{ config(enabled=orders_format() in ['demo', 'canonical']) }}

{%- set columns = orders_input_columns() -%}
{%- set required = ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price',
                    'returned_quantity'] -%}
{%- do require_columns(columns, required, 'canonical') -%}
{%- set type_of = {} -%}
{%- for name in required -%}{%- do type_of.update({name: (columns.get(name) or ('', ''))[1]}) -%}{%- endfor %}

with

order_lines as (
    select
        {{ input_source_file() }} as source_file,
        cast({{ input_line_number() }} as bigint) as source_line_number,
        {{ input_malformed_reason() }} as malformed_reason,
        {%- for name in required %}
        {{ input_column(columns, name) }} as raw_{{ name }},
        {%- endfor %}
        {{ input_row_fingerprint(columns) }} as raw_row_fingerprint
    from {{ orders_relation(numbered=true) }}
),

parsed as (
    select
        source_file,
        source_line_number,
        malformed_reason,
        {{ clean_id('raw_order_id') }} as order_id,
        {{ clean_id('raw_customer_id') }} as customer_id,
        {{ parse_as('raw_ordered_at', 'timestamp', type_of.ordered_at) }} as ordered_at,
        {{ clean_id('raw_product_id') }} as product_id,
        {{ parse_as('raw_quantity', 'integer', type_of.quantity) }} as quantity,
        {{ parse_as('raw_unit_price', 'decimal(18,4)', type_of.unit_price) }} as unit_price,
        {{ parse_as('raw_returned_quantity', 'integer', type_of.returned_quantity) }} as returned_quantity,
        raw_ordered_at,
        raw_quantity,
        raw_unit_price,
        raw_returned_quantity,
        raw_row_fingerprint
    from order_lines
),

final as (
    select
        source_file,
        source_line_number,
        malformed_reason,
        order_id,
        customer_id,
        ordered_at,
        product_id,
        quantity,
        unit_price,
        returned_quantity,
        false as is_return_line,
        {#- Units as decimal(20,0): a difference of two integers, times a decimal(18,4), fits
            decimal(38,4) for every value the staged types admit (integer +-2^31, price < 10^14). -#}
        cast(cast(cast(quantity as bigint) - returned_quantity as decimal(20, 0)) * unit_price as decimal(38, 4))
            as line_value,
        concat_ws(', ',
            {{ unparseable_flag('raw_ordered_at', 'ordered_at', 'ordered_at') }},
            {{ unparseable_flag('raw_quantity', 'quantity', 'quantity') }},
            {{ unparseable_flag('raw_unit_price', 'unit_price', 'unit_price', 'decimal(18,4)', type_of.unit_price) }},
            {{ unparseable_flag('raw_returned_quantity', 'returned_quantity', 'returned_quantity') }}
        ) as unparseable_columns,
        raw_row_fingerprint
    from parsed
)

select * from final
