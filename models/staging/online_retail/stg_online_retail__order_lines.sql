{{ config(enabled=orders_format() == 'online_retail') }}

{#- Both UCI layouts: "Online Retail" (InvoiceNo, UnitPrice, CustomerID) and "Online Retail II"
    (Invoice, Price, Customer ID). A cancellation (invoice "C...", negative quantity) becomes a
    return line: quantity 0, returned_quantity = units sent back, at the line's price. -#}
{%- set columns = orders_input_columns() -%}
{%- if 'invoiceno' in columns or not execute -%}
    {%- set layout = {'order': 'InvoiceNo', 'price': 'UnitPrice', 'customer': 'CustomerID', 'name': 'Online Retail'} -%}
{%- else -%}
    {%- set layout = {'order': 'Invoice', 'price': 'Price', 'customer': 'Customer ID', 'name': 'Online Retail II'} -%}
{%- endif -%}
{%- do require_columns(columns, [layout.order, 'StockCode', 'Quantity', 'InvoiceDate', layout.price, layout.customer],
                       layout.name) -%}
{%- set type_of = {} -%}
{%- for key, name in [('quantity', 'Quantity'), ('price', layout.price), ('date', 'InvoiceDate')] -%}
    {%- do type_of.update({key: (columns.get(name | lower) or ('', ''))[1]}) -%}
{%- endfor %}

with

invoice_lines as (
    select
        {{ input_source_file() }} as source_file,
        cast({{ input_line_number() }} as bigint) as source_line_number,
        {{ input_malformed_reason() }} as malformed_reason,
        {{ input_column(columns, layout.order) }} as raw_invoice,
        {{ input_column(columns, 'StockCode') }} as raw_stock_code,
        {{ input_column(columns, 'Quantity') }} as raw_quantity,
        {{ input_column(columns, 'InvoiceDate') }} as raw_invoice_date,
        {{ input_column(columns, layout.price) }} as raw_price,
        {{ input_column(columns, layout.customer) }} as raw_customer_id,
        {{ input_row_fingerprint(columns) }} as raw_row_fingerprint
    {#- noqa: sqlfluff's DuckDB grammar lacks the `select * rename (...)` the numbered input reads with #}
    from {{ orders_relation(numbered=true) }} -- noqa: PRS
),

parsed as (
    select
        source_file,
        source_line_number,
        malformed_reason,
        {{ clean_id('raw_invoice') }} as order_id,
        -- Exports that read the id as a number write "17850.0".
        regexp_replace({{ clean_id('raw_customer_id') }}, '[.]0+$', '') as customer_id,
        {{ parse_as('raw_invoice_date', 'timestamp', type_of.date) }} as ordered_at,
        {{ clean_id('raw_stock_code') }} as product_id,
        -- -2147483648 is an integer, but as a return its units (2147483648) are not.
        {{ parse_as('raw_quantity', 'integer', type_of.quantity) }} as parsed_quantity,
        {{ parse_as('raw_price', 'decimal(18,4)', type_of.price) }} as unit_price,
        raw_invoice_date,
        raw_quantity,
        raw_price,
        raw_row_fingerprint
    from invoice_lines
),

ranged as (
    select
        *,
        case when parsed_quantity > -2147483648 then parsed_quantity end as signed_quantity
    from parsed
),

flagged as (
    select
        *,
        coalesce(signed_quantity < 0 or upper(order_id) like 'C%', false) as is_return_line
    from ranged
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
        case when is_return_line then 0 else signed_quantity end as quantity,
        unit_price,
        case when is_return_line then abs(signed_quantity) else 0 end as returned_quantity,
        is_return_line,
        {#- Units as decimal(20,0) times a decimal(18,4) fit decimal(38,4) for every admitted value. -#}
        cast(
            cast(case when is_return_line then -abs(signed_quantity) else signed_quantity end as decimal(20, 0))
            * unit_price
            as decimal(38, 4)
        ) as line_value,
        concat_ws(', ',
            {{ unparseable_flag('raw_invoice_date', 'ordered_at', 'InvoiceDate') }},
            {{ unparseable_flag('raw_quantity', 'signed_quantity', 'Quantity') }},
            {{ unparseable_flag('raw_price', 'unit_price', layout.price, 'decimal(18,4)', type_of.price) }}
        ) as unparseable_columns,
        raw_row_fingerprint
    from flagged
)

select * from final
