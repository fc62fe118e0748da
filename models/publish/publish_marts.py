"""Publish the public marts for BI tools: runs last in `dbt build`, after every mart's tests passed."""

from segmentation.publish import publish_marts


def model(dbt, session):
    marts = {
        "dim_customers": dbt.ref("dim_customers"),
        "segment_profiles": dbt.ref("segment_profiles"),
        "segment_k_sweep": dbt.ref("segment_k_sweep"),
        "segment_centroids": dbt.ref("segment_centroids"),
        "fct_rejected_order_lines": dbt.ref("fct_rejected_order_lines"),
    }
    return publish_marts(marts, dbt.config.get("publish_dir"), dbt.config.get("invocation_id"))
