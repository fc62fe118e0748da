{#- The customers the sweep and the fit see: all of them up to segmentation_sample_size,
    beyond that a fixed pseudo-random subset (hash of customer_id and the random state), so a
    rebuild of the same data samples the same customers. -#}
{%- set sample_size = var('segmentation_sample_size') | int -%}
{%- if sample_size < 1 -%}
    {{ exceptions.raise_compiler_error("var segmentation_sample_size must be a whole number >= 1, got " ~ var('segmentation_sample_size')) }}
{%- endif -%}
{%- do check_missing_features(ref('int_customers_featurized')) %}

with

customers as (
    select
        customer_id,
        {%- for feature in model_features() %}
        {{ feature.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('int_customers_featurized') }}
),

final as (
    select *
    from customers
    order by {{ dbt.hash(dbt.concat(['customer_id', "'" ~ (var('segmentation_random_state') | int) ~ "'"])) }}
    limit {{ sample_size }}
)

select * from final
