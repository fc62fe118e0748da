{#- The model every customer is scored with: this build's fit in fit mode, the latest fit of an
    accepted build in score mode (stored_model_history reads no other). One row per segment and
    model feature. -#}

with

history as (
    select * from {{ stored_model_history() }}
),

{% if segmentation_mode() == 'fit' -%}
current_fit as (
    select run_id from {{ ref('int_segment_run') }}
),

{% else -%}
current_fit as (
    select max(run_id) as run_id
    from history
    where fit_number = (select max(fit_number) from history)
),

{% endif -%}

final as (
    select history.*
    from history
    inner join current_fit on history.run_id = current_fit.run_id
)

select * from final
