{#- Two segments side by side on every feature, with the ratio of their means.
    dbt compile --select compare_two_segments --vars '{segment_a: 1, segment_b: 2}' -#}
{%- set segment_a = var('segment_a', 1) | int -%}
{%- set segment_b = var('segment_b', 2) | int %}

with

profiles as (
    select * from {{ ref('segment_profiles') }}
),

{% for feature in customer_features() -%}
{{ feature }}__compared as (
    select
        '{{ feature }}' as feature,
        max(case when segment_id = {{ segment_a }} then mean_{{ feature }} end) as mean_a,
        max(case when segment_id = {{ segment_b }} then mean_{{ feature }} end) as mean_b,
        max(case when segment_id = {{ segment_a }} then median_{{ feature }} end) as median_a,
        max(case when segment_id = {{ segment_b }} then median_{{ feature }} end) as median_b
    from profiles
),

{% endfor -%}

final as (
    {%- for feature in customer_features() %}
    select *, mean_a / nullif(mean_b, 0) as mean_ratio_a_to_b from {{ feature }}__compared
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
)

select * from final
