{#- Mean and median of every customer feature, per segment and over all customers, in
    original units: the profile that names a segment and that BI shows.

    The medians are exact and equal percentile_cont(0.5): the lower middle value, or the two
    middle values' interpolation, in the order of the values. They are read from each feature's
    histogram (one row per distinct value and segment, with its count) instead of an aggregate
    that holds every value in memory: at 10M customers that aggregate could not spill, and it
    ran out of memory under a lower memory_limit (docs/benchmarks_daily_notes.md). -#}
{%- set features = customer_features() %}

with

customers as (
    select
        featurized.*,
        scored.segment_id
    from {{ ref('int_customers_featurized') }} as featurized
    inner join {{ ref('int_customers_scored') }} as scored
        on featurized.customer_id = scored.customer_id
),

feature_names as (
    {%- for feature in features %}
    select {{ loop.index }} as feature_number, '{{ feature }}' as feature
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

-- One row per customer: every feature in the type its statistics are computed in.
feature_values as (
    select
        segment_id,
        {%- for feature in features %}
        cast({{ feature }} as double) as {{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    from customers
),

-- Per segment, and over all customers where is_overall is 1: one column per feature.
means_by_feature as (
    select
        segment_id,
        grouping(segment_id) as is_overall,
        {%- for feature in features %}
        {{ exact_avg(feature) }} as {{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    from feature_values
    group by rollup(segment_id)
),

means as (
    {%- for feature in features %}
    select {{ loop.index }} as feature_number, segment_id, is_overall, {{ feature }} as mean_value
    from means_by_feature
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

-- Each feature's values counted per segment in one pass over the customers, a grouping set
-- per feature (one row per customer and feature, 110M at 10M customers, grouped was slower).
value_counts_by_set as (
    select
        segment_id,
        case
            {%- for feature in features %}
            when grouping({{ feature }}) = 0 then {{ loop.index }}
            {%- endfor %}
        end as feature_number,
        case
            {%- for feature in features %}
            when grouping({{ feature }}) = 0 then {{ feature }}
            {%- endfor %}
        end as feature_value,
        count(*) as value_count
    from feature_values
    -- sqlfluff's DuckDB dialect cannot parse grouping sets
    -- noqa: disable=PRS
    group by grouping sets (
        {%- for feature in features %}
        (segment_id, {{ feature }}){{ ',' if not loop.last }}
        {%- endfor %}
    )
    -- noqa: enable=PRS
),

value_counts as (
    select feature_number, segment_id, feature_value, value_count
    from value_counts_by_set
    where feature_value is not null
),

histograms as (
    select feature_number, segment_id, 0 as is_overall, feature_value, value_count
    from value_counts
    union all
    select feature_number, null as segment_id, 1 as is_overall, feature_value, sum(value_count) as value_count
    from value_counts
    group by feature_number, feature_value
),

ranked_values as (
    {#- A value covers the positions from values_before to values_before + value_count - 1 in
        the sorted values (0-based); the middle positions are floor((n - 1) / 2) and floor(n / 2). -#}
    select
        feature_number,
        segment_id,
        is_overall,
        feature_value,
        sum(value_count) over (
            partition by feature_number, is_overall, segment_id order by feature_value
            rows between unbounded preceding and current row
        ) - value_count as values_before,
        value_count,
        sum(value_count) over (partition by feature_number, is_overall, segment_id) as value_total
    from histograms
),

middle_values as (
    select
        feature_number,
        segment_id,
        is_overall,
        max(case when values_before <= floor((value_total - 1) / 2)
            and floor((value_total - 1) / 2) < values_before + value_count then feature_value end) as lower_middle,
        max(case when values_before <= floor(value_total / 2)
            and floor(value_total / 2) < values_before + value_count then feature_value end) as upper_middle,
        max(value_total) % 2 = 1 as has_one_middle
    from ranked_values
    group by feature_number, segment_id, is_overall
),

stats as (
    select
        means.feature_number,
        means.segment_id,
        means.is_overall,
        means.mean_value,
        {#- As percentile_cont interpolates: lower + (upper - lower) * 0.5. -#}
        case
            when middle_values.has_one_middle then middle_values.lower_middle
            else middle_values.lower_middle + (middle_values.upper_middle - middle_values.lower_middle) * 0.5
        end as median_value
    from means
    left join middle_values
        on means.feature_number = middle_values.feature_number
        and means.is_overall = middle_values.is_overall
        and coalesce(means.segment_id, -1) = coalesce(middle_values.segment_id, -1)
),

final as (
    select
        per_segment.segment_id,
        feature_names.feature,
        per_segment.mean_value,
        per_segment.median_value,
        overall.mean_value as overall_mean_value,
        overall.median_value as overall_median_value
    from stats as per_segment
    inner join stats as overall
        on per_segment.feature_number = overall.feature_number
        and overall.is_overall = 1
    inner join feature_names
        on per_segment.feature_number = feature_names.feature_number
    where per_segment.is_overall = 0
)

select * from final
