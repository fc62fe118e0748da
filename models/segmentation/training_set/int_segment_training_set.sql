{#- The sampled customers in model space: what the k sweep and the fit see. -#}

with

sampled_customers as (
    select * from {{ ref('int_customers_sampled') }}
),

scaling as (
    {{ pivot_feature_scaling(ref('int_segment_feature_scaling')) }}
),

final as (
    select
        sampled_customers.customer_id,
        {%- for feature in model_features() %}
        {{ model_space_value('sampled_customers.' ~ feature.name, feature, 'scaling') }}
            as {{ feature.name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from sampled_customers
    cross join scaling
)

select * from final
