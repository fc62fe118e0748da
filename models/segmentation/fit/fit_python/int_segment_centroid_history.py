"""Every fit's model, appended: centroids with stable ids and the scaling they live in."""

from dbt_common.events.base_types import EventLevel
from dbt_common.events.functions import fire_event
from dbt_common.events.types import Note
from segmentation.logs import forward_logs
from segmentation.model_store import accepted_fits, centroid_history_rows


def model(dbt, session):
    forward_logs(lambda msg, warn: fire_event(Note(msg=msg), level=EventLevel.WARN if warn else EventLevel.INFO))
    history = session.sql(f"select * from {dbt.this}").df() if dbt.is_incremental else None
    # only accepted builds' fits: a rejected, failed or killed fit is never matched to
    history = accepted_fits(history, dbt.source("segment_lifecycle", "segment_build_outcomes").df())
    return centroid_history_rows(
        run=dbt.ref("int_segment_run").df(),
        fitted=dbt.ref("int_segment_centroids_fitted").df(),
        scaling=dbt.ref("int_segment_feature_scaling").df(),
        history=history,
        max_distance=float(dbt.config.get("match_max_distance")),
    )
