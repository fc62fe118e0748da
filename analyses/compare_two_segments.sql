{#- Two segments side by side on every customer feature, with the ratio of their means.
    dbt compile --select compare_two_segments --vars '{segment_a: 1, segment_b: 2}'
    Read from the long-form dim_segment_feature_profiles, so a newly added feature is compared too.
    An id dim_segment_profiles does not hold stops the query, naming the ids there are. -#}

with

profiles as (
    select * from {{ published_ref('dim_segment_feature_profiles') }}
),

chosen as (
    select
        {{ known_segment_id('segment_a', 1, published_ref('dim_segment_profiles')) }} as segment_a,
        {{ known_segment_id('segment_b', 2, published_ref('dim_segment_profiles')) }} as segment_b
),

compared as (
    select
        profiles.feature,
        min(profiles.feature_position) as feature_position,
        max(case when profiles.segment_id = chosen.segment_a then profiles.mean_value end) as mean_a,
        max(case when profiles.segment_id = chosen.segment_b then profiles.mean_value end) as mean_b,
        max(case when profiles.segment_id = chosen.segment_a then profiles.median_value end) as median_a,
        max(case when profiles.segment_id = chosen.segment_b then profiles.median_value end) as median_b
    from profiles
    cross join chosen
    group by profiles.feature
)

select
    feature,
    mean_a,
    mean_b,
    median_a,
    median_b,
    mean_a / nullif(mean_b, 0) as mean_ratio_a_to_b
from compared
order by feature_position
