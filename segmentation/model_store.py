"""The fitted model as rows to append to the model history: one row per segment and feature.

Imports no scikit-learn: this step only matches ids (scipy) and shapes rows.
"""

from __future__ import annotations

import pandas as pd

from segmentation.stable_ids import assign_stable_ids

# impute / impute_value: what a missing value of the feature becomes (before clipping), learnt
# at fit time and stored so that a score build applies the same value, not a recomputed one
SCALING_COLUMNS = ["feature", "feature_position", "transform", "impute", "impute_value",
                   "clip_lower", "clip_upper", "center", "scale", "is_used"]


def accepted_fits(history: pd.DataFrame | None, outcomes: pd.DataFrame) -> pd.DataFrame | None:
    """The rows of `history` whose build was accepted (an `outcomes` row with outcome accepted).

    A fit whose build was rejected by a gate, failed after the fit or was killed is kept in the
    store but is never a candidate: ids are matched to, and fits numbered after, accepted fits.
    """
    if history is None:
        return None
    accepted = set(outcomes.loc[outcomes["outcome"] == "accepted", "run_id"])
    return history[history["run_id"].isin(accepted)].reset_index(drop=True)


def centroid_history_rows(run: pd.DataFrame, fitted: pd.DataFrame, scaling: pd.DataFrame,
                          history: pd.DataFrame | None, max_distance: float) -> pd.DataFrame:
    """This fit's model with stable segment ids, every model feature on every segment.

    `run`: the one-row int_segment_run (run_id, run_at). A feature left out of the fit
    (constant) is stored with centroid 0 and is_used false, so the stored model alone is
    enough to score with.
    """
    if len(run) != 1:
        raise ValueError(f"expected one current run row, got {len(run)}")
    stable, how = assign_stable_ids(fitted, scaling, history, max_distance)
    segments = stable[["segment_id", "customers_in_sample", "matched_distance"]].drop_duplicates("segment_id")
    rows = segments.merge(scaling[SCALING_COLUMNS], how="cross").merge(
        stable[["segment_id", "feature", "centroid"]], on=["segment_id", "feature"], how="left")
    rows["centroid"] = rows["centroid"].fillna(0.0)
    rows["fit_number"] = 1 if history is None or history.empty else int(history["fit_number"].max()) + 1
    rows["run_id"] = run["run_id"].iloc[0]
    rows["fitted_at"] = run["run_at"].iloc[0]
    rows["id_assignment"] = how
    columns = ["run_id", "fit_number", "fitted_at", "segment_id", *SCALING_COLUMNS, "centroid",
               "customers_in_sample", "matched_distance", "id_assignment"]
    return rows[columns].sort_values(["segment_id", "feature_position"]).reset_index(drop=True)
