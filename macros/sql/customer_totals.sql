{#- When this build started, as a timestamp literal: the same in every node of a build. -#}
{% macro run_started_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- Daily builds of int_customer_order_totals: the time up to which the stored totals include the
    validated lines' verdicts (their judged_at), when the validated lines judged since then can
    be applied to them; none when every customer is summed again: not incremental, nothing
    stored, or the validated lines were all judged again since (a build that read every file:
    customers whose lines are gone must go too). -#}
{% macro customer_totals_as_of(relation) -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {#- rows summed by the model's SQL as it was (before the user edited it), or stored by a
        version without the column: every customer is summed again -#}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    {%- if 'summed_by' not in columns -%}{{ return(none) }}{%- endif -%}
    {%- set row = run_query("select (select max(totals_as_of) from " ~ relation ~ "),"
        ~ " (select min(judged_at) from " ~ ref('int_order_lines_validated') ~ "),"
        ~ " (select count(*) from " ~ relation ~ " where summed_by is distinct from " ~ customer_totals_summed_by() ~ ")").rows[0] -%}
    {%- if row[0] is none or row[1] is none or row[1] > row[0] or row[2] > 0 -%}{{ return(none) }}{%- endif -%}
    {{ return(row[0].strftime("%Y-%m-%d %H:%M:%S.%f")) }}
{%- endmacro %}

{#- What a per-customer totals row was summed by, as a string literal: a hash of the model's
    file and the macros it calls (code_checksum; the column summed_by). A stored row under
    another one was summed by code the user has since edited, so the next build sums every
    customer again (customer_totals_as_of). -#}
{% macro customer_totals_summed_by() -%}
    '{{ code_checksum(model) }}'
{%- endmacro %}

{#- The pre-hook of int_customer_order_totals: the customers summed again leave the table first
    (all of them when every customer is summed again), so a customer whose lines were all
    rejected since is gone, as from scratch. -#}
{% macro replace_customer_totals() -%}
    {%- if is_incremental() -%}
        {%- set as_of = customer_totals_as_of(this) -%}
        delete from {{ this }}
        {%- if as_of is not none %}
        where customer_id in ({{ customers_judged_since(as_of) }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- The customers with a validated line judged after `as_of` (customer_totals_as_of): the ones a
    daily build of int_customer_order_totals sums again, as a query. -#}
{% macro customers_judged_since(as_of) -%}
    select customer_id from {{ ref('int_order_lines_validated') }}
    where judged_at > cast('{{ as_of }}' as timestamp)
{%- endmacro %}

{#- The configuration of a per-customer totals table (int_customer_order_totals,
    int_customer_monthly_totals): incremental under daily builds, each build appending the
    customers it sums again after replace_customer_totals removed their rows. A column added or
    removed is an edit of the model, so every row is summed again and the table takes the
    model's columns (sync_all_columns). -#}
{% macro customer_totals_config() -%}
    {{ config(
        materialized=('incremental' if daily_builds_enabled() else 'table'),
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook="{{ replace_customer_totals() }}",
    ) }}
{%- endmacro %}

{#- The valid lines a per-customer totals table sums in this build, with the given columns: every
    valid line, or under a daily build only those of the customers with a line judged since the
    stored totals (customer_totals_as_of), all of their valid lines. When every line judged since
    then was judged by this command's validation of a daily build, their lines are the ones this
    build judged and the stored lines of the touched customers this build read before validation
    (int_order_lines_of_touched_customers) that it did not judge again; otherwise they are
    searched in the validated lines. -#}
{% macro valid_lines_to_sum(columns) -%}
    {%- set as_of = customer_totals_as_of(this) %}
    {%- if as_of is not none and touched_lines_hold_judged_since(as_of) %}
    select {{ columns | join(', ') }}
    from {{ ref('int_order_lines_validated') }}
    where judged_at > cast('{{ as_of }}' as timestamp) and is_valid
    union all
    select {% for column in columns %}stored.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ ref('int_order_lines_of_touched_customers') }} as stored
    where stored.is_valid
        and stored.customer_id in ({{ customers_judged_since(as_of) }})
        and not exists (
            select 1 from {{ ref('int_order_lines_validated') }} as judged
            where judged.judged_at > cast('{{ as_of }}' as timestamp)
                and judged.source_line_number = stored.source_line_number
                and coalesce(judged.source_file, '') = coalesce(stored.source_file, '')
        )
    {%- else %}
    select
        {{ columns | join(',\n        ') }}
    from {{ ref('int_order_lines_validated') }}
    where is_valid
    {%- if as_of is not none %}
        and customer_id in ({{ customers_judged_since(as_of) }})
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- True when the validated lines judged after `as_of` were all judged by this command, in a
    daily build that also built int_order_lines_of_touched_customers before validation: then that
    table holds every other stored line of their customers that passed the line checks. Not after
    a build that failed between validation and the totals (its lines were judged by that build),
    nor when this command does not build both models. -#}
{% macro touched_lines_hold_judged_since(as_of) -%}
    {%- if not (builds_model('int_order_lines_of_touched_customers') and builds_model('int_order_lines_validated')
        and is_daily_build()) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set judged_before = run_query("select count(*) from " ~ ref('int_order_lines_validated')
        ~ " where judged_at > cast('" ~ as_of ~ "' as timestamp) and judged_at <> " ~ run_started_timestamp()).rows[0][0] -%}
    {{ return(judged_before == 0) }}
{%- endmacro %}
