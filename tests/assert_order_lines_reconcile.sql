{#- No input line is lost or invented, and its value is accounted for: the input's line
    count equals the staged count; staged lines = valid + rejected lines, in count and in
    value (line_value of every line, returns negative). Returns a row per broken equation. -#}

with

{#- The lines this build reads: a daily build's new files; a table's new loads (its numbered
    read keeps only those, input_loads.sql). #}
input_lines as (
    select count(*) as lines from {{ orders_relation(numbered=var('orders_table') is not none) }}
),

staged as (
    select count(*) as lines, coalesce(sum(line_value), 0) as value
    from {{ staged_order_lines() }}
),

{#- A daily build stages only the files no build had read: the equations hold for their lines. -#}
staged_files as (
    select distinct coalesce(source_file, '') as source_file from {{ staged_order_lines() }}
),

validated as (
    select
        count(*) as lines,
        sum(case when is_valid then 1 else 0 end) as valid_lines,
        coalesce(sum(case when is_valid then line_value end), 0) as valid_value
    from {{ ref('int_order_lines_validated') }}
    where coalesce(source_file, '') in (select source_file from staged_files)
),

rejected as (
    select count(*) as lines, coalesce(sum(line_value), 0) as value
    from {{ ref('fct_rejected_order_lines') }}
    where coalesce(source_file, '') in (select source_file from staged_files)
),

checks as (
    select 'input lines = staged lines' as equation, input_lines.lines as left_side, staged.lines as right_side
    from input_lines cross join staged
    union all
    select 'staged lines = validated lines', staged.lines, validated.lines
    from staged cross join validated
    union all
    select 'staged lines = valid + rejected lines', staged.lines, validated.valid_lines + rejected.lines
    from staged cross join validated cross join rejected
    union all
    select 'staged value = valid + rejected value', staged.value, validated.valid_value + rejected.value
    from staged cross join validated cross join rejected
)

select * from checks where left_side <> right_side
