{#- Fails for every combination of the given columns that occurs more than once. With
    `run_ids_from` (a relation with a run_id column, the build's own run), only the rows of that
    run are checked: an append-only history's earlier rows were checked when they were
    appended, and re-checking all of them would make every build slower than the last. With
    `latest_by` (a column that a build stamps on the rows it writes), only the rows the latest
    build wrote: for a table where each build replaces the rows of the keys it writes
    (delete+insert on these columns), those rows unique is the whole table unique. -#}
{% test unique_combination_of_columns(model, combination_of_columns, run_ids_from=none, latest_by=none) %}

{%- set checked_rows -%}
    select {{ combination_of_columns | join(', ') }}
    from {{ model }}
    {%- if run_ids_from is not none %}
    where run_id in (select run_id from {{ run_ids_from }})
    {%- elif latest_by is not none %}
    where {{ latest_by }} = (select max({{ latest_by }}) from {{ model }})
    {%- endif %}
{%- endset -%}
{{ adapter.dispatch('duplicate_combinations', 'segmentation')(checked_rows, combination_of_columns) }}

{% endtest %}

{#- The combinations of `columns` that occur more than once in the rows of the query
    `checked_rows`, with their count. -#}
{% macro default__duplicate_combinations(checked_rows, columns) -%}
select
    {{ columns | join(', ') }},
    count(*) as occurrences
from ({{ checked_rows }}) as checked_rows
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endmacro %}

{#- On DuckDB the rows are first grouped by one 64-bit hash of the combination, which is far
    cheaper than grouping by the columns themselves when they include text (the validated lines'
    source_file and source_line_number at 132M lines: 11 s instead of 30 s). Only the rows of a
    hash that occurs more than once are then grouped by their values, so a hash collision of
    two different combinations is not reported: the result is the same as the default's. -#}
{% macro duckdb__duplicate_combinations(checked_rows, columns) -%}
with

checked_rows as not materialized (
    {{ checked_rows }}
),

repeated_hashes as (
    select hash({{ columns | join(', ') }}) as combination_hash
    from checked_rows
    group by combination_hash
    having count(*) > 1
)

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from checked_rows
where hash({{ columns | join(', ') }}) in (select combination_hash from repeated_hashes)
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endmacro %}
