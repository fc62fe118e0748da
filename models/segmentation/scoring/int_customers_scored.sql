{#- Every customer assigned to the nearest centroid, in SQL: the fitted model is data, so
    scoring needs no Python (and score mode runs none). Ties go to the lower segment_id. A
    missing feature takes the model's stored impute value; one without an impute rule stops
    the build here (score mode) or at int_customers_sampled (fit mode). One row per customer
    with a distance column per segment of the stored model (macros/sql/nearest_segment.sql):
    at 10M customers 1.8 s in 1 GB, where rows of customers x segments grouped by customer took
    6 to 7 s and 3 GB.

    Daily builds (DuckDB): incremental in score mode. A customer keeps the stored score when the
    model and the customer's model features are the ones it was computed from (drop_stale_scores
    removes the others first), so a score build scores only the new and changed customers. Each
    row keeps what it was scored from: the model features, the model's run and var
    segmentation_features (scoring_spec). A fit build's model is new, so it keeps no score: it
    writes a new table, 8 s at 10M customers against 11 s for deleting every stored row and
    appending them all again (docs/benchmarks_daily_notes.md). -#}
{{ config(
    materialized=('incremental' if daily_builds_enabled() and segmentation_mode() == 'score' else 'table'),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ drop_stale_scores() }}",
) }}
{%- do check_missing_features(ref('int_customers_featurized')) %}
{%- set segment_ids = model_segment_ids(ref('int_segment_model_current')) %}

with

customers as (
    select
        customer_id,
        {%- for feature in model_features() %}
        {{ feature.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customers_featurized') }}
    {%- if is_incremental() %}
    where customer_id not in (select customer_id from {{ this }})
    {%- endif %}
),

centroids as (
    select segment_id, feature, centroid from {{ ref('int_segment_model_current') }}
),

scaling as (
    {{ pivot_feature_scaling(ref('int_segment_model_current')) }}
),

customers_in_model_space as (
    select
        customers.*,
        {%- for feature in model_features() %}
        {{ model_space_value('customers.' ~ feature.name, feature, 'scaling') }}
            as {{ feature.name }}__in_model_space{{ ',' if not loop.last }}
        {%- endfor %}
    from customers
    cross join scaling
),

centroids_wide as (
    select
        segment_id,
        {%- for feature in model_features() %}
        max(case when feature = '{{ feature.name }}' then centroid end) as {{ feature.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from centroids
    group by segment_id
),

-- one row per customer: for the n-th segment (ascending ids) its id and the customer's distance
-- to its centroid, as segment_id_<n> and distance_<n>
distances as (
    select
        customers_in_model_space.*
        {%- for segment_id in segment_ids %}
        {%- set n = loop.index %},
        centroid_{{ n }}.segment_id as segment_id_{{ n }},
        sqrt(
            {%- for feature in model_features() %}
            power(customers_in_model_space.{{ feature.name }}__in_model_space - centroid_{{ n }}.{{ feature.name }}, 2)
            {{- ' +' if not loop.last }}
            {%- endfor %}
        ) as distance_{{ n }}
        {%- endfor %}
    from customers_in_model_space
    {%- for segment_id in segment_ids %}
    cross join (select * from centroids_wide where segment_id = {{ segment_id }}) as centroid_{{ loop.index }}
    {%- else %}
    cross join centroids_wide  -- no stored model (no segments): nothing to score
    {%- endfor %}
),

nearest as (
    select
        distances.*,
        {{ nearest_distance(segment_ids | length) }} as distance_to_centroid
    from distances
),

model as (
    select max(run_id) as model_run_id from {{ ref('int_segment_model_current') }}
),

final as (
    select
        nearest.customer_id,
        {{ nearest_segment_id(segment_ids | length, 'nearest.distance_to_centroid') }} as segment_id,
        nearest.distance_to_centroid,
        model.model_run_id,
        -- when this build started: the membership changes compare the customers scored since
        -- the last accepted build (int_segment_membership_changes)
        {{ run_started_timestamp() }} as scored_at,
        cast({{ scoring_spec() }} as {{ dbt.type_string() }}) as scoring_spec,
        {%- for feature in model_features() %}
        nearest.{{ feature.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from nearest
    cross join model
)

select * from final
