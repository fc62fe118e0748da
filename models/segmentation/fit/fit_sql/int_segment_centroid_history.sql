{#- The SQL path's model history rows, the same as segmentation.model_store.centroid_history_rows:
    this fit's centroids on every model feature (0 for a constant one) with stable ids. The new
    centroids are matched to the previous accepted fit's (fit_number counts accepted fits), re-expressed in this fit's model space, closest
    pair first within segment_match_max_distance (macro kmeans_greedy_matching); unmatched
    segments get ids above every id used before, by size. Appended (config in the YAML). -#}
{%- set max_distance = var('segment_match_max_distance') | float -%}
{%- if not max_distance > 0 -%}
    {{ exceptions.raise_compiler_error("segment_match_max_distance must be > 0, got " ~ var('segment_match_max_distance')) }}
{%- endif -%}
{%- set k_max = kmeans_k_max() %}

with

run as (
    select run_id, run_at
    from {{ ref('int_segment_run') }}
),

fitted as (
    select segment_id, feature, centroid, customers_in_sample
    from {{ ref('int_segment_centroids_fitted') }}
),

scaling as (
    select feature, feature_position, transform, impute, impute_value, clip_lower, clip_upper, center, scale, is_used
    from {{ ref('int_segment_feature_scaling') }}
),

history as (
    {% if is_incremental() -%}
    -- only accepted builds' fits: a rejected, failed or killed fit is never matched to
    select fit_number, segment_id, feature, transform, centroid, center, scale
    from {{ this }}
    where run_id in {{ accepted_run_ids() }}
    {%- else -%}
    select
        cast(null as bigint) as fit_number,
        cast(null as bigint) as segment_id,
        cast(null as {{ dbt.type_string() }}) as feature,
        cast(null as {{ dbt.type_string() }}) as transform,
        cast(null as double) as centroid,
        cast(null as double) as center,
        cast(null as double) as scale
    from run
    where 1 = 0
    {%- endif %}
),

history_summary as (
    select
        max(fit_number) as previous_fit_number,
        coalesce(max(segment_id), 0) as max_segment_id
    from history
),

previous as (
    select history.*
    from history
    inner join history_summary on history.fit_number = history_summary.previous_fit_number
),

-- the previous fit was on the same features and transforms (scaling may differ)
model_keys as (
    select
        count(*) as previous_keys,
        sum(case when scaling.feature is not null then 1 else 0 end) as shared_keys
    from (select distinct feature, transform from previous) as previous_keys
    left join scaling
        on previous_keys.feature = scaling.feature and previous_keys.transform = scaling.transform
),

same_model as (
    select
        model_keys.previous_keys > 0
            and model_keys.previous_keys = current_keys.features
            and model_keys.shared_keys = current_keys.features as is_same_model
    from model_keys
    cross join (select count(*) as features from scaling) as current_keys -- noqa: ST05
),

-- clipping and the transform are the same function in both fits: undo one standardisation,
-- apply the other
previous_moved as (
    select
        previous.segment_id as previous_segment_id,
        previous.feature,
        case when scaling.scale > 0 and previous.scale > 0
            then ((previous.centroid * previous.scale + previous.center) - scaling.center) / scaling.scale
            else 0
        end as centroid
    from previous
    inner join scaling on previous.feature = scaling.feature
),

pair_distances as (
    select
        fitted.segment_id,
        previous_moved.previous_segment_id,
        sqrt(sum(power(fitted.centroid - previous_moved.centroid, 2))) as distance
    from fitted
    inner join previous_moved on fitted.feature = previous_moved.feature
    group by fitted.segment_id, previous_moved.previous_segment_id
),

candidates as (
    select pair_distances.*
    from pair_distances
    cross join same_model
    where same_model.is_same_model and pair_distances.distance <= {{ max_distance }}
),

{{ kmeans_greedy_matching('candidates', k_max) }}

matches as (
    select segment_id, previous_segment_id, distance
    from matching_{{ k_max }}
    where matched_at > 0
),

segments as (
    select segment_id, max(customers_in_sample) as customers_in_sample
    from fitted
    group by segment_id
),

stable_ids as (
    select
        segments.segment_id as own_segment_id,
        segments.customers_in_sample,
        matches.distance as matched_distance,
        coalesce(
            matches.previous_segment_id,
            history_summary.max_segment_id + sum(case when matches.segment_id is null then 1 else 0 end) over (
                order by segments.segment_id rows between unbounded preceding and current row
            )
        ) as segment_id
    from segments
    left join matches on segments.segment_id = matches.segment_id
    cross join history_summary
),

retired as (
    select count(*) as retired_count, {{ kmeans_ordered_id_list('segment_id') }} as retired_ids
    from (
        select distinct previous.segment_id
        from previous
        left join matches on previous.segment_id = matches.previous_segment_id
        where matches.previous_segment_id is null
    ) as unmatched
),

assignment as (
    select
        cast(coalesce(history_summary.previous_fit_number, 0) + 1 as bigint) as fit_number,
        case
            when history_summary.previous_fit_number is null then 'first run: ids by size'
            when same_model.is_same_model then
                'matched ' || cast(matched.segments as {{ dbt.type_string() }})
                || ' of ' || cast(own.segments as {{ dbt.type_string() }})
                || ' to fit ' || cast(history_summary.previous_fit_number as {{ dbt.type_string() }})
            else 'features or transforms changed: new ids'
        end
        || case when retired.retired_count > 0 then '; retired [' || retired.retired_ids || ']' else '' end
            as id_assignment
    from history_summary
    cross join same_model
    cross join retired
    cross join (select count(*) as segments from matches) as matched -- noqa: ST05
    cross join (select count(*) as segments from segments) as own -- noqa: ST05
),

final as (
    select
        run.run_id,
        assignment.fit_number,
        run.run_at as fitted_at,
        cast(stable_ids.segment_id as bigint) as segment_id,
        scaling.feature,
        scaling.feature_position,
        scaling.transform,
        scaling.impute,
        scaling.impute_value,
        scaling.clip_lower,
        scaling.clip_upper,
        scaling.center,
        scaling.scale,
        scaling.is_used,
        coalesce(fitted.centroid, 0) as centroid,
        cast(stable_ids.customers_in_sample as bigint) as customers_in_sample,
        stable_ids.matched_distance,
        assignment.id_assignment
    from stable_ids
    cross join scaling
    left join fitted
        on stable_ids.own_segment_id = fitted.segment_id and scaling.feature = fitted.feature
    cross join run
    cross join assignment
)

select * from final
