{#- The line checks that time alone can change, as the `when ... then <reason>` branches of
    int_order_lines_validated's line check, from `ordered_at in the future` on (every check
    before it reads the input as written, which does not change). `alias` names the line's
    relation. A stored line rejected as in the future whose time has come (lines_come_due) is
    checked again with these branches only: it passed the ones before. -#}
{% macro line_checks_from_the_clock(alias) -%}
            when {{ alias }}.ordered_at > {{ build_started_at() }} then {{ in_the_future() }}
            when not {{ alias }}.is_return_line and {{ alias }}.quantity <= 0
                then 'quantity not positive'
            when {{ alias }}.unit_price < 0 then 'negative unit_price'
            when {{ alias }}.unit_price = 0 then 'zero unit_price on a product line'
            when {{ alias }}.returned_quantity < 0 then 'negative returned_quantity'
            when not {{ alias }}.is_return_line and {{ alias }}.returned_quantity > {{ alias }}.quantity
                then 'returned_quantity exceeds quantity'
{%- endmacro %}

{#- The reason of a line dated after the build started, as a SQL literal. -#}
{% macro in_the_future() -%}
    'ordered_at in the future'
{%- endmacro %}

{#- The instant a line's ordered_at must not be after: when this dbt command started, the same
    in every model of it (a daily build picks the lines that have come due in one model and
    judges them in another). Compared as now() was: ordered_at, a time without zone, is read in
    the session's time zone. -#}
{% macro build_started_at() -%}
    {{ return(adapter.dispatch('build_started_at', 'segmentation')()) }}
{%- endmacro %}

{% macro default__build_started_at() -%}
    cast('{{ run_started_at.isoformat() }}' as timestamptz)
{%- endmacro %}

{% macro spark__build_started_at() -%}
    cast('{{ run_started_at.isoformat() }}' as timestamp)
{%- endmacro %}

{#- True for a stored validated line (of relation `alias`) that was rejected as in the future
    and whose time has come by this build's start: a build from scratch now would judge it
    through the checks after that one and the rules across lines, so a daily build judges it
    again, as a new line (docs/daily_builds.md). -#}
{% macro lines_come_due(alias) -%}
    ({{ alias }}.line_rejection_reason = {{ in_the_future() }} and {{ alias }}.ordered_at <= {{ build_started_at() }})
{%- endmacro %}
