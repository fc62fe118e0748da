{#- k-means++ seeding, deterministic: for each restart (init_number), the first seed is a
    pseudo-random customer, each next one a customer drawn with probability proportional to
    D², its squared distance to the nearest seed so far. The weighted draw is the exponential
    race: the smallest -ln(u) / D² wins, u uniform from md5 (kmeans_uniform), so DuckDB and
    Spark draw the same seeds. Seeds for the largest k are valid seeds for every smaller k
    (the first k). CTEs <name>_0 .. <name>_<seeds>, each ending with a comma; in the last one
    the seeds are the rows with a seed_number. -#}
{% macro kmeans_plus_plus(points, inits, seeds, random_state, name='seeding') -%}
    {%- set features = kmeans_features() -%}
    {%- set point_columns = [] -%}
    {%- set pick_columns = [] -%}
    {%- for feature in features -%}
        {%- do point_columns.append(feature) -%}
        {%- do pick_columns.append('pick__' ~ feature) -%}
    {%- endfor -%}
    {%- set pick_window = 'over (partition by init_number order by pick_key asc nulls last, customer_id)' %}
{{ name }}_0 as (
    select
        inits.init_number,
        points.customer_id,
        {%- for feature in features %}
        points.{{ feature }},
        {%- endfor %}
        cast(null as double) as nearest_seed_distance,
        cast(null as integer) as seed_number
    from {{ points }} as points
    cross join {{ inits }} as inits
),
    {%- for step in range(1, seeds + 1) %}

{{ name }}_{{ step }} as (
    select
        init_number,
        customer_id,
        {%- for feature in features %}
        {{ feature }},
        {%- endfor %}
        least(nearest_seed_distance, {{ kmeans_squared_distance(point_columns, pick_columns) }}) as nearest_seed_distance,
        coalesce(seed_number, case when pick_rank = 1 then {{ step }} end) as seed_number
    from (
        select
            keyed.init_number,
            keyed.customer_id,
            {%- for feature in features %}
            keyed.{{ feature }},
            {%- endfor %}
            keyed.nearest_seed_distance,
            keyed.seed_number,
            {%- for feature in features %}
            first_value({{ feature }}) {{ pick_window }} as pick__{{ feature }},
            {%- endfor %}
            row_number() {{ pick_window }} as pick_rank
        from (
            select
                previous.init_number,
                previous.customer_id,
                {%- for feature in features %}
                previous.{{ feature }},
                {%- endfor %}
                previous.nearest_seed_distance,
                previous.seed_number,
                case
                    when previous.nearest_seed_distance is null
                        then -ln({{ kmeans_uniform(['previous.customer_id', 'previous.init_number', step, random_state]) }})
                    when previous.nearest_seed_distance > 0
                        then -ln({{ kmeans_uniform(['previous.customer_id', 'previous.init_number', step, random_state]) }})
                            / previous.nearest_seed_distance
                end as pick_key
            from {{ name }}_{{ step - 1 }} as previous
        ) as keyed
    ) as picked
),
    {%- endfor %}
{%- endmacro %}

{#- Fails like segmentation.kmeans.check_enough_customers (and model_matrix) when the points
    cannot hold k clusters. -#}
{% macro kmeans_check_enough_customers(points, k) -%}
    {%- set used = kmeans_used_features() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set features = kmeans_features() -%}
    {%- set counts = run_query("select count(*), (select count(*) from (select distinct " ~ features | join(', ') ~ " from " ~ points ~ ") as profiles) from " ~ points).rows[0] -%}
    {%- set n = counts[0] | int -%}
    {%- set distinct = counts[1] | int -%}
    {%- if n == 0 -%}
        {{ exceptions.raise_compiler_error("no usable customers: every order line was rejected or the input is empty; see fct_rejected_order_lines for the reasons") }}
    {%- endif -%}
    {%- if used | length == 0 -%}
        {{ exceptions.raise_compiler_error("every model feature is constant across customers (" ~ features | join(', ') ~ "): there is nothing to segment on") }}
    {%- endif -%}
    {%- if n < k -%}
        {{ exceptions.raise_compiler_error("only " ~ n ~ " usable customers, fewer than k = " ~ k ~ ": lower segmentation_k_max or segment_count, or check why the order lines were rejected") }}
    {%- endif -%}
    {%- if distinct < k -%}
        {{ exceptions.raise_compiler_error("only " ~ distinct ~ " distinct customer profiles among " ~ n ~ " customers, fewer than k = " ~ k ~ ": lower segmentation_k_max or segment_count") }}
    {%- endif -%}
{%- endmacro %}
