{#- This build's rows of fct_segment_memberships (every member customer), computed once: both the
    view's grain test and publishing (publish_marts, run_rows) need them, and the view expands
    them from every change row (at 10M customers a group by and a join over 10M customers, 6 to
    8 s alone; side by side with the customer-level tests it ran DuckDB out of memory).

    When the stored table holds the rows of the last accepted build, this build's rows are those
    with the customers this build changed (int_segment_membership_changes: their rows relative to
    that build) replaced or removed: one pass over the stored rows. Otherwise (the first build,
    the last build not accepted, Spark, where a table is not read while it is replaced) the
    view's rows for this build, its run id put in the query as a literal so the database filters
    the view's runs before expanding them. -#}
{{ config(materialized='table', pre_hook="{{ checkpoint_before_wide_reads() }}") }}
{#- (after the marts over every customer and their tests: at 10M customers, with the 3 GB of a
    daily build, the view's rows built side by side with them ran out of memory) -#}
-- depends_on: {{ ref('dim_customers') }}
-- depends_on: {{ ref('fct_segment_monthly_revenue') }}
-- depends_on: {{ ref('int_segment_run') }}
-- depends_on: {{ ref('int_segment_membership_changes') }}
-- depends_on: {{ ref('int_segment_membership_runs') }}
-- depends_on: {{ ref('int_segment_run_segments') }}
{%- set run_id = run_query("select run_id from " ~ ref('int_segment_run')).rows[0][0] if execute else '' %}
{%- if execute and not modules.re.match('^[A-Za-z0-9_-]+$', run_id) %}
    {{ exceptions.raise_compiler_error("int_segment_run: run id '" ~ run_id ~ "' must be letters, digits, '-' or '_'") }}
{%- endif %}
{%- set stored = last_accepted_membership_rows() %}

{%- if stored is not none %}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

changed as (
    select customer_id, is_member, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash
    from {{ ref('int_segment_membership_changes') }}
    where run_id = '{{ run_id }}'
),

-- the last accepted build's rows of the customers this build did not change
kept as (
    select
        stored.customer_id,
        stored.segment_id,
        stored.segment_name,
        stored.distance_to_centroid,
        stored.net_spending,
        stored.feature_hash
    from {{ stored }} as stored
    where not exists (select 1 from changed where changed.customer_id = stored.customer_id)
),

members as (
    select * from kept
    union all
    select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash
    from changed
    where is_member
),

-- the names this build gives the segments, as the view takes them
segment_names as (
    select segment_id, segment_name from {{ ref('int_segment_run_segments') }}
    where run_id = '{{ run_id }}'
),

final as (
    select
        run.run_id,
        run.run_at,
        members.customer_id,
        members.segment_id,
        coalesce(segment_names.segment_name, members.segment_name) as segment_name,
        members.distance_to_centroid,
        members.net_spending,
        members.feature_hash
    from members
    cross join run
    left join segment_names on members.segment_id = segment_names.segment_id
)

select * from final

{%- else %}

select * from {{ ref('fct_segment_memberships') }}
where run_id = '{{ run_id }}'

{%- endif %}
