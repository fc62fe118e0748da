with

customers as (
    select * from {{ ref('int_customers_featurized') }}
),

scored as (
    select customer_id, segment_id, distance_to_centroid from {{ ref('int_customers_scored') }}
),

segments as (
    select segment_id, segment_name from {{ ref('int_segments_named') }}
),

final as (
    select
        customers.customer_id,
        cast(scored.segment_id as bigint) as segment_id,
        segments.segment_name,
        scored.distance_to_centroid,
        {%- for feature in customer_features() %}
        customers.{{ feature }},
        {%- endfor %}
        customers.returned_value,
        customers.first_ordered_at,
        customers.last_ordered_at
    from customers
    inner join scored on customers.customer_id = scored.customer_id
    inner join segments on scored.segment_id = segments.segment_id
)

select * from final
