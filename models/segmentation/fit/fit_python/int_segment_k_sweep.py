"""The k sweep: K-Means for every k of the range on the training set, and the chosen k."""

from dbt_common.events.base_types import EventLevel
from dbt_common.events.functions import fire_event
from dbt_common.events.types import Note
from segmentation.logs import forward_logs
from segmentation.tables import k_sweep_table, settings_from_config


def model(dbt, session):
    forward_logs(lambda msg, warn: fire_event(Note(msg=msg), level=EventLevel.WARN if warn else EventLevel.INFO))
    settings = settings_from_config({
        "k_min": dbt.config.get("k_min"),
        "k_max": dbt.config.get("k_max"),
        "segment_count": dbt.config.get("segment_count"),
        "sweep_n_init": dbt.config.get("sweep_n_init"),
        "random_state": dbt.config.get("random_state"),
        "silhouette_sample_size": dbt.config.get("silhouette_sample_size"),
        "sweep_sample_size": dbt.config.get("sweep_sample_size"),
    })
    training = dbt.ref("int_segment_training_set").df()
    scaling = dbt.ref("int_segment_feature_scaling").df()
    return k_sweep_table(training, scaling, settings)
