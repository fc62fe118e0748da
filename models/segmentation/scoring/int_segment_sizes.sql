{#- Each segment's size and net revenue in this build: what dim_segment_profiles shows and what
    the run records keep, computed once here so no run record reads a mart. -#}

with

customers as (
    select
        scored.segment_id,
        featurized.net_spending
    from {{ ref('int_customers_scored') }} as scored
    inner join {{ ref('int_customers_featurized') }} as featurized
        on scored.customer_id = featurized.customer_id
),

final as (
    select
        segment_id,
        count(*) as customers,
        sum(net_spending) as net_revenue
    from customers
    group by segment_id
)

select * from final
