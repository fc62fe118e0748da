{#- The membership history kept as changes (docs/runs_and_stable_ids.md "Membership history"):
    int_segment_membership_changes holds a row for each customer whose segment, distance, net
    spending or feature hash differs from their row in the last accepted build, or who is new
    or gone; int_segment_membership_runs one row per build with its member counts; the view
    fct_segment_memberships gives every customer's row in every build from them. -#}

{#- The relation of int_segment_membership_runs, or none before its first build. Read by
    int_segment_membership_compared and int_segment_membership_changes, which run before it in a
    build (they need the last accepted build's time), so not through ref(). -#}
{% macro membership_runs_relation() -%}
    {{ return(adapter.get_relation(this.database, this.schema, 'int_segment_membership_runs')) }}
{%- endmacro %}

{#- When the last accepted build with memberships started, as text for a timestamp literal: the
    customers a build compares are then those with a line judged or a score computed since
    (the state of every other customer is the one that build stored). None means compare every
    customer: the first build, no accepted build yet, every validated line judged since (a build
    that read every file again: a customer with no line left must go too), more than a tenth of
    the customers (and 100,000) with a line judged or a score computed since (a large fit build
    scores all), or var
    membership_changes_compare_all (when the test assert_membership_changes_add_up_to_the_segments
    found a customer whose row changed without a line judged or a score computed). -#}
{% macro membership_changes_since() -%}
    {%- set compare_all = var('membership_changes_compare_all', false) -%}
    {%- if compare_all is not sameas true and compare_all is not sameas false -%}
        {{ exceptions.raise_compiler_error("var membership_changes_compare_all must be true or false, not '" ~ compare_all ~ "'") }}
    {%- endif -%}
    {%- if not execute or compare_all -%}
        {{ return(none) }}
    {%- endif -%}
    {#- (the change rows' table, incremental and never rebuilt whole: its first build compares
        everyone; read by name, as int_segment_membership_compared runs before it) -#}
    {%- set changes = adapter.get_relation(this.database, this.schema, 'int_segment_membership_changes') -%}
    {%- if changes is none or changes.type == 'view' -%}{{ return(none) }}{%- endif -%}
    {%- set runs = membership_runs_relation() -%}
    {%- if runs is none -%}{{ return(none) }}{%- endif -%}
    {%- set row = run_query("select max(run_at) from " ~ runs ~ " where run_id in " ~ accepted_run_ids()).rows[0] -%}
    {%- if row[0] is none -%}{{ return(none) }}{%- endif -%}
    {%- set since = row[0].strftime("%Y-%m-%d %H:%M:%S.%f") -%}
    {%- set rejudged = run_query("select min(judged_at) > cast('" ~ since ~ "' as timestamp) from "
        ~ ref('int_order_lines_validated')).rows[0][0] -%}
    {%- if rejudged is none or rejudged -%}{{ return(none) }}{%- endif -%}
    {#- many compared customers (more than a tenth of them, and more than 100,000): compare them
        all. At 10M customers, filtering on a set of millions ran out of DuckDB's memory (3 in 10
        customers with 1 GB, 6 in 10 with 4 GB), where comparing everyone spills and takes 6.5 s,
        a tenth of them 2.7 s (docs/benchmarks_daily_notes.md). A smaller set filters fast. -#}
    {%- set counts = run_query("select (select count(*) from (" ~ compared_customers_since(since)
        ~ ") as compared), (select count(*) from " ~ ref('int_customers_scored') ~ ")").rows[0] -%}
    {%- if counts[0] > 100000 and counts[0] > counts[1] * 0.1 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(since) }}
{%- endmacro %}

{#- The customers whose row can differ from the one the last accepted build (which started at
    `since`) stored: a line judged since (new lines, lines judged again: a customer whose lines are
    all rejected now is gone) or a score computed since (a score kept from before scored_at
    existed has none: it is older than any build with membership runs, and the first of those
    compared every customer). A query of customer_id. -#}
{% macro compared_customers_since(since) -%}
    select customer_id from {{ ref('int_order_lines_validated') }}
    where judged_at > cast('{{ since }}' as timestamp)
    union
    select customer_id from {{ ref('int_customers_scored') }}
    where scored_at > cast('{{ since }}' as timestamp)
{%- endmacro %}

{#- The table publish_membership_rows as the last build that wrote it left it, when that build
    is the last accepted build with memberships: then it holds that build's rows of
    fct_segment_memberships (every member customer), without expanding the change rows. None
    otherwise (no such table, a later build not accepted, not DuckDB: Spark does not read a
    table while replacing it). Read by int_segment_membership_changes and by
    publish_membership_rows itself and its pre-hook, before the build changes it. -#}
{% macro last_accepted_membership_rows() -%}
    {%- if not execute or target.type != 'duckdb' -%}{{ return(none) }}{%- endif -%}
    {%- set stored = adapter.get_relation(this.database, this.schema, 'publish_membership_rows') -%}
    {%- set runs = membership_runs_relation() -%}
    {%- if stored is none or stored.type == 'view' or runs is none -%}{{ return(none) }}{%- endif -%}
    {%- set row = run_query("select (select min(run_id) from " ~ stored ~ "), (select max(run_id) from " ~ stored
        ~ "), (select run_id from " ~ runs ~ " where run_id in " ~ accepted_run_ids()
        ~ " order by run_at desc limit 1)").rows[0] -%}
    {%- if row[0] is none or row[0] != row[1] or row[0] != row[2] -%}{{ return(none) }}{%- endif -%}
    {{ return(stored) }}
{%- endmacro %}

{#- Each customer's last row among the given change rows (a query of
    int_segment_membership_changes' rows), whether it says member or gone: the time of their last
    change, then its row joined back by customer and time (one build at a time holds the lock,
    so no two builds start at the same microsecond). At 10M customers 2.7 s, where taking every
    column with arg_max took 7.0 s and row_number() over each customer's rows 4.6 s. -#}
{% macro last_membership_change(changes) -%}
    select changes.*
    from ({{ changes }}) as changes
    inner join (
        select customer_id, max(run_at) as changed_at
        from ({{ changes }}) as all_changes
        group by customer_id
    ) as last_changes
        on changes.customer_id = last_changes.customer_id
        and changes.run_at = last_changes.changed_at
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

{#- The value of `value` in the row with the largest (last_by) or smallest (first_by) `order`,
    null when it is null there: DuckDB's arg_max and max_by skip rows whose value is null
    (arg_max_null does not); Spark's max_by keeps it. -#}
{% macro last_by(value, order) -%}
    {{ return(adapter.dispatch('last_by')(value, order)) }}
{%- endmacro %}

{% macro default__last_by(value, order) -%}
    max_by({{ value }}, {{ order }})
{%- endmacro %}

{% macro duckdb__last_by(value, order) -%}
    arg_max_null({{ value }}, {{ order }})
{%- endmacro %}

{% macro first_by(value, order) -%}
    {{ return(adapter.dispatch('first_by')(value, order)) }}
{%- endmacro %}

{% macro default__first_by(value, order) -%}
    min_by({{ value }}, {{ order }})
{%- endmacro %}

{% macro duckdb__first_by(value, order) -%}
    arg_min_null({{ value }}, {{ order }})
{%- endmacro %}
