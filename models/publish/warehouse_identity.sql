{{ config(materialized='incremental', incremental_strategy='append', full_refresh=false) }}
{#- This warehouse's identity: one row written when the warehouse file is created, never
    replaced (not even by --full-refresh, like the history it vouches for). The publish folder
    records the id on its first publish and refuses another warehouse's (or a deleted and
    rebuilt one's), so two histories never mix. -#}

with

final as (
    select
        cast(uuid() as varchar) as warehouse_id,
        current_timestamp as created_at
    {% if is_incremental() -%}
    where not exists (select 1 from {{ this }})
    {%- endif %}
)

select * from final
