{#- Stops publish_marts (its pre-hook) when the publish folder records another warehouse: one
    line of error, where the same refusal raised in the Python model would come with dbt-duckdb's
    traceback. publish_marts checks again under the folder's lock (segmentation/publish.py). -#}
{% macro check_publish_folder_owner(publish_dir, identity) -%}
with

owner as (
    select
        json_extract_string(content, '$.warehouse_id') as warehouse_id,
        json_extract_string(content, '$.database') as database_path,
        json_extract_string(content, '$.first_published_at') as first_published_at
    -- no rows before the folder's first publish
    from read_text({{ sql_string(publish_dir ~ '/warehouse.json') }})
),

this_warehouse as (
    select
        warehouse_id,
        (select path from duckdb_databases() where database_name = current_database()) as database_path
    from {{ identity }}
),

final as (
    select error(
        'publish folder ' || {{ sql_string(publish_dir) }} || ' holds the history of warehouse '
        || owner.warehouse_id || ' (' || owner.database_path || ', first published '
        || owner.first_published_at || '), not of this warehouse ' || this_warehouse.warehouse_id
        || ' (' || this_warehouse.database_path
        || case when owner.database_path = this_warehouse.database_path then ', deleted and rebuilt since' else '' end
        || '): set SEGMENTATION_PUBLISH_DIR to another folder, or remove '
        || {{ sql_string(publish_dir) }} || ' to start its history over'
    ) as refused
    from owner
    cross join this_warehouse
    where owner.warehouse_id is distinct from this_warehouse.warehouse_id
)

select * from final
{%- endmacro %}
