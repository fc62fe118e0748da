{#- The customer features computed by int_customers_featurized: the one list every model,
    test and var validation iterates over. avg_days_between_orders is NULL for one-order
    customers (a model feature that can be NULL needs `impute`, see model_features). -#}
{% macro customer_features() -%}
    {{ return([
        'orders', 'units_ordered', 'units_returned', 'return_rate', 'gross_spending',
        'net_spending', 'distinct_products', 'recency_days', 'tenure_days', 'avg_order_value',
        'avg_days_between_orders',
    ]) }}
{%- endmacro %}

{#- The var segmentation_features, validated: a non-empty list of {name, transform, impute}
    with known feature names, transforms and impute rules, no repeats. Names reach SQL only
    through this allow-list. -#}
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
        {%- do validate_feature_impute(feature) -%}
        {%- if feature['name'] in seen -%}
            {{ exceptions.raise_compiler_error("var segmentation_features lists " ~ feature['name'] ~ " twice") }}
        {%- endif -%}
        {%- do seen.append(feature['name']) -%}
    {%- endfor -%}
    {{ return(configured) }}
{%- endmacro %}

{#- The impute rules of a model feature: what a missing (NULL) value becomes before clipping
    and the transform. none (the default) = no imputation, and a missing value stops the build
    (check_missing_features); median = the median of the training sample's known values, learnt
    at fit time and stored with the model; zero; value = the number in impute_value. -#}
{% macro impute_rules() -%}
    {{ return(['none', 'median', 'zero', 'value']) }}
{%- endmacro %}

{#- One entry of segmentation_features: a known impute rule, impute_value a finite number
    with impute: value and absent otherwise. Errors name the feature. -#}
{% macro validate_feature_impute(feature) -%}
    {%- set rule = feature.get('impute', 'none') -%}
    {%- set usage = "use impute: median | zero | value (with impute_value: <number>)" -%}
    {%- if rule not in impute_rules() -%}
        {{ exceptions.raise_compiler_error("var segmentation_features: feature " ~ feature['name'] ~ " has unknown impute " ~ rule ~ "; " ~ usage) }}
    {%- endif -%}
    {%- if rule == 'value' -%}
        {%- set number = feature.get('impute_value') -%}
        {#- not (|x| < 1e308) is true for NaN and infinities too -#}
        {%- if number is none or number is boolean or number is not number or not ((number | abs) < 1e308) -%}
            {{ exceptions.raise_compiler_error("var segmentation_features: feature " ~ feature['name'] ~ " has impute: value, so impute_value must be a number, got " ~ number) }}
        {%- endif -%}
    {%- elif 'impute_value' in feature -%}
        {{ exceptions.raise_compiler_error("var segmentation_features: feature " ~ feature['name'] ~ " sets impute_value but impute is " ~ rule ~ ", not value; " ~ usage) }}
    {%- endif -%}
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
