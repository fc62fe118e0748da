"""Publish the public marts for BI tools: runs last in `dbt build`, after every mart's tests passed."""

from segmentation.publish import publish_marts


def model(dbt, session):
    marts = {
        "dim_customers": dbt.ref("dim_customers"),
        "segment_profiles": dbt.ref("segment_profiles"),
        "segment_feature_profiles": dbt.ref("segment_feature_profiles"),
        "segment_monthly_revenue": dbt.ref("segment_monthly_revenue"),
        "segment_k_sweep": dbt.ref("segment_k_sweep"),
        "segment_centroids": dbt.ref("segment_centroids"),
        "fct_rejected_order_lines": dbt.ref("fct_rejected_order_lines"),
        "segment_model_runs": dbt.ref("segment_model_runs"),
        "segment_history": dbt.ref("segment_history"),
        "segment_transitions": dbt.ref("segment_transitions"),
        "segment_centroid_history": dbt.ref("segment_centroid_history"),
        "fct_segment_memberships": dbt.ref("fct_segment_memberships"),
    }
    # the run id is read at run time: a config value could be stale under partial parsing
    run_id = dbt.ref("int_segment_run").df()["run_id"].iloc[0]
    # the publish folder takes this warehouse's history only
    warehouse = {
        "warehouse_id": dbt.ref("warehouse_identity").df()["warehouse_id"].iloc[0],
        # fetchall: a result left unfinished would block the connection the marts are read from
        "database": session.execute("select path from duckdb_databases() "
                                    "where database_name = current_database()").fetchall()[0][0],
    }
    # the membership history grows by every customer every build: publish each run's rows once
    return publish_marts(marts, dbt.config.get("publish_dir"), run_id, warehouse=warehouse,
                         append_only={"fct_segment_memberships": "run_id"})
