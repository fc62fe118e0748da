{#- This build, as one row: the run id every registry row carries. Compiled at run time, so
    it is this invocation's id even when dbt reuses a parsed manifest. -#}

with

final as (
    select
        cast('{{ invocation_id }}' as {{ dbt.type_string() }}) as run_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp) as run_at,
        cast('{{ segmentation_mode() }}' as {{ dbt.type_string() }}) as segmentation_mode,
        cast('{{ orders_format() }}' as {{ dbt.type_string() }}) as orders_format,
        cast('{{ (var("orders_table") or orders_path()) | replace("'", "''") }}' as {{ dbt.type_string() }})
            as orders_input,
        cast('{{ dbt_version }}' as {{ dbt.type_string() }}) as dbt_version,
        cast('{{ currency() }}' as {{ dbt.type_string() }}) as currency
)

select * from final
