"""Publish the public marts for BI tools: runs last in `dbt build`, after every mart's tests passed."""

from segmentation.publish import ChangeHistory, publish_marts

# The names the marts had before the dim_/fct_ rule, published as views of them; the same as
# models/old_names/ (tests/python/unit/test_old_names.py)
OLD_NAMES = {
    "segment_profiles": "dim_segment_profiles",
    "segment_feature_profiles": "dim_segment_feature_profiles",
    "segment_centroids": "dim_segment_centroids",
    "segment_k_sweep": "fct_segment_k_sweep",
    "segment_model_runs": "fct_segment_model_runs",
    "segment_history": "fct_segment_history",
    "segment_centroid_history": "fct_segment_centroid_history",
    "segment_transitions": "fct_segment_transitions",
    "segment_monthly_revenue": "fct_segment_monthly_revenue",
}


def model(dbt, session):
    marts = {
        "dim_customers": dbt.ref("dim_customers"),
        "dim_segment_profiles": dbt.ref("dim_segment_profiles"),
        "dim_segment_feature_profiles": dbt.ref("dim_segment_feature_profiles"),
        "fct_segment_monthly_revenue": dbt.ref("fct_segment_monthly_revenue"),
        "fct_segment_k_sweep": dbt.ref("fct_segment_k_sweep"),
        "dim_segment_centroids": dbt.ref("dim_segment_centroids"),
        "fct_rejected_order_lines": dbt.ref("fct_rejected_order_lines"),
        "fct_segment_model_runs": dbt.ref("fct_segment_model_runs"),
        "fct_segment_history": dbt.ref("fct_segment_history"),
        "fct_segment_transitions": dbt.ref("fct_segment_transitions"),
        "fct_segment_centroid_history": dbt.ref("fct_segment_centroid_history"),
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
    # the membership history grows by every customer every build: publish each run once, as the
    # warehouse keeps it, as changes. It is a view that gives every run's customers from the
    # change rows: its runs are listed by int_segment_membership_runs (on DuckDB the lifecycle
    # hooks keep the accepted builds' rows and this build's there, the runs the view shows)
    runs = dbt.ref("int_segment_membership_runs")
    history = ChangeHistory(changes=dbt.ref("int_segment_membership_changes"), runs=runs,
                            names=dbt.ref("int_segment_run_segments"))
    return publish_marts(marts, dbt.config.get("publish_dir"), run_id, warehouse=warehouse,
                         append_only={"fct_segment_memberships": "run_id"}, old_names=OLD_NAMES,
                         run_lists={"fct_segment_memberships": runs},
                         # this build's rows, computed once in the build (the view expands them
                         # again), when the build is published whole
                         run_rows={"fct_segment_memberships": dbt.ref("publish_membership_rows")},
                         changes={"fct_segment_memberships": history})
