{#- Net revenue (purchases minus returns) per segment and calendar month, with each segment's
    share of the month: from the published mart fct_segment_monthly_revenue, which sums the valid
    order lines. -#}

with

months as (
    select * from {{ published_ref('fct_segment_monthly_revenue') }}
),

final as (
    select
        segment_id,
        segment_name,
        order_month,
        active_customers,
        net_revenue,
        cast(net_revenue as double)
            / nullif(cast(sum(net_revenue) over (partition by order_month) as double), 0)
            as share_of_month_net_revenue
    from months
    order by order_month, segment_id
)

select * from final
