{#- Two segments side by side on every feature, with the ratio of their means.
    dbt compile --select compare_two_segments --vars '{segment_a: 1, segment_b: 2}'
    An id segment_profiles does not hold stops the query, naming the ids there are. -#}

with

profiles as (
    select * from {{ published_ref('segment_profiles') }}
),

chosen as (
    select
        {{ known_segment_id('segment_a', 1, published_ref('segment_profiles')) }} as segment_a,
        {{ known_segment_id('segment_b', 2, published_ref('segment_profiles')) }} as segment_b
),

{% for feature in customer_features() -%}
{{ feature }}__compared as (
    select
        '{{ feature }}' as feature,
        max(case when profiles.segment_id = chosen.segment_a then profiles.mean_{{ feature }} end) as mean_a,
        max(case when profiles.segment_id = chosen.segment_b then profiles.mean_{{ feature }} end) as mean_b,
        max(case when profiles.segment_id = chosen.segment_a then profiles.median_{{ feature }} end) as median_a,
        max(case when profiles.segment_id = chosen.segment_b then profiles.median_{{ feature }} end) as median_b
    from profiles
    cross join chosen
),

{% endfor -%}

final as (
    {%- for feature in customer_features() %}
    select *, mean_a / nullif(mean_b, 0) as mean_ratio_a_to_b from {{ feature }}__compared
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
)

select * from final
