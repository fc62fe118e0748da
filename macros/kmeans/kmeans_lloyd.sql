{#- K-Means in SQL. The state of a fit is one row per (init_number, k) with its centroids as
    wide columns c<j>__<feature>, j = 1..k_max (null for j > k), so one pass over the points
    moves every k and every restart at once. The steps run one statement each, in the
    kmeans_lloyd materialization (kmeans_lloyd_materialization.sql). -#}

{% macro kmeans_centroid(j, feature) -%}
    c{{ j }}__{{ feature }}
{%- endmacro %}

{#- Sum of squared differences between two aligned lists of SQL expressions. -#}
{% macro kmeans_squared_distance(left, right) -%}
    {#- a product, not power(): DuckDB evaluates it twice as fast in the Lloyd steps -#}
    ({% for i in range(left | length) %}({{ left[i] }} - {{ right[i] }}) * ({{ left[i] }} - {{ right[i] }}){{ ' + ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- A sum of doubles added as decimals, like exact_avg: the same result whatever order the
    threads add in, so a rebuild gives the same centroids and inertia. -#}
{% macro kmeans_exact_sum(expression) -%}
    cast(sum(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}

{#- Every point against every state row: the nearest centroid (cluster_number, ties to the
    lower number) and its squared distance (nearest_distance), with the state's columns. Columns
    are listed, never `*`: Spark's analyzer needs a pass per nested star, and the unrolled
    steps nest deep. -#}
{% macro kmeans_assign(points, state, k_max) -%}
    {%- set features = kmeans_features() -%}
    {%- set carried = ['customer_id', 'init_number', 'k'] + features -%}
    {%- for j in range(1, k_max + 1) %}{% for feature in features %}{% do carried.append(kmeans_centroid(j, feature)) %}{% endfor %}{% endfor -%}
    {%- set point_columns = [] -%}
    {%- for feature in features %}{% do point_columns.append('points.' ~ feature) %}{% endfor -%}
    select
        {%- for column in carried %}
        distances.{{ column }},
        {%- endfor %}
        distances.nearest_distance,
        case
            {%- for j in range(1, k_max + 1) %}
            when distances.distance_{{ j }} = distances.nearest_distance then {{ j }}
            {%- endfor %}
        end as cluster_number
    from (
        select
            {%- for column in carried %}
            measured.{{ column }},
            {%- endfor %}
            {%- for j in range(1, k_max + 1) %}
            measured.distance_{{ j }},
            {%- endfor %}
            {% if k_max == 1 -%}
            measured.distance_1
            {%- else -%}
            least({% for j in range(1, k_max + 1) %}measured.distance_{{ j }}{{ ', ' if not loop.last }}{% endfor %})
            {%- endif %} as nearest_distance
        from (
            select
                points.customer_id,
                {%- for feature in features %}
                points.{{ feature }},
                {%- endfor %}
                state.init_number,
                state.k,
                {%- for j in range(1, k_max + 1) %}
                {%- set centroid = [] -%}
                {%- for feature in features %}
                {%- do centroid.append('state.' ~ kmeans_centroid(j, feature)) %}
                state.{{ kmeans_centroid(j, feature) }},
                {%- endfor %}
                {{ kmeans_squared_distance(point_columns, centroid) }} as distance_{{ j }}{{ ',' if not loop.last }}
                {%- endfor %}
            from {{ points }} as points
            cross join {{ state }} as state
        ) as measured
    ) as distances
{%- endmacro %}

{#- One Lloyd step: every centroid moves to the mean of its points; an empty cluster keeps its
    centroid. Once the assignment no longer changes, a step returns its input. -#}
{% macro kmeans_lloyd_step(points, state, k_max) -%}
    select
        assigned.init_number,
        assigned.k,
        {%- for j in range(1, k_max + 1) %}
        {%- set outer_loop = loop %}
        {%- for feature in kmeans_features() %}
        coalesce(
            {{ exact_avg('case when assigned.cluster_number = ' ~ j ~ ' then assigned.' ~ feature ~ ' end') }},
            max(assigned.{{ kmeans_centroid(j, feature) }})
        ) as {{ kmeans_centroid(j, feature) }}{{ ',' if not (loop.last and outer_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from ({{ kmeans_assign(points, state, k_max) }}) as assigned
    group by assigned.init_number, assigned.k
{%- endmacro %}

{#- A final assignment against `state`, as one row per state row and cluster (j <= k): the
    centroid (one column per model feature), its customers, and the state's inertia. -#}
{% macro kmeans_summary(points, state, k_max) -%}
    {%- set features = kmeans_features() -%}
    select
        summed.init_number,
        summed.k,
        clusters.cluster_number,
        {%- for feature in features %}
        case clusters.cluster_number
            {%- for j in range(1, k_max + 1) %}
            when {{ j }} then summed.{{ kmeans_centroid(j, feature) }}
            {%- endfor %}
        end as {{ feature }},
        {%- endfor %}
        case clusters.cluster_number
            {%- for j in range(1, k_max + 1) %}
            when {{ j }} then summed.customers_{{ j }}
            {%- endfor %}
        end as customers,
        summed.inertia
    from (
        select
            assigned.init_number,
            assigned.k,
            {%- for j in range(1, k_max + 1) %}
            {%- for feature in features %}
            max(assigned.{{ kmeans_centroid(j, feature) }}) as {{ kmeans_centroid(j, feature) }},
            {%- endfor %}
            count(case when assigned.cluster_number = {{ j }} then 1 end) as customers_{{ j }},
            {%- endfor %}
            {{ kmeans_exact_sum('assigned.nearest_distance') }} as inertia
        from ({{ kmeans_assign(points, state, k_max) }}) as assigned
        group by assigned.init_number, assigned.k
    ) as summed
    cross join ({{ kmeans_numbers('cluster_number', range(1, k_max + 1)) }}
    ) as clusters
    where clusters.cluster_number <= summed.k
{%- endmacro %}

{#- Centroids in long form (key columns, cluster_number, one column per feature) as the wide
    state the Lloyd steps read, one row per key. -#}
{% macro kmeans_wide_state(centroids, keys, k_max) -%}
    select
        {%- for key in keys %}
        {{ key }},
        {%- endfor %}
        {%- for j in range(1, k_max + 1) %}
        {%- set outer_loop = loop %}
        {%- for feature in kmeans_features() %}
        max(case when cluster_number = {{ j }} then {{ feature }} end) as {{ kmeans_centroid(j, feature) }}{{ ',' if not (loop.last and outer_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from {{ centroids }}
    group by {{ keys | join(', ') }}
{%- endmacro %}
