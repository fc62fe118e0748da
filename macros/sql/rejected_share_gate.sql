{#- The rejected-share gate (singular test gate_rejected_order_lines, run by `dbt build` right
    after validation, so a failure skips everything downstream, publishing included). The test
    raises the message itself: raised inside a macro, dbt would print the macro stack under it. Two
    limits, because two kinds of rejected line are normal in different amounts: lines without
    a customer id are guest orders (a quarter of the UCI file), the rest are broken lines
    (1.5% of the UCI file). Either share above its var is a violation, returned as one line: the
    share, the top reasons with counts, and the first such line as written in the input; '' when
    both shares are within their limits. -#}

{% macro rejected_share_limit(name, default) -%}
    {%- set value = var(name, default) -%}
    {%- set number = value | float(-1) -%}
    {%- if number <= 0 or number > 1 -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a share in (0, 1], got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(number) }}
{%- endmacro %}

{% macro rejected_share_violation(validated) -%}
    {#- `dbt compile` or `docs generate` before the first build: nothing to count yet -#}
    {%- if not execute or load_relation(validated) is none -%}{{ return('') }}{%- endif -%}
    {%- set limits = {
        'broken': rejected_share_limit('max_rejected_line_share', 0.05),
        'guest': rejected_share_limit('max_missing_customer_share', 0.5),
    } -%}
    {#- The lines counted (DuckDB keeps the count: no scan), then each rejection reason's count
        and its first file in input order (files in name order; source_file is null for a table
        input), over the rejected lines only: the valid ones, nearly all, are not grouped (at 10M
        customers 1.5 s for the group by over every line, against none). The top reason's first
        line is looked up only when the gate fails (rejected_share_message). -#}
    {%- set counted = run_query(
        "select rejection_reason, count(*) as line_count, min(source_file) as first_file from "
        ~ validated ~ " where rejection_reason is not null group by rejection_reason") -%}
    {%- set total = namespace(lines=run_query("select count(*) from " ~ validated).columns[0].values()[0] | int, broken=0, guest=0) -%}
    {%- set broken_reasons = [] -%}
    {%- set guest_reasons = [] -%}
    {%- for row in counted.rows -%}
        {%- set lines = row[1] | int -%}
        {%- if row[0] == 'missing customer_id' -%}
            {%- set total.guest = total.guest + lines -%}
            {%- do guest_reasons.append((lines, row[0], row[2])) -%}
        {%- elif row[0] is not none -%}
            {%- set total.broken = total.broken + lines -%}
            {%- do broken_reasons.append((lines, row[0], row[2])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if total.lines > 0 -%}
        {%- if total.broken / total.lines > limits.broken -%}
            {%- set guests = '; the ' ~ '{:,}'.format(total.guest) ~ ' lines without a customer id are counted apart' if total.guest else '' -%}
            {{ return(rejected_share_message(
                validated, total.broken, total.lines, broken_reasons, 'max_rejected_line_share', limits.broken,
                'rejected as broken (any reason but a missing customer_id' ~ guests ~ ')')) }}
        {%- endif -%}
        {%- if total.guest / total.lines > limits.guest -%}
            {{ return(rejected_share_message(
                validated, total.guest, total.lines, guest_reasons, 'max_missing_customer_share', limits.guest,
                'without a customer id (guest orders, or an empty customer column)')) }}
        {%- endif -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#- One line: what share is rejected and why, the top reasons with counts, the first line of the
    top reason as written in the input, and how to go on. -#}
{% macro rejected_share_message(validated, rejected, total, reasons, var_name, limit, what) -%}
    {%- set ranked = reasons | sort(reverse=true) -%}
    {%- set top = [] -%}
    {%- for lines, reason, first_file in ranked[:3] -%}
        {%- do top.append(reason ~ ': ' ~ '{:,}'.format(lines)) -%}
    {%- endfor -%}
    {%- set example_file = ranked[0][2] -%}
    {#- the top reason's first line in its first file -#}
    {%- set example_line = run_query(
        "select min(source_line_number) from " ~ validated ~ " where rejection_reason = " ~ sql_string(ranked[0][1])
        ~ " and coalesce(source_file, '') = " ~ sql_string(example_file or '')).columns[0].values()[0] | int -%}
    {%- set message = '{:.1%}'.format(rejected / total) ~ ' of the ' ~ '{:,}'.format(total) ~ ' order lines ('
        ~ '{:,}'.format(rejected) ~ ') are ' ~ what ~ ', above ' ~ var_name ~ ' = ' ~ limit
        ~ '. Top reasons: ' ~ top | join('; ')
        ~ '. Example, input line ' ~ example_line ~ (' of ' ~ example_file if example_file else '') ~ ' (' ~ ranked[0][1] ~ '): ' ~ input_line_as_written(example_line, example_file, validated)
        ~ '. Every line and its reason is in int_order_lines_validated; if this share is expected, raise the limit, e.g. --vars '
        ~ "'{" ~ var_name ~ ": " ~ ([1.0, ((rejected / total) * 1.2 * 100) | round(0, 'ceil') / 100] | min) ~ "}'." -%}
    {{ return(message) }}
{%- endmacro %}

{#- Input line `line_number` of file `source_file` (numbered as staging numbers it; source_file
    none for a table input) as name=value pairs, each value cut to 60 characters; read only when
    the gate fails. A daily build reads only its new files: a line of a file an earlier build read
    is given as `stored` (the validated lines) holds it. -#}
{% macro input_line_as_written(line_number, source_file=none, stored=none) -%}
    {%- set columns = orders_input_columns() -%}
    {%- set quoted = [] -%}
    {%- for name, type in columns.values() -%}{%- do quoted.append(adapter.quote(name)) -%}{%- endfor -%}
    {%- set found = run_query(
        "select " ~ quoted | join(', ') ~ " from (select " ~ input_line_number() ~ " as gate_line_number, "
        ~ input_source_file() ~ " as gate_source_file, "
        ~ quoted | join(', ') ~ " from " ~ orders_relation(numbered=true) ~ ") as numbered where gate_line_number = "
        ~ line_number ~ (" and gate_source_file = " ~ sql_string(source_file) if source_file else '')) -%}
    {%- set names = [] -%}
    {%- for name, type in columns.values() -%}{%- do names.append(name) -%}{%- endfor -%}
    {%- set prefix = '' -%}
    {%- if found.rows | length == 0 and stored is not none and source_file -%}
        {%- set names = ['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'returned_quantity'] -%}
        {%- set found = run_query("select " ~ names | join(', ') ~ " from " ~ stored ~ " where source_file = "
            ~ sql_string(source_file) ~ " and source_line_number = " ~ line_number) -%}
        {%- set prefix = 'as an earlier build stored it, ' -%}
    {%- endif -%}
    {%- if found.rows | length == 0 -%}{{ return('(not found)') }}{%- endif -%}
    {%- set pairs = [] -%}
    {%- for name in names -%}
        {%- set value = found.rows[0][loop.index0] -%}
        {%- set text = 'null' if value is none else "'" ~ (value | string)[:60] ~ ("...'" if (value | string) | length > 60 else "'") -%}
        {%- do pairs.append(name ~ '=' ~ text | replace('\n', ' ') | replace('\r', ' ')) -%}
    {%- endfor -%}
    {{ return(prefix ~ pairs | join(', ')) }}
{%- endmacro %}
