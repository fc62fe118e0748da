{#- The months add up to the segment: per segment, fct_segment_monthly_revenue's net revenue summed
    over the months equals dim_segment_profiles' net_revenue, and no month counts more active
    customers than the segment has. Returns a row per segment where either breaks. -#}

with

months as (
    select
        segment_id,
        sum(net_revenue) as net_revenue,
        max(active_customers) as most_active_customers
    from {{ ref('fct_segment_monthly_revenue') }}
    group by segment_id
),

profiles as (
    select segment_id, customers, net_revenue from {{ ref('dim_segment_profiles') }}
),

final as (
    select
        profiles.segment_id,
        profiles.net_revenue as profile_net_revenue,
        months.net_revenue as monthly_net_revenue,
        profiles.customers,
        months.most_active_customers
    from profiles
    left join months on profiles.segment_id = months.segment_id
    where months.net_revenue is distinct from profiles.net_revenue
        or months.most_active_customers > profiles.customers
)

select * from final
