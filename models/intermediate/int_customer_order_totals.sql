{#- One row per customer with valid lines: the sums over their valid lines the features are
    computed from (int_customers_featurized), and the time of their last valid line.

    Daily builds (docs/daily_builds.md): on DuckDB with file input the table is incremental.
    A build sums again only the customers with a line judged since the stored totals
    (judged_at after totals_as_of: a new line, or a stored one whose verdict was reconsidered),
    from all their valid lines; the others keep their row, which is the one a build from
    scratch gives them. -#}
{{ customer_totals_config() }}
-- depends_on: {{ ref('int_order_lines_of_touched_customers') }}

with

order_lines as (
    {{ valid_lines_to_sum(['customer_id', 'order_id', 'product_id', 'ordered_at', 'quantity',
                           'unit_price', 'returned_quantity', 'is_return_line']) }}
),

final as (
    select
        customer_id,
        count(distinct case when not is_return_line then order_id end) as orders,
        cast(sum(quantity) as bigint) as units_ordered,
        cast(sum(returned_quantity) as bigint) as units_returned,
        -- Units as decimal(20,0): an integer times a decimal(18,4) overflows DuckDB's decimal(18).
        cast(sum(cast(quantity as decimal(20, 0)) * unit_price) as decimal(38, 4)) as gross_spending,
        cast(sum(cast(returned_quantity as decimal(20, 0)) * unit_price) as decimal(38, 4)) as returned_value,
        count(distinct case when not is_return_line then product_id end) as distinct_products,
        min(case when not is_return_line then ordered_at end) as first_ordered_at,
        max(case when not is_return_line then ordered_at end) as last_ordered_at,
        max(ordered_at) as last_line_at,
        {{ run_started_timestamp() }} as totals_as_of,
        cast({{ customer_totals_summed_by() }} as {{ dbt.type_string() }}) as summed_by
    from order_lines
    group by customer_id
)

select * from final
