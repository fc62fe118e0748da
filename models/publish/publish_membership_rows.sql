{#- This build's rows of fct_segment_memberships (every member customer), kept in one table: both
    the view's grain test and publishing (publish_marts, run_rows) need them, and the view expands
    them from every change row (at 10M customers a group by and a join over 10M customers, 6 to
    8 s alone; side by side with the customer-level tests it ran DuckDB out of memory).

    On DuckDB the table is incremental. When it holds the rows of the last accepted build
    (macro last_accepted_membership_rows), a build applies its changes to them: the pre-hook
    removes the rows of the customers this build changed (int_segment_membership_changes: their
    rows relative to that build), this model adds the changed customers who are members, and the
    post-hook gives every row this build's run and segment names (macros/sql/membership_rows.sql). A
    --full-refresh writes the same rows whole. Otherwise (the first build, the last build not
    accepted, Spark, where a table is not read while it is replaced) the table is rewritten with
    the view's rows for this build, its run id put in the query as a literal so the database
    filters the view's runs before expanding them. assert_membership_rows_are_the_builds_members
    checks the result against the build's segment sizes. -#}
{{ config(
    materialized=('incremental' if target.type == 'duckdb' else 'table'),
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook=["{{ checkpoint_before_wide_reads() }}", "{{ replace_membership_rows() }}"],
    post_hook=["{{ rename_membership_rows() }}", "{{ stamp_membership_rows() }}"],
) }}
{#- (after the marts over every customer and their tests: at 10M customers, with the 3 GB of a
    daily build, the view's rows built side by side with them ran out of memory) -#}
-- depends_on: {{ ref('dim_customers') }}
-- depends_on: {{ ref('fct_segment_monthly_revenue') }}
-- depends_on: {{ ref('int_segment_run') }}
-- depends_on: {{ ref('int_segment_membership_changes') }}
-- depends_on: {{ ref('int_segment_membership_runs') }}
-- depends_on: {{ ref('int_segment_run_segments') }}
{%- set run_id = this_build_run()[0] if execute else '' %}
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

{%- if is_incremental() %}

-- the changed customers who are members: the pre-hook removed their stored rows (and those of
-- the customers gone), the others keep theirs
members as (
    select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash
    from changed
    where is_member
),

{%- else %}

-- a --full-refresh: the last accepted build's rows of the customers this build did not change,
-- and the changed customers who are members
members as (
    select
        stored.customer_id,
        stored.segment_id,
        stored.segment_name,
        stored.distance_to_centroid,
        stored.net_spending,
        stored.feature_hash
    from {{ stored }} as stored
    where not exists (select 1 from changed where changed.customer_id = stored.customer_id)
    union all
    select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash
    from changed
    where is_member
),

{%- endif %}

-- the names this build gives the segments, as the view takes them
segment_names as (
    select segment_id, segment_name from {{ ref('int_segment_run_segments') }}
    where run_id = '{{ run_id }}'
),

-- run_id and run_at last: the post-hook gives the rows kept from the build before this build's
-- values by adding those two columns again
final as (
    select
        members.customer_id,
        members.segment_id,
        coalesce(segment_names.segment_name, members.segment_name) as segment_name,
        members.distance_to_centroid,
        members.net_spending,
        members.feature_hash,
        run.run_id,
        run.run_at
    from members
    cross join run
    left join segment_names on members.segment_id = segment_names.segment_id
)

select * from final

{%- else %}

select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash, run_id, run_at
from {{ ref('fct_segment_memberships') }}
where run_id = '{{ run_id }}'

{%- endif %}
