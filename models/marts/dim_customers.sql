-- depends_on: {{ ref('int_segment_membership_changes') }}
{# (after the membership changes, which join the same inputs: at 10M customers a fit build,
    which compares every customer, ran out of DuckDB's 3 GB with the two side by side;
    docs/benchmarks_daily_notes.md) #}

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
