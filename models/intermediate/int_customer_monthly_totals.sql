{#- One row per customer and calendar month with a valid line: the net value of those lines.
    fct_segment_monthly_revenue adds these up per segment, so it reads one row per customer-month
    (40M at 10M customers), not every order line (132M).

    Daily builds (docs/daily_builds.md): incremental as int_customer_order_totals, with the same
    rule: a build sums again only the customers with a line judged since the stored rows
    (judged_at after totals_as_of), from all their valid lines, after the pre-hook removed their
    rows; the others keep theirs, which are the ones a build from scratch gives them. -#}
{{ customer_totals_config() }}
-- depends_on: {{ ref('int_order_lines_of_touched_customers') }}

with

order_lines as (
    {{ valid_lines_to_sum(['customer_id', 'ordered_at', 'line_value']) }}
),

final as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'ordered_at') }} as date) as order_month,
        cast(sum(line_value) as decimal(38, 4)) as net_value,
        {{ run_started_timestamp() }} as totals_as_of,
        cast({{ customer_totals_summed_by() }} as {{ dbt.type_string() }}) as summed_by
    from order_lines
    group by 1, 2
)

select * from final
