{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false, on_schema_change='fail') }}
{#- Append-only: one row per build with memberships (macros/sql/membership_changes.sql): its
    members, those with a feature hash, and its change rows. A build that changed no customer
    has no change rows but is listed here, so fct_segment_memberships gives its rows. The
    counts are the last accepted build's plus this build's changes: the gate on unchanged
    customers reads them instead of both builds' rows. -#}
{%- set old_table = none if is_incremental() else stored_membership_table() %}

with

run as (
    select run_id, run_at from {{ ref('int_segment_run') }}
),

-- this build, and in the first build of a warehouse with the old membership table, its builds
run_list as (
    select run_id, run_at from run
    {%- if old_table is not none %}
    union
    select distinct run_id, run_at
    from {{ old_table }}
    where run_id in {{ accepted_run_ids() }}
    {%- endif %}
),

changes as (
    select *
    from {{ ref('int_segment_membership_changes') }}
    where run_id in (select run_list.run_id from run_list)
),

deltas as (
    select
        run_id,
        sum(case when is_member then 1 else 0 end) - sum(case when had_previous then 1 else 0 end)
            as members_added,
        sum(case when is_member and feature_hash is not null then 1 else 0 end)
            - sum(case when had_previous and previous_feature_hash is not null then 1 else 0 end)
            as hashed_members_added,
        count(*) as changed_customers
    from changes
    group by run_id
),

previous as (
    {%- if is_incremental() %}
    select customers, customers_with_feature_hash
    from {{ this }}
    where run_id in {{ accepted_run_ids() }}
    order by run_at desc, run_id desc
    limit 1
    {%- else %}
    select cast(0 as bigint) as customers, cast(0 as bigint) as customers_with_feature_hash
    {%- endif %}
),

final as (
    select
        run_list.run_id,
        run_list.run_at,
        cast(coalesce(previous.customers, 0) + sum(coalesce(deltas.members_added, 0)) over runs_so_far
            as bigint) as customers,
        cast(coalesce(previous.customers_with_feature_hash, 0)
            + sum(coalesce(deltas.hashed_members_added, 0)) over runs_so_far as bigint)
            as customers_with_feature_hash,
        cast(coalesce(deltas.changed_customers, 0) as bigint) as changed_customers
    from run_list
    left join deltas on run_list.run_id = deltas.run_id
    left join previous on 1 = 1
    window runs_so_far as (order by run_list.run_at, run_list.run_id rows between unbounded preceding and current row)
)

select * from final
