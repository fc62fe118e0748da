{#- The wide profile of a FIXED set of features: those whose mean_<feature> and
    median_<feature> columns its contract lists (_marts__models.yml), so a new customer feature
    leaves this mart as it is; the long-form mart dim_segment_feature_profiles has every feature. -#}
{%- set profiled = [] -%}
{%- for column in model.columns.values() if column.name.startswith('mean_') -%}
    {%- do profiled.append(column.name[5:]) -%}
{%- endfor -%}

with

segments as (
    select segment_id, segment_name, suggested_action, naming_rule_id
    from {{ ref('int_segments_named') }}
),

feature_stats as (
    select * from {{ ref('int_segment_feature_stats') }}
),

sizes as (
    select segment_id, customers, net_revenue from {{ ref('int_segment_sizes') }}
),

profiles_wide as (
    select
        segment_id,
        {%- for feature in profiled %}
        max(case when feature = '{{ feature }}' then mean_value end) as mean_{{ feature }},
        max(case when feature = '{{ feature }}' then median_value end) as median_{{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    from feature_stats
    group by segment_id
),

final as (
    select
        sizes.segment_id,
        segments.segment_name,
        segments.suggested_action,
        segments.naming_rule_id,
        sizes.customers,
        {{ share_of('sizes.customers') }} as share_of_customers,
        sizes.net_revenue,
        {{ share_of('sizes.net_revenue') }} as share_of_net_revenue,
        {%- for feature in profiled %}
        profiles_wide.mean_{{ feature }},
        profiles_wide.median_{{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    from sizes
    inner join segments on sizes.segment_id = segments.segment_id
    inner join profiles_wide on sizes.segment_id = profiles_wide.segment_id
)

select * from final
