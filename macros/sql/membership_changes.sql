{#- The membership history kept as changes (docs/runs_and_stable_ids.md "Membership history"):
    int_segment_membership_changes holds a row for each customer whose segment, distance, net
    spending or feature hash differs from their row in the last accepted build, or who is new
    or gone; int_segment_membership_runs one row per build with its member counts; the view
    fct_segment_memberships gives every customer's row in every build from them. -#}

{#- The relation of int_segment_membership_runs, or none before its first build. Read by
    int_segment_membership_changes, which runs before it in a build (it needs the last accepted
    build's time), so not through ref(). -#}
{% macro membership_runs_relation() -%}
    {{ return(adapter.get_relation(this.database, this.schema, 'int_segment_membership_runs')) }}
{%- endmacro %}

{#- When the last accepted build with memberships started, as text for a timestamp literal: the
    customers a build compares are then those with a line judged or a score computed since
    (the state of every other customer is the one that build stored). None means compare every
    customer: the first build, no accepted build yet, every validated line judged since (a build
    that read every file again: a customer with no line left must go too), or var
    membership_changes_compare_all (when the test assert_membership_changes_add_up_to_the_segments
    found a customer whose row changed without a line judged or a score computed). -#}
{% macro membership_changes_since() -%}
    {%- set compare_all = var('membership_changes_compare_all', false) -%}
    {%- if compare_all is not sameas true and compare_all is not sameas false -%}
        {{ exceptions.raise_compiler_error("var membership_changes_compare_all must be true or false, not '" ~ compare_all ~ "'") }}
    {%- endif -%}
    {%- if not execute or not is_incremental() or compare_all -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set runs = membership_runs_relation() -%}
    {%- if runs is none -%}{{ return(none) }}{%- endif -%}
    {%- set row = run_query("select max(run_at) from " ~ runs ~ " where run_id in (select run_id from "
        ~ source('segment_lifecycle', 'segment_build_outcomes') ~ " where outcome = 'accepted')").rows[0] -%}
    {%- if row[0] is none -%}{{ return(none) }}{%- endif -%}
    {%- set since = row[0].strftime("%Y-%m-%d %H:%M:%S.%f") -%}
    {%- set rejudged = run_query("select min(judged_at) > cast('" ~ since ~ "' as timestamp) from "
        ~ ref('int_order_lines_validated')).rows[0][0] -%}
    {%- if rejudged is none or rejudged -%}{{ return(none) }}{%- endif -%}
    {{ return(since) }}
{%- endmacro %}

{#- Each customer's last membership row among the given change rows (a query with a column
    `customer_id`, ordered by run_at and run_id), whether it says member or gone. -#}
{% macro last_membership_change(changes) -%}
    select * from (
        select
            changes.*,
            row_number() over (
                partition by changes.customer_id order by changes.run_at desc, changes.run_id desc
            ) as change_recency
        from ({{ changes }}) as changes
    ) as ranked
    where change_recency = 1
{%- endmacro %}

{#- The old fct_segment_memberships table (every customer's row in every build), read once by
    the first build of int_segment_membership_changes, before the table becomes a view: none
    when there is no such table. -#}
{% macro stored_membership_table() -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set old = adapter.get_relation(this.database, this.schema, 'fct_segment_memberships') -%}
    {%- if old is none or old.type == 'view' -%}{{ return(none) }}{%- endif -%}
    {{ return(old) }}
{%- endmacro %}
