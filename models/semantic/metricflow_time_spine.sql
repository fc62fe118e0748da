{#- The calendar MetricFlow joins metric_time to (dbt's semantic layer requires one): one row
    per day. It only has to cover the dates metrics are grouped by; builds and orders of this
    project fall between its bounds. -#}

with

days as (
    -- dbt's date_spine renders blank lines of its own
    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2051-01-01' as date)") }}  -- noqa: LT15
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
