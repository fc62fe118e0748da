{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false, on_schema_change='fail',
    pre_hook="{{ checkpoint_before_wide_reads() }}") }}
{#- Append-only: the membership history as changes (macros/sql/membership_changes.sql). A row
    for each customer whose segment, distance to its centroid, net spending or feature hash in
    this build differs from their row in the last accepted build, who is new (had_previous
    false) or gone (is_member false), with the previous values beside the new ones.
    fct_segment_memberships (a view) gives every customer's row in every build from these rows.

    Who is compared: in a daily build, the customers with a line judged since the last accepted
    build (new lines, lines judged again) or a score computed since (a fit's new model, changed
    model features); every other customer has the row that build stored. At 10M customers a
    day's file touches 1.5% of them: writing every customer's row each build took 12 s
    (docs/benchmarks_daily_notes.md). The compared customers are int_segment_membership_compared.
    Every customer is compared in the first build, when there is no accepted build yet, when
    more than a tenth of them (and 100,000) would be (a large fit build), and with var
    membership_changes_compare_all (macro membership_changes_since).

    The first build of this table on a warehouse whose fct_segment_memberships is still the old
    table of every customer in every build writes that history's changes too (its accepted
    builds), before the table is replaced by the view. -#}
-- depends_on: {{ ref('int_order_lines_validated') }}
-- depends_on: {{ ref('int_segment_membership_compared') }}
{%- set since = membership_changes_since() %}
{%- set old_table = none if is_incremental() else stored_membership_table() %}
{%- set previous_rows = last_accepted_membership_rows() %}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

{%- if since is not none %}

-- who can differ from the last accepted build
compared_customers as (
    select customer_id from {{ ref('int_segment_membership_compared') }}
),
{%- endif %}

{%- if old_table is not none %}

-- the old table's accepted builds, numbered in time order; a customer's row is a change when
-- they were not a member in the build before or their values differ from it
old_rows as (
    select run_id, run_at, customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash
    from {{ old_table }}
    where run_id in {{ accepted_run_ids() }}
),

old_runs as (
    select
        run_id,
        run_at,
        row_number() over (order by run_at, run_id) as run_number
    from (select distinct run_id, run_at from old_rows) as distinct_runs
),

old_numbered as (
    select
        old_rows.*,
        old_runs.run_number,
        lag(old_runs.run_number) over customer_runs as previous_number,
        lag(old_rows.segment_id) over customer_runs as previous_segment_id,
        lag(old_rows.distance_to_centroid) over customer_runs as previous_distance,
        lag(old_rows.net_spending) over customer_runs as previous_net_spending,
        lag(old_rows.feature_hash) over customer_runs as previous_feature_hash,
        lead(old_runs.run_number) over customer_runs as next_number
    from old_rows
    inner join old_runs on old_rows.run_id = old_runs.run_id
    window customer_runs as (partition by old_rows.customer_id order by old_runs.run_number)
),

old_member_changes as (
    select
        run_id,
        run_at,
        customer_id,
        true as is_member,
        segment_id,
        segment_name,
        distance_to_centroid,
        net_spending,
        feature_hash,
        coalesce(previous_number = run_number - 1, false) as had_previous,
        case when previous_number = run_number - 1 then previous_segment_id end as previous_segment_id,
        case when previous_number = run_number - 1 then previous_net_spending end as previous_net_spending,
        case when previous_number = run_number - 1 then previous_feature_hash end as previous_feature_hash
    from old_numbered
    where previous_number is null
        or previous_number <> run_number - 1
        or segment_id is distinct from previous_segment_id
        or distance_to_centroid is distinct from previous_distance
        or net_spending is distinct from previous_net_spending
        or feature_hash is distinct from previous_feature_hash
),

old_gone as (
    select
        next_run.run_id,
        next_run.run_at,
        old_numbered.customer_id,
        false as is_member,
        cast(null as bigint) as segment_id,
        cast(null as {{ dbt.type_string() }}) as segment_name,
        cast(null as double) as distance_to_centroid,
        cast(null as decimal(38, 4)) as net_spending,
        cast(null as {{ dbt.type_string() }}) as feature_hash,
        true as had_previous,
        old_numbered.segment_id as previous_segment_id,
        old_numbered.net_spending as previous_net_spending,
        old_numbered.feature_hash as previous_feature_hash
    from old_numbered
    inner join old_runs as next_run on next_run.run_number = old_numbered.run_number + 1
    where old_numbered.next_number is null or old_numbered.next_number <> old_numbered.run_number + 1
),
{%- endif %}

-- each compared customer's row in the last accepted build: from the table of that build's rows
-- when it holds them (macro last_accepted_membership_rows), else the last of their change rows
previous_members as (
    {%- if is_incremental() and previous_rows is not none %}
    select customer_id, segment_id, distance_to_centroid, net_spending, feature_hash
    from {{ previous_rows }}
    {%- if since is not none %}
    where customer_id in (select compared_customers.customer_id from compared_customers)
    {%- endif %}
    {%- elif is_incremental() %}
    select customer_id, segment_id, distance_to_centroid, net_spending, feature_hash
    from (
        {{ last_membership_change(
            "select * from " ~ this ~ " where run_id in " ~ accepted_run_ids()
            ~ (" and customer_id in (select customer_id from compared_customers)" if since is not none else "")) }}
    ) as last_changes
    where is_member
    {%- elif old_table is not none %}
    select customer_id, segment_id, distance_to_centroid, net_spending, feature_hash
    from old_rows
    where run_id = (select run_id from old_runs where run_number = (select max(run_number) from old_runs))
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as bigint) as segment_id,
        cast(null as double) as distance_to_centroid,
        cast(null as decimal(38, 4)) as net_spending,
        cast(null as {{ dbt.type_string() }}) as feature_hash
    where 1 = 0
    {%- endif %}
),

-- the compared customers as dim_customers shows them (the same inner joins), read from its
-- inputs: an intermediate model reads no mart, and this one need not wait for dim_customers
current_members as (
    select
        customers.customer_id,
        scored.segment_id,
        segments.segment_name,
        scored.distance_to_centroid,
        customers.net_spending,
        {{ dbt.hash(dbt.concat(model_feature_text('customers'))) }} as feature_hash
    {%- if since is none %}
    from {{ ref('int_customers_featurized') }} as customers
    inner join {{ ref('int_customers_scored') }} as scored on customers.customer_id = scored.customer_id
    {%- else %}
    from (
        select * from {{ ref('int_customers_featurized') }}
        where customer_id in (select compared_customers.customer_id from compared_customers)
    ) as customers
    inner join (
        select * from {{ ref('int_customers_scored') }}
        where customer_id in (select compared_customers.customer_id from compared_customers)
    ) as scored on customers.customer_id = scored.customer_id
    {%- endif %}
    inner join {{ ref('int_segments_named') }} as segments on scored.segment_id = segments.segment_id
),

changes as (
    select
        run.run_id,
        run.run_at,
        coalesce(current_members.customer_id, previous_members.customer_id) as customer_id,
        current_members.customer_id is not null as is_member,
        current_members.segment_id,
        current_members.segment_name,
        current_members.distance_to_centroid,
        current_members.net_spending,
        current_members.feature_hash,
        previous_members.customer_id is not null as had_previous,
        previous_members.segment_id as previous_segment_id,
        previous_members.net_spending as previous_net_spending,
        previous_members.feature_hash as previous_feature_hash
    from current_members
    full outer join previous_members on current_members.customer_id = previous_members.customer_id
    cross join run
    where current_members.customer_id is null
        or previous_members.customer_id is null
        or current_members.segment_id is distinct from previous_members.segment_id
        or current_members.distance_to_centroid is distinct from previous_members.distance_to_centroid
        or current_members.net_spending is distinct from previous_members.net_spending
        or current_members.feature_hash is distinct from previous_members.feature_hash
),

final as (
    {%- if old_table is not none %}
    select * from old_member_changes
    union all
    select * from old_gone
    union all
    {%- endif %}
    select * from changes
)

select
    run_id,
    run_at,
    customer_id,
    is_member,
    cast(segment_id as bigint) as segment_id,
    segment_name,
    distance_to_centroid,
    cast(net_spending as decimal(38, 4)) as net_spending,
    feature_hash,
    had_previous,
    cast(previous_segment_id as bigint) as previous_segment_id,
    cast(previous_net_spending as decimal(38, 4)) as previous_net_spending,
    previous_feature_hash
from final
