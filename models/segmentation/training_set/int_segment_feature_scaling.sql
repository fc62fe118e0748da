{#- How each model feature is brought into model space, learnt on the sample: impute a missing
    value (var segmentation_features' impute: median of the sample's known values, zero or a
    number; none leaves it missing and check_missing_features stops the build first), clip to the
    [1 - q, q] quantiles, transform (none | log1p), standardise by mean and population
    standard deviation (exact sums, so rebuilds are bit-identical). A feature with no spread
    after clipping gets scale 0 and is left out. -#}
{%- set upper = var('segmentation_clip_quantile') | float -%}
{%- if not (0.5 < upper <= 1) -%}
    {{ exceptions.raise_compiler_error("var segmentation_clip_quantile must be in (0.5, 1], got " ~ var('segmentation_clip_quantile')) }}
{%- endif %}

with

sampled_customers as (
    select * from {{ ref('int_customers_sampled') }}
),

{% for feature in model_features() -%}
{%- set impute = feature.get('impute', 'none') -%}
{%- set clipped = 'least(greatest(imputed.value, bounds.clip_lower), bounds.clip_upper)' -%}
-- the value a missing feature becomes, before anything else: the median of the known values
-- of the sample, or the configured constant; stored with the model so scoring reuses it
{{ feature.name }}__impute as (
    {%- if impute == 'median' %}
    select cast({{ quantile('cast(' ~ feature.name ~ ' as double)', 0.5) }} as double) as impute_value
    from sampled_customers
    {%- else %}
    -- one row, needing no data
    select {{ fixed_impute_value(feature) }} as impute_value
    {%- endif %}
),

{{ feature.name }}__imputed as (
    select
        coalesce(cast(sampled_customers.{{ feature.name }} as double), impute.impute_value) as value
    from sampled_customers
    cross join {{ feature.name }}__impute as impute
),

{{ feature.name }}__bounds as (
    select
        cast({{ quantile('value', 1 - upper) }} as double) as clip_lower,
        cast({{ quantile('value', upper) }} as double) as clip_upper
    from {{ feature.name }}__imputed
),

{{ feature.name }}__transformed as (
    select
        bounds.clip_lower,
        bounds.clip_upper,
        {{ transform_feature(clipped, feature.get('transform', 'none')) }} as value
    from {{ feature.name }}__imputed as imputed
    cross join {{ feature.name }}__bounds as bounds
),

{{ feature.name }}__center as (
    select clip_lower, clip_upper, {{ exact_avg('value') }} as center
    from {{ feature.name }}__transformed
    group by clip_lower, clip_upper
),

{{ feature.name }}__scaling as (
    select
        '{{ feature.name }}' as feature,
        {{ loop.index }} as feature_position,
        '{{ feature.get('transform', 'none') }}' as transform,
        '{{ impute }}' as impute,
        impute.impute_value,
        center.clip_lower,
        center.clip_upper,
        center.center,
        -- two passes (mean, then mean squared deviation), both exact: stable and reproducible
        sqrt({{ exact_avg('power(transformed.value - center.center, 2)') }}) as spread
    from {{ feature.name }}__transformed as transformed
    cross join {{ feature.name }}__center as center
    cross join {{ feature.name }}__impute as impute
    group by impute.impute_value, center.clip_lower, center.clip_upper, center.center
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
        impute,
        impute_value,
        clip_lower,
        clip_upper,
        center,
        case when spread > 1e-9 then spread else 0 end as scale,
        spread > 1e-9 as is_used,
        case when not spread > 1e-9 then clip_lower end as constant_value
    from unioned
)

select * from final
