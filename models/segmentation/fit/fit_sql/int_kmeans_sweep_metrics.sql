{#- The sweep's inertia and quality metrics per k, computed like scikit-learn's on the labels
    of int_kmeans_sweep_labels: Calinski-Harabasz and Davies-Bouldin on every sweep customer,
    the silhouette on the pinned silhouette sample (pair by pair: m² distances per k). Like the
    Python path, a metric is null unless 2 <= segments <= customers - 1. -#}
{%- set k_values = kmeans_k_values() -%}
{%- set multi_k = k_values | select('ge', 2) | list -%}
{%- set features = kmeans_features() %}

with

sweep_customers as (
    select
        customer_id,
        is_in_silhouette_sample,
        {{ kmeans_feature_list() }}
    from {{ ref('int_kmeans_sweep_customers') }}
),

labels as (
    select customer_id, k, cluster_number, squared_distance
    from {{ ref('int_kmeans_sweep_labels') }}
),

labelled as (
    select
        labels.k,
        labels.cluster_number,
        labels.squared_distance,
        {{ kmeans_feature_list('sweep_customers.') }}
    from labels
    inner join sweep_customers on labels.customer_id = sweep_customers.customer_id
),

overall as (
    select
        count(*) as customers,
        {%- for feature in features %}
        {{ exact_avg(feature) }} as mean__{{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    from sweep_customers
),

cluster_means as (
    select
        k,
        cluster_number,
        count(*) as customers,
        {%- for feature in features %}
        {{ exact_avg(feature) }} as mean__{{ feature }}{{ ',' if not loop.last }}
        {%- endfor %}
    from labelled
    group by k, cluster_number
),

member_distances as (
    select
        labelled.k,
        labelled.cluster_number,
        {{ kmeans_squared_distance(kmeans_columns('labelled.'), kmeans_columns('cluster_means.mean__')) }}
            as squared_distance
    from labelled
    inner join cluster_means
        on labelled.k = cluster_means.k and labelled.cluster_number = cluster_means.cluster_number
),

clusters as (
    select
        cluster_means.*,
        spread.within_dispersion,
        spread.mean_distance
    from cluster_means
    inner join ( -- noqa: ST05
        select
            k,
            cluster_number,
            {{ kmeans_exact_sum('squared_distance') }} as within_dispersion,
            {{ exact_avg('sqrt(squared_distance)') }} as mean_distance
        from member_distances
        group by k, cluster_number
    ) as spread
        on cluster_means.k = spread.k and cluster_means.cluster_number = spread.cluster_number
),

calinski_harabasz as (
    select
        clusters.k,
        count(*) as segments,
        max(overall.customers) as customers,
        sum(
            clusters.customers
            * {{ kmeans_squared_distance(kmeans_columns('clusters.mean__'), kmeans_columns('overall.mean__')) }}
        ) as between_dispersion,
        sum(clusters.within_dispersion) as within_dispersion
    from clusters
    cross join overall
    group by clusters.k
),

-- Davies-Bouldin: each segment's worst ratio of summed spreads to centroid distance; like
-- scikit-learn, coinciding centroids count 0, and all-zero spreads or distances give 0
cluster_pairs as (
    select
        a.k,
        a.cluster_number,
        max(a.mean_distance) as mean_distance,
        max(sqrt({{ kmeans_squared_distance(kmeans_columns('a.mean__'), kmeans_columns('b.mean__')) }}))
            as max_centroid_distance,
        max(
            case when {{ kmeans_squared_distance(kmeans_columns('a.mean__'), kmeans_columns('b.mean__')) }} > 0
                then (a.mean_distance + b.mean_distance)
                    / sqrt({{ kmeans_squared_distance(kmeans_columns('a.mean__'), kmeans_columns('b.mean__')) }})
                else 0
            end
        ) as worst_ratio
    from clusters as a
    inner join clusters as b on a.k = b.k and a.cluster_number <> b.cluster_number
    group by a.k, a.cluster_number
),

davies_bouldin as (
    select
        k,
        case
            when max(mean_distance) <= 1e-8 or max(max_centroid_distance) <= 1e-8 then 0
            else {{ exact_avg('worst_ratio') }}
        end as davies_bouldin
    from cluster_pairs
    group by k
),

k_values as (
    {{ kmeans_numbers('k', k_values) }}
),

{% if multi_k -%}
silhouette_sample as (
    select
        sweep_customers.customer_id,
        {%- for feature in features %}
        sweep_customers.{{ feature }},
        {%- endfor %}
        {%- for k in multi_k %}
        max(case when labels.k = {{ k }} then labels.cluster_number end) as label_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}
    from sweep_customers
    inner join labels on sweep_customers.customer_id = labels.customer_id
    where sweep_customers.is_in_silhouette_sample
    group by
        sweep_customers.customer_id
        {%- for feature in features %},
        sweep_customers.{{ feature }}
        {%- endfor %}
),

-- per sample customer and k: summed distance to the sample's customers of each segment
pair_sums as (
    select
        customer_id,
        {%- for k in multi_k %}
        label_{{ k }},
        {%- for c in range(1, k + 1) %}
        sum(case when other_label_{{ k }} = {{ c }} then distance end) as distance_{{ k }}_{{ c }},
        {%- endfor %}
        {%- endfor %}
        count(*) as sample_customers
    from (
        select
            one.customer_id,
            {%- for k in multi_k %}
            one.label_{{ k }},
            other.label_{{ k }} as other_label_{{ k }},
            {%- endfor %}
            sqrt({{ kmeans_squared_distance(kmeans_columns('one.'), kmeans_columns('other.')) }}) as distance
        from silhouette_sample as one
        cross join silhouette_sample as other
    ) as pairs
    group by customer_id{% for k in multi_k %}, label_{{ k }}{% endfor %}
),

-- segment sizes within the sample, carried along each row by window sums
sized as (
    select
        pair_sums.*,
        {%- for k in multi_k %}
        {%- set outer_loop = loop %}
        {%- for c in range(1, k + 1) %}
        sum(case when label_{{ k }} = {{ c }} then 1 else 0 end) over ()
            as size_{{ k }}_{{ c }}{{ ',' if not (loop.last and outer_loop.last) }}
        {%- endfor %}
        {%- endfor %}
    from pair_sums
),

silhouette_values as (
    select
        {%- for k in multi_k %}
        {%- set own_size %}case label_{{ k }}{% for c in range(1, k + 1) %} when {{ c }} then size_{{ k }}_{{ c }}{% endfor %} end{% endset %}
        {%- set within %}case label_{{ k }}
            {%- for c in range(1, k + 1) %} when {{ c }} then distance_{{ k }}_{{ c }} / nullif(size_{{ k }}_{{ c }} - 1, 0)
            {%- endfor %} end{% endset %}
        {%- set nearest_other %}least(
            {%- for c in range(1, k + 1) -%}
            case when label_{{ k }} <> {{ c }} and size_{{ k }}_{{ c }} > 0 then distance_{{ k }}_{{ c }} / size_{{ k }}_{{ c }} end
            {{- ', ' if not loop.last }}
            {%- endfor %}){% endset %}
        case
            when {{ own_size }} > 1 and greatest({{ within }}, {{ nearest_other }}) > 0
                then ({{ nearest_other }} - {{ within }}) / greatest({{ within }}, {{ nearest_other }})
            else 0
        end as silhouette_{{ k }},
        {%- endfor %}
        count(*) over () as sample_customers
    from sized
),

silhouettes as (
    select
        {%- for k in multi_k %}
        {{ exact_avg('silhouette_' ~ k) }} as silhouette_{{ k }},
        {%- endfor %}
        max(sample_customers) as sample_customers
    from silhouette_values
),

sample_segments as (
    select
        {%- for k in multi_k %}
        count(distinct label_{{ k }}) as segments_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}
    from silhouette_sample
),

silhouette_by_k as (
    select
        k_values.k,
        case k_values.k
            {%- for k in multi_k %}
            when {{ k }} then case
                when sample_segments.segments_{{ k }} between 2 and silhouettes.sample_customers - 1
                    then silhouettes.silhouette_{{ k }}
            end
            {%- endfor %}
        end as silhouette
    from k_values
    cross join silhouettes
    cross join sample_segments
),

{% else -%}
silhouette_by_k as (
    select k, cast(null as double) as silhouette
    from k_values
),

{% endif -%}

inertia as (
    select k, {{ kmeans_exact_sum('squared_distance') }} as inertia
    from labels
    group by k
),

final as (
    select
        inertia.k,
        inertia.inertia,
        case when calinski_harabasz.segments between 2 and calinski_harabasz.customers - 1
            then silhouette_by_k.silhouette
        end as silhouette,
        case when calinski_harabasz.segments between 2 and calinski_harabasz.customers - 1
            then case
                when calinski_harabasz.within_dispersion = 0 then 1.0
                else calinski_harabasz.between_dispersion * (calinski_harabasz.customers - calinski_harabasz.segments)
                    / (calinski_harabasz.within_dispersion * (calinski_harabasz.segments - 1))
            end
        end as calinski_harabasz,
        case when calinski_harabasz.segments between 2 and calinski_harabasz.customers - 1
            then davies_bouldin.davies_bouldin
        end as davies_bouldin,
        calinski_harabasz.segments
    from inertia
    inner join calinski_harabasz on inertia.k = calinski_harabasz.k
    left join davies_bouldin on inertia.k = davies_bouldin.k
    inner join silhouette_by_k on inertia.k = silhouette_by_k.k
)

select * from final
