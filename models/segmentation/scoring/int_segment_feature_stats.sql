{#- Mean and median of every customer feature, per segment and over all customers, in
    original units: the profile that names a segment and that BI shows. -#}

with

customers as (
    select
        featurized.*,
        scored.segment_id
    from {{ ref('int_customers_featurized') }} as featurized
    inner join {{ ref('int_customers_scored') }} as scored
        on featurized.customer_id = scored.customer_id
),

{% for feature in customer_features() -%}
{{ feature }}__stats as (
    select
        segment_id,
        '{{ feature }}' as feature,
        {{ exact_avg('cast(' ~ feature ~ ' as double)') }} as mean_value,
        cast({{ quantile('cast(' ~ feature ~ ' as double)', 0.5) }} as double) as median_value
    from customers
    group by segment_id
),

{{ feature }}__overall as (
    select
        '{{ feature }}' as feature,
        {{ exact_avg('cast(' ~ feature ~ ' as double)') }} as overall_mean_value,
        cast({{ quantile('cast(' ~ feature ~ ' as double)', 0.5) }} as double) as overall_median_value
    from customers
),

{% endfor -%}

per_segment as (
    {%- for feature in customer_features() %}
    select * from {{ feature }}__stats
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

overall as (
    {%- for feature in customer_features() %}
    select * from {{ feature }}__overall
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        per_segment.segment_id,
        per_segment.feature,
        per_segment.mean_value,
        per_segment.median_value,
        overall.overall_mean_value,
        overall.overall_median_value
    from per_segment
    inner join overall on per_segment.feature = overall.feature
)

select * from final
