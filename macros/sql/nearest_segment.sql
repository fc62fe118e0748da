{#- Scoring every customer against every centroid in one row per customer: a column of distance
    per segment, then the smallest. A projection over the customers, so it streams: the rows of
    customers x segments, grouped by customer, held 3 GB at 10M customers and ran out of memory
    beside other nodes (docs/benchmarks_daily_notes.md). The segments are the stored model's,
    read when the model runs. -#}

{#- The stored model's segment ids, ascending, read at run time (none while dbt parses, or
    before `model` exists). -#}
{% macro model_segment_ids(model) -%}
    {%- if not execute or adapter.get_relation(model.database, model.schema, model.identifier) is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rows = run_query('select distinct segment_id from ' ~ model ~ ' order by segment_id').rows -%}
    {{ return(rows | map(attribute=0) | map('int') | list) }}
{%- endmacro %}

{#- The smallest of the columns distance_1 ... distance_<segments> (nulls skipped); one column
    alone is itself (Spark's least takes two or more); none, a null. -#}
{% macro nearest_distance(segments) -%}
    {%- if segments == 0 -%}
        cast(null as double)
    {%- elif segments == 1 -%}
        distance_1
    {%- else -%}
        least({% for n in range(1, segments + 1) %}distance_{{ n }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- The segment at the smallest distance (`nearest`), ties to the lower segment_id: columns n = 1 ...
    <segments> hold the segments in ascending id order, and the first whose distance_<n> equals
    it wins (least returns one of its arguments, so the test is exact); its value is the column
    segment_id_<n>, of the centroids' type (none: a null). -#}
{% macro nearest_segment_id(segments, nearest) -%}
    {%- if segments == 0 -%}
        {{ return('cast(null as ' ~ dbt.type_bigint() ~ ')') }}
    {%- endif -%}
    case
        {%- for n in range(1, segments + 1) %}
        when distance_{{ n }} = {{ nearest }} then segment_id_{{ n }}
        {%- endfor %}
    end
{%- endmacro %}
