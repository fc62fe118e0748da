{#- The per-feature transform of the model space, and its inverse. log1p is signed
    (sign(x) * ln(1 + |x|)) so that negative net spending stays defined and invertible. -#}
{% macro transform_feature(expression, transform) -%}
    {%- if transform == 'log1p' -%}
        (sign({{ expression }}) * ln(1 + abs({{ expression }})))
    {%- elif transform == 'none' -%}
        ({{ expression }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown feature transform " ~ transform) }}
    {%- endif -%}
{%- endmacro %}

{% macro inverse_transform_feature(expression, transform) -%}
    {%- if transform == 'log1p' -%}
        (sign({{ expression }}) * (exp(abs({{ expression }})) - 1))
    {%- elif transform == 'none' -%}
        ({{ expression }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown feature transform " ~ transform) }}
    {%- endif -%}
{%- endmacro %}

{#- Model-space value of one feature: impute a missing value, clip to the sample's quantiles,
    transform, standardise.
    `params` is the alias of a row of int_segment_feature_scaling pivoted wide. A constant
    feature (scale 0) is 0 for everyone, so it takes no part in any distance. -#}
{% macro model_space_value(expression, feature, params) -%}
    case when {{ params }}.{{ feature.name }}__scale > 0 then
        ({{ transform_feature('least(greatest(' ~ imputed_feature(expression, feature, params) ~ ', ' ~ params ~ '.' ~ feature.name ~ '__clip_lower), ' ~ params ~ '.' ~ feature.name ~ '__clip_upper)', feature.get('transform', 'none')) }}
         - {{ params }}.{{ feature.name }}__center) / {{ params }}.{{ feature.name }}__scale
    else 0 end
{%- endmacro %}

{#- One wide row of scaling parameters (one group of columns per model feature), to cross join. -#}
{% macro pivot_feature_scaling(scaling_relation) -%}
    select
    {%- for feature in model_features() %}
        {%- for param in ['impute_value', 'clip_lower', 'clip_upper', 'center', 'scale'] %}
        max(case when feature = '{{ feature.name }}' then {{ param }} end) as {{ feature.name }}__{{ param }}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ scaling_relation }}
{%- endmacro %}

{#- A model feature's value before clipping: the feature itself, or when it is NULL the
    imputed value stored with the model (`params`.<feature>__impute_value, NULL when the
    feature's rule is none; check_missing_features has then made sure nothing is NULL). -#}
{% macro imputed_feature(expression, feature, params) -%}
    coalesce(cast({{ expression }} as double), {{ params }}.{{ feature.name }}__impute_value)
{%- endmacro %}

{#- The impute value of a rule that needs no data (zero, value, none), as SQL; median is
    computed from the sample in int_segment_feature_scaling. -#}
{% macro fixed_impute_value(feature) -%}
    {%- set rule = feature.get('impute', 'none') -%}
    {%- if rule == 'zero' -%}
        cast(0 as double)
    {%- elif rule == 'value' -%}
        cast({{ feature['impute_value'] | float }} as double)
    {%- else -%}
        cast(null as double)
    {%- endif -%}
{%- endmacro %}

{#- Stops the build, at run time, when a model feature without an impute rule is NULL for
    some customers of `relation`: K-Means would otherwise see the clip bound (least/greatest
    skip NULLs) and model those customers as something they are not. One line naming the
    feature and how many customers lack it. -#}
{% macro check_missing_features(relation) -%}
    {%- set unimputed = [] -%}
    {%- for feature in model_features() -%}
        {%- if feature.get('impute', 'none') == 'none' -%}{%- do unimputed.append(feature.name) -%}{%- endif -%}
    {%- endfor -%}
    {%- if execute and unimputed -%}
        {%- set counts -%}
            select count(*) as customers
            {%- for name in unimputed %}, count(*) - count({{ name }}) as {{ name }}{% endfor %}
            from {{ relation }}
        {%- endset -%}
        {%- set row = run_query(counts).rows[0] -%}
        {%- for name in unimputed -%}
            {%- set missing = row[loop.index] | int -%}
            {%- if missing > 0 -%}
                {{ exceptions.raise_compiler_error("feature " ~ name ~ " is missing for " ~ "{:,}".format(missing) ~ " of " ~ "{:,}".format(row[0] | int) ~ " customers: choose impute: median | zero | value in segmentation_features") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
