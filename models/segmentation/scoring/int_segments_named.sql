{#- Each segment's name and suggested action, from the first naming rule (by priority) whose
    conditions all hold on the segment's profile. Rules are the rows of the seed
    segment_naming_rules (one row each, so a rule's name, priority and action cannot differ
    between its conditions); their conditions are the rows of segment_naming_conditions, and
    the fallback rule has none. The test valid_naming_rules checks both seeds before this runs.
    A missing or unknown statistic fails the condition rather than passing it. Two segments
    with the same name are told apart by a number, the higher net revenue first. -#}

with

segments as (
    select distinct segment_id from {{ ref('int_customers_scored') }}
),

segment_revenue as (
    select scored.segment_id, sum(featurized.net_spending) as net_revenue
    from {{ ref('int_customers_scored') }} as scored
    inner join {{ ref('int_customers_featurized') }} as featurized
        on scored.customer_id = featurized.customer_id
    group by scored.segment_id
),

feature_stats as (
    select * from {{ ref('int_segment_feature_stats') }}
),

naming_rules as (
    select * from {{ ref('segment_naming_rules') }}
),

naming_conditions as (
    select * from {{ ref('segment_naming_conditions') }}
),

condition_checks as (
    select
        segments.segment_id,
        naming_conditions.rule_id,
        naming_conditions.operator,
        case naming_conditions.statistic
            when 'mean' then feature_stats.mean_value
            when 'median' then feature_stats.median_value
        end as observed_value,
        naming_conditions.threshold * case naming_conditions.compare_to
            when 'overall_mean' then feature_stats.overall_mean_value
            when 'overall_median' then feature_stats.overall_median_value
            when 'value' then 1
        end as threshold_value
    from segments
    cross join naming_conditions
    left join feature_stats
        on segments.segment_id = feature_stats.segment_id
        and naming_conditions.feature = feature_stats.feature
),

failed_conditions as (
    select distinct segment_id, rule_id
    from condition_checks
    where not coalesce(
        case operator
            when '>=' then observed_value >= threshold_value
            when '<=' then observed_value <= threshold_value
            when '>' then observed_value > threshold_value
            when '<' then observed_value < threshold_value
        end,
        false)
),

-- a rule matches when none of its conditions fails; the fallback rule has none
matching_rules as (
    select
        segments.segment_id,
        naming_rules.rule_id,
        naming_rules.priority,
        naming_rules.segment_name,
        naming_rules.suggested_action
    from segments
    cross join naming_rules
    left join failed_conditions
        on segments.segment_id = failed_conditions.segment_id
        and naming_rules.rule_id = failed_conditions.rule_id
    where failed_conditions.rule_id is null
),

first_match as (
    select
        *,
        row_number() over (partition by segment_id order by priority, rule_id) as match_rank
    from matching_rules
),

named as (
    select
        segments.segment_id,
        coalesce(first_match.segment_name, 'Segment ' || cast(segments.segment_id as {{ dbt.type_string() }}))
            as base_name,
        first_match.suggested_action,
        first_match.rule_id as naming_rule_id,
        segment_revenue.net_revenue
    from segments
    left join first_match
        on segments.segment_id = first_match.segment_id
        and first_match.match_rank = 1
    left join segment_revenue on segments.segment_id = segment_revenue.segment_id
),

final as (
    select
        segment_id,
        case
            when count(*) over (partition by base_name) > 1
                then base_name || ' ' || cast(
                    row_number() over (partition by base_name order by net_revenue desc, segment_id asc)
                    as {{ dbt.type_string() }})
            else base_name
        end as segment_name,
        suggested_action,
        naming_rule_id
    from named
)

select * from final
