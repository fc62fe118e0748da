{#- The SQL K-Means' settings, read from the same vars as the Python path and validated like
    segmentation.kmeans.FitSettings, with messages that name the var and the value. -#}

{% macro segmentation_fit_engine() -%}
    {%- set engines = ['auto', 'python', 'sql'] -%}
    {%- if var('segmentation_fit_engine') not in engines -%}
        {{ exceptions.raise_compiler_error("var segmentation_fit_engine must be one of " ~ engines | join(', ') ~ ", got '" ~ var('segmentation_fit_engine') ~ "'") }}
    {%- endif -%}
    {{ return(var('segmentation_fit_engine')) }}
{%- endmacro %}

{% macro kmeans_whole_var(name, minimum=1) -%}
    {%- set text = var(name) | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', text) or (text | int) < minimum -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a whole number >= " ~ minimum ~ ", got " ~ var(name)) }}
    {%- endif -%}
    {{ return(text | int) }}
{%- endmacro %}

{#- The fixed k (var segment_count), or none. -#}
{% macro kmeans_segment_count() -%}
    {%- set text = var('segment_count') | string | trim | lower -%}
    {%- if text in ['', 'none', 'null'] -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(kmeans_whole_var('segment_count')) }}
{%- endmacro %}

{#- The k of the sweep: k_min..k_max, and a fixed segment_count always among them. -#}
{% macro kmeans_k_values() -%}
    {%- set k_min = kmeans_whole_var('segmentation_k_min') -%}
    {%- set k_max = kmeans_whole_var('segmentation_k_max') -%}
    {%- if k_min > k_max -%}
        {{ exceptions.raise_compiler_error("k_min (" ~ k_min ~ ") must not exceed k_max (" ~ k_max ~ ")") }}
    {%- endif -%}
    {%- set ks = range(k_min, k_max + 1) | list -%}
    {%- set fixed = kmeans_segment_count() -%}
    {%- if fixed is not none and fixed not in ks -%}
        {%- do ks.append(fixed) -%}
    {%- endif -%}
    {{ return(ks | sort) }}
{%- endmacro %}

{#- The largest k of the sweep: how many centroid columns the wide Lloyd state carries. -#}
{% macro kmeans_k_max() -%}
    {{ return(kmeans_k_values() | max) }}
{%- endmacro %}

{#- Every model feature takes part in the SQL K-Means: a constant one is 0 for every customer
    in the training set, so it adds nothing to any distance or metric; the output tables list
    used features only, like the Python path's. -#}
{% macro kmeans_features() -%}
    {%- set names = [] -%}
    {%- for feature in model_features() -%}
        {%- do names.append(feature.name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- The used model features (is_used in int_segment_feature_scaling) at run time, in order. -#}
{% macro kmeans_used_features() -%}
    {%- set scaling = ref('int_segment_feature_scaling') -%}
    {%- if not execute -%}
        {{ return(kmeans_features()) }}
    {%- endif -%}
    {%- set used = run_query("select feature from " ~ scaling ~ " where is_used order by feature_position") -%}
    {{ return(used.columns[0].values() | list) }}
{%- endmacro %}

{#- A literal list of whole numbers as a relation with one column, e.g. the k of the sweep. -#}
{% macro kmeans_numbers(column, numbers) -%}
    {%- for number in numbers %}
    select {{ number }} as {{ column }}{{ '\n    union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The model features' column names with a prefix, e.g. ['centroids.mean__units_ordered', ...]. -#}
{% macro kmeans_columns(prefix) -%}
    {%- set names = [] -%}
    {%- for feature in kmeans_features() %}{% do names.append(prefix ~ feature) %}{% endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- The model feature columns as a select list, e.g. in an import CTE. -#}
{% macro kmeans_feature_list(prefix='') -%}
    {{ kmeans_columns(prefix) | join(',\n        ') }}
{%- endmacro %}
