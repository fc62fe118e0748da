{#- The customer features, declared in one place: the columns of dim_customers whose
    config.meta has `feature` (models/marts/dim_customers.yml; docs/add_a_feature.md). Each as
    {name, expression, data_type, description, money}, in the order of those columns. Read from
    the manifest at execute time; at parse time (execute false) the list is empty, which only
    shortens the SQL dbt parses for refs. -#}
{% macro customer_feature_definitions() -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {#- a dbt unit test compiles its model against a manifest of that model alone: no graph -#}
    {%- if 'nodes' not in graph -%}
        {{ exceptions.raise_compiler_error("customer_features: the features are read from the manifest (dim_customers' columns), which a dbt unit test does not have; test a model that lists them on its compiled SQL instead (tests/python/dbt/test_add_a_feature.py)") }}
    {%- endif -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.dim_customers') -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("customer_features: model dim_customers, whose columns declare the customer features, is not in the project") }}
    {%- endif -%}
    {%- set definitions = [] -%}
    {%- for column in node.columns.values() -%}
        {%- set meta = (column.get('config') or {}).get('meta') or column.get('meta') or {} -%}
        {%- if 'feature' in meta -%}
            {%- set expression = meta['feature'] -%}
            {%- set where = "models/marts/dim_customers.yml, column " ~ column.name -%}
            {%- if column.name is not string or not modules.re.fullmatch('[a-z][a-z0-9_]*', column.name) -%}
                {{ exceptions.raise_compiler_error(where ~ ": a feature's name is lower case letters, digits and _") }}
            {%- endif -%}
            {%- if expression is not string or expression | trim == '' -%}
                {{ exceptions.raise_compiler_error(where ~ ": meta feature must be the feature's SQL expression, got " ~ expression) }}
            {%- endif -%}
            {%- if not column.get('data_type') -%}
                {{ exceptions.raise_compiler_error(where ~ ": a feature needs its data_type (the contract of dim_customers checks it)") }}
            {%- endif -%}
            {%- if not (column.get('description') or '') | trim -%}
                {{ exceptions.raise_compiler_error(where ~ ": a feature needs its description") }}
            {%- endif -%}
            {%- do definitions.append({
                'name': column.name,
                'expression': expression,
                'data_type': column.data_type,
                'description': column.description,
                'money': meta.get('money', false) is true,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not definitions -%}
        {{ exceptions.raise_compiler_error("customer_features: no column of dim_customers declares a feature (config: {meta: {feature: <SQL>}})") }}
    {%- endif -%}
    {{ return(definitions) }}
{%- endmacro %}

{#- The names of the customer features (customer_feature_definitions): the one list every
    model, test and var validation iterates over. avg_days_between_orders is NULL for one-order
    customers (a model feature that can be NULL needs `impute`, see model_features). Empty at
    parse time. -#}
{% macro customer_features() -%}
    {{ return(customer_feature_definitions() | map(attribute='name') | list) }}
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
        {#- the known names are read from the manifest, at execute time (customer_features) -#}
        {%- if feature is not mapping or (execute and feature.get('name') not in customer_features()) -%}
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

{#- on-run-start: var segmentation_features checked against the declared features before any
    model is built (the names are only known at execute time, from the manifest). -#}
{% macro check_model_features() -%}
    {%- if execute -%}
        {%- do model_features() -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
