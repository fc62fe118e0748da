{#- The customer features computed by int_customers_featurized: the one list every model,
    test and var validation iterates over. -#}
{% macro customer_features() -%}
    {{ return([
        'orders', 'units_ordered', 'units_returned', 'return_rate', 'gross_spending',
        'net_spending', 'distinct_products', 'recency_days', 'tenure_days', 'avg_order_value',
    ]) }}
{%- endmacro %}

{#- The var segmentation_features, validated: a non-empty list of {name, transform} with known
    feature names and transforms, no repeats. Names reach SQL only through this allow-list. -#}
{% macro model_features() -%}
    {%- set configured = var('segmentation_features') -%}
    {%- set transforms = ['none', 'log1p'] -%}
    {%- if configured is string or configured is mapping or not configured -%}
        {{ exceptions.raise_compiler_error("var segmentation_features must be a non-empty list of {name: <feature>, transform: none|log1p}, got " ~ configured) }}
    {%- endif -%}
    {%- set seen = [] -%}
    {%- for feature in configured -%}
        {%- if feature is not mapping or feature.get('name') not in customer_features() -%}
            {{ exceptions.raise_compiler_error("var segmentation_features: unknown feature " ~ feature ~ "; known features: " ~ customer_features() | join(', ')) }}
        {%- endif -%}
        {%- if feature.get('transform', 'none') not in transforms -%}
            {{ exceptions.raise_compiler_error("var segmentation_features: feature " ~ feature['name'] ~ " has unknown transform " ~ feature.get('transform') ~ "; use one of " ~ transforms | join(', ')) }}
        {%- endif -%}
        {%- if feature['name'] in seen -%}
            {{ exceptions.raise_compiler_error("var segmentation_features lists " ~ feature['name'] ~ " twice") }}
        {%- endif -%}
        {%- do seen.append(feature['name']) -%}
    {%- endfor -%}
    {{ return(configured) }}
{%- endmacro %}

{#- The model features of `relation_alias` as text pieces for dbt.concat / dbt.hash: the
    fingerprint of a customer's model input. -#}
{% macro model_feature_text(relation_alias) -%}
    {%- set pieces = [] -%}
    {%- for feature in model_features() -%}
        {%- if not loop.first -%}{%- do pieces.append("'|'") -%}{%- endif -%}
        {%- do pieces.append("coalesce(cast(" ~ relation_alias ~ "." ~ feature.name ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {{ return(pieces) }}
{%- endmacro %}
