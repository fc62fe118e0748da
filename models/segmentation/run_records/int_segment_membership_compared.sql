{#- The customers this build's membership changes compare (int_segment_membership_changes): those
    with a line judged or a score computed since the last accepted build (macro
    membership_changes_since); none when the build compares every customer. A table of its own,
    so that DuckDB knows how few they are: as a CTE of the changes model it was estimated at
    millions of rows, the joins with every customer's features, scores and stored rows were
    built on the large side, and at 10M customers the daily build ran out of memory (3 GB).
    docs/benchmarks_daily_notes.md. -#}
{{ config(materialized='table') }}
-- depends_on: {{ ref('int_order_lines_validated') }}
-- depends_on: {{ ref('int_customers_scored') }}
{%- set since = membership_changes_since() %}

{%- if since is none %}

select cast(null as {{ dbt.type_string() }}) as customer_id
where 1 = 0

{%- else %}

{{ compared_customers_since(since) }}

{%- endif %}
