"""The K-Means fit at the chosen k: centroids in model space, numbered by size (ids come later)."""

from dbt_common.events.base_types import EventLevel
from dbt_common.events.functions import fire_event
from dbt_common.events.types import Note
from segmentation.logs import forward_logs
from segmentation.tables import centroids_table, settings_from_config


def model(dbt, session):
    forward_logs(lambda msg, warn: fire_event(Note(msg=msg), level=EventLevel.WARN if warn else EventLevel.INFO))
    settings = settings_from_config({
        "n_init": dbt.config.get("n_init"),
        "random_state": dbt.config.get("random_state"),
    })
    training = dbt.ref("int_segment_training_set").df()
    scaling = dbt.ref("int_segment_feature_scaling").df()
    k_sweep = dbt.ref("int_segment_k_sweep").df()
    return centroids_table(training, scaling, k_sweep, settings)
