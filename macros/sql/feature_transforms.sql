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

{#- Model-space value of one feature: clip to the sample's quantiles, transform, standardise.
    `params` is the alias of a row of int_segment_feature_scaling pivoted wide. A constant
    feature (scale 0) is 0 for everyone, so it takes no part in any distance. -#}
{% macro model_space_value(expression, feature, params) -%}
    case when {{ params }}.{{ feature.name }}__scale > 0 then
        ({{ transform_feature('least(greatest(cast(' ~ expression ~ ' as double), ' ~ params ~ '.' ~ feature.name ~ '__clip_lower), ' ~ params ~ '.' ~ feature.name ~ '__clip_upper)', feature.get('transform', 'none')) }}
         - {{ params }}.{{ feature.name }}__center) / {{ params }}.{{ feature.name }}__scale
    else 0 end
{%- endmacro %}

{#- One wide row of scaling parameters (one group of columns per model feature), to cross join. -#}
{% macro pivot_feature_scaling(scaling_relation) -%}
    select
    {%- for feature in model_features() %}
        {%- for param in ['clip_lower', 'clip_upper', 'center', 'scale'] %}
        max(case when feature = '{{ feature.name }}' then {{ param }} end) as {{ feature.name }}__{{ param }}{{ ',' if not loop.last }}
        {%- endfor %}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ scaling_relation }}
{%- endmacro %}
