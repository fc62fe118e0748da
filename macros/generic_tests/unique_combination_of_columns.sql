{#- Fails for every combination of the given columns that occurs more than once. With
    `run_ids_from` (a relation with a run_id column, the build's own run), only the rows of that
    run are checked: an append-only history's earlier rows were checked when they were
    appended, and re-checking all of them would make every build slower than the last. With
    `latest_by` (a column that a build stamps on the rows it writes), only the rows the latest
    build wrote: for a table where each build replaces the rows of the keys it writes
    (delete+insert on these columns), those rows unique is the whole table unique. -#}
{% test unique_combination_of_columns(model, combination_of_columns, run_ids_from=none, latest_by=none) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
{%- if run_ids_from is not none %}
where run_id in (select run_id from {{ run_ids_from }})
{%- elif latest_by is not none %}
where {{ latest_by }} = (select max({{ latest_by }}) from {{ model }})
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
