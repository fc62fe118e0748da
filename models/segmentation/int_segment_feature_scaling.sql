{#- How each model feature is brought into model space, learnt on the sample: clip to the
    [1 - q, q] quantiles, transform (none | log1p), standardise by mean and population
    standard deviation. A feature with no spread after clipping gets scale 0 and is left out. -#}
{%- set upper = var('segmentation_clip_quantile') | float -%}
{%- if not (0.5 < upper <= 1) -%}
    {{ exceptions.raise_compiler_error("var segmentation_clip_quantile must be in (0.5, 1], got " ~ var('segmentation_clip_quantile')) }}
{%- endif %}

with

sampled_customers as (
    select * from {{ ref('int_customers_sampled') }}
),

{% for feature in model_features() -%}
{%- set clipped = 'least(greatest(cast(sampled_customers.' ~ feature.name ~ ' as double), bounds.clip_lower), bounds.clip_upper)' -%}
{{ feature.name }}__bounds as (
    select
        cast({{ quantile('cast(' ~ feature.name ~ ' as double)', 1 - upper) }} as double) as clip_lower,
        cast({{ quantile('cast(' ~ feature.name ~ ' as double)', upper) }} as double) as clip_upper
    from sampled_customers
),

{{ feature.name }}__scaling as (
    select
        '{{ feature.name }}' as feature,
        {{ loop.index }} as feature_position,
        '{{ feature.get('transform', 'none') }}' as transform,
        bounds.clip_lower,
        bounds.clip_upper,
        avg({{ transform_feature(clipped, feature.get('transform', 'none')) }}) as center,
        stddev_pop({{ transform_feature(clipped, feature.get('transform', 'none')) }}) as spread
    from sampled_customers
    cross join {{ feature.name }}__bounds as bounds
    group by bounds.clip_lower, bounds.clip_upper
),

{% endfor -%}

unioned as (
    {%- for feature in model_features() %}
    select * from {{ feature.name }}__scaling
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        feature,
        feature_position,
        transform,
        clip_lower,
        clip_upper,
        center,
        case when spread > 1e-9 then spread else 0 end as scale,
        spread > 1e-9 as is_used,
        case when not spread > 1e-9 then clip_lower end as constant_value
    from unioned
)

select * from final
