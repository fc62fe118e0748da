{#- Daily builds (docs/daily_builds.md): the stored lines a daily build works on, read from the
    stored validated lines once, before validation replaces some of them: every stored line that
    passed the line checks (line_rejection_reason null) of the customers the build touches
    (int_touched_customers), with its stored verdict, and the lines come due (rejected as in the
    future, whose time has come: validation judges them as new lines). Validation judges again
    only lines among these (the lines of the touched orders, fingerprints and (customer,
    product)s all belong to touched customers), and the customers' sums add these up with the
    build's new verdicts instead of searching the stored lines again (valid_lines_to_sum).

    Empty when the build is not a daily one (validation reads every line then), and on Spark.
    The stored lines are found without ref(): validation, downstream of this model, writes them. -#}
{{ config(materialized='table') }}
-- depends_on: {{ ref('int_touched_customers') }}
{%- set stored = stored_validated_lines() if is_daily_build() else none %}

{%- if stored is none %}

{#- The validated lines' columns, names and types: validation, downstream, gives them, and the
    stored table may be missing (a first build) or an older version's (a --full-refresh);
    test_day_by_day_builds_equal_a_build_from_scratch compares them with validation's. #}
select
    cast(null as {{ dbt.type_string() }}) as source_file,
    cast(null as {{ dbt.type_bigint() }}) as source_line_number,
    cast(null as {{ dbt.type_string() }}) as order_id,
    cast(null as {{ dbt.type_string() }}) as customer_id,
    cast(null as {{ dbt.type_timestamp() }}) as ordered_at,
    cast(null as {{ dbt.type_string() }}) as product_id,
    cast(null as {{ dbt.type_int() }}) as quantity,
    cast(null as decimal(18, 4)) as unit_price,
    cast(null as {{ dbt.type_int() }}) as returned_quantity,
    cast(null as boolean) as is_return_line,
    cast(null as decimal(38, 4)) as line_value,
    cast(null as {{ dbt.type_string() }}) as rejection_reason,
    cast(null as boolean) as is_valid,
    cast(null as {{ dbt.type_string() }}) as line_rejection_reason,
    case when false then {{ row_fingerprint(["''"]) }} end as line_fingerprint,
    cast(null as {{ dbt.type_timestamp() }}) as judged_at
where false

{%- else %}

{#- The lines of a file read again (its registry row was lost with a failed build) are here
    too: validation leaves them out, and the sums take this build's rows of them. #}
select * from {{ stored }} as stored
where (stored.line_rejection_reason is null or {{ lines_come_due('stored') }})
    and stored.customer_id in (select customer_id from {{ ref('int_touched_customers') }})

{%- endif %}
