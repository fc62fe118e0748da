{#- Daily builds (docs/daily_builds.md): one row per customer whose stored lines a daily build
    reads (int_order_lines_of_touched_customers): the customers of the new lines and of the
    stored lines come due (rejected as in the future, whose time has come: judged as new lines),
    and those of the stored lines of the orders these lines name (a shared order id changes their
    lines' verdicts). A table of its own so that the database knows how few they are when it picks them
    out of the stored lines. Empty when the build is not a daily one, and on Spark. The stored
    lines are found without ref(): validation, downstream of this model, writes them. -#}
{{ config(materialized='table') }}
-- depends_on: {{ staged_order_lines() }}
{%- set stored = stored_validated_lines() if is_daily_build() else none %}

{%- if stored is none %}

select cast(null as {{ dbt.type_string() }}) as customer_id
where false

{%- else %}

with

new_lines as (
    select order_id, customer_id from {{ staged_order_lines() }}
    union all
    select order_id, customer_id from {{ stored }} as stored
    where {{ lines_come_due('stored') }}
),

new_orders as (
    select distinct order_id from new_lines where order_id is not null
),

stored_lines_of_new_orders as (
    {#- Only lines that passed the line checks take part in the rules across lines. The lines of
        a file read again (its registry row was lost with a failed build) are not left out: their
        customers are those of its new lines anyway. -#}
    select customer_id from {{ stored }}
    where line_rejection_reason is null
        and order_id in (select order_id from new_orders)
)

select customer_id from new_lines where customer_id is not null
union
select customer_id from stored_lines_of_new_orders

{%- endif %}
