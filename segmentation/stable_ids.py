"""Stable segment ids: a refit's centroids are matched to the previous run's and keep their ids.

K-Means numbers clusters arbitrarily, so a plain refit renumbers segments and breaks every
dashboard and campaign list keyed on an id. Here the new centroids are matched to the previous
run's by an optimal assignment on centroid distance (scipy's linear_sum_assignment), in the new
run's model space; a match further apart than `max_distance` is no match. Unmatched new
clusters get ids never used before; previous ids without a match are retired, never reused.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

log = logging.getLogger("segmentation")

MODEL_KEYS = ["feature", "transform"]


def _wide(rows: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    return rows.pivot(index="segment_id", columns="feature", values="centroid").reindex(
        columns=features).fillna(0.0)


def _in_new_space(previous: pd.DataFrame, scaling: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Previous centroids re-expressed in the new model space.

    Clipping and the transform are the same function in both runs, so a centroid moves between
    runs' spaces by undoing one standardisation and applying the other.
    """
    old = previous.drop_duplicates("feature").set_index("feature")
    new = scaling.set_index("feature")
    wide = _wide(previous, features)
    for feature in features:
        if not (new.at[feature, "scale"] > 0 and old.at[feature, "scale"] > 0):
            wide[feature] = 0.0
            continue
        transformed = wide[feature] * old.at[feature, "scale"] + old.at[feature, "center"]
        wide[feature] = (transformed - new.at[feature, "center"]) / new.at[feature, "scale"]
    return wide


def assign_stable_ids(fitted: pd.DataFrame, scaling: pd.DataFrame, history: pd.DataFrame | None,
                      max_distance: float) -> tuple[pd.DataFrame, str]:
    """Segment ids for the new fit, and how they were assigned.

    `fitted`: segment_id (1..k by size, this fit's own numbering), feature, centroid.
    `scaling`: feature, transform, center, scale of this run.
    `history`: earlier runs' rows (fit_number, segment_id, feature, transform, centroid, center,
    scale), or None. Returns `fitted` with `segment_id` replaced by the stable id and a
    `matched_distance` column (distance to the previous centroid it took the id from).
    """
    if max_distance <= 0:
        raise ValueError(f"segment_match_max_distance must be > 0, got {max_distance}")
    features = list(scaling.sort_values("feature_position")["feature"])
    out = fitted.copy()
    out["matched_distance"] = np.nan
    own_ids = sorted(fitted["segment_id"].unique())
    if history is None or history.empty:
        return out, "first run: ids by size"

    next_id = int(history["segment_id"].max()) + 1
    previous = history[history["fit_number"] == history["fit_number"].max()]
    same_model = (set(map(tuple, previous[MODEL_KEYS].drop_duplicates().to_numpy()))
                  == set(map(tuple, scaling[MODEL_KEYS].to_numpy())))
    mapping: dict[int, int] = {}
    distances: dict[int, float] = {}
    if same_model:
        new_wide = _wide(fitted, features)
        old_wide = _in_new_space(previous, scaling, features)
        cost = np.sqrt(((new_wide.to_numpy()[:, None, :] - old_wide.to_numpy()[None]) ** 2).sum(-1))
        for i, j in zip(*linear_sum_assignment(cost), strict=True):
            if cost[i, j] <= max_distance:
                mapping[int(new_wide.index[i])] = int(old_wide.index[j])
                distances[int(new_wide.index[i])] = float(cost[i, j])
        how = f"matched {len(mapping)} of {len(own_ids)} to fit {int(previous['fit_number'].iloc[0])}"
    else:
        how = "features or transforms changed: new ids"
    for own in own_ids:  # by size, largest first
        if own not in mapping:
            mapping[own] = next_id
            next_id += 1
    retired = sorted(set(previous["segment_id"]) - set(mapping.values()))
    if retired:
        how += f"; retired {retired}"
    log.info("segment ids (this fit -> stable): %s (%s)",
             ", ".join(f"{int(k)}->{mapping[k]}" for k in own_ids), how)
    out["matched_distance"] = out["segment_id"].map(distances)
    out["segment_id"] = out["segment_id"].map(mapping)
    return out, how
