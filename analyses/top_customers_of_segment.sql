{#- The customers of one segment who spend most, with how typical they are of it.
    dbt compile --select top_customers_of_segment --vars '{segment_id: 1, top_n: 50}'
    An id dim_segment_profiles does not hold stops the query, naming the ids there are. -#}

with

customers as (
    select * from {{ published_ref('dim_customers') }}
),

final as (
    select
        customer_id,
        segment_name,
        net_spending,
        orders,
        units_ordered,
        return_rate,
        recency_days,
        distance_to_centroid
    from customers
    where segment_id = {{ known_segment_id('segment_id', 1, published_ref('dim_segment_profiles')) }}
    order by net_spending desc, customer_id
    limit {{ var('top_n', 50) | int }}
)

select * from final
