"""Stable ids: matching a refit's centroids to the previous fit's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmentation.stable_ids import assign_stable_ids

FEATURES = ["a", "b"]


def _scaling(center=0.0, scale=1.0):
    return pd.DataFrame({"feature": FEATURES, "feature_position": [1, 2], "transform": ["none", "log1p"],
                         "center": [center, center], "scale": [scale, scale]})


def _centroids(points, ids=None):
    ids = ids or list(range(1, len(points) + 1))
    return pd.DataFrame([{"segment_id": i, "feature": f, "centroid": float(p[j])}
                         for i, p in zip(ids, points, strict=True) for j, f in enumerate(FEATURES)])


def _history(points, ids, fit_number=1, scaling=None):
    rows = _centroids(points, ids).merge(scaling if scaling is not None else _scaling(), on="feature")
    return rows.assign(fit_number=fit_number)


def _ids(result):
    return result.drop_duplicates("segment_id")["segment_id"].tolist()


def test_first_run_keeps_the_size_order():
    result, how = assign_stable_ids(_centroids([(0, 0), (5, 5)]), _scaling(), None, 1.0)
    assert _ids(result) == [1, 2] and how == "first run: ids by size"


def test_a_permuted_refit_keeps_the_previous_ids():
    previous = _history([(0, 0), (5, 5), (0, 5)], [7, 3, 9])
    refit = _centroids([(0, 5.1), (5, 4.9), (0.1, 0)])  # same clusters, other order
    result, how = assign_stable_ids(refit, _scaling(), previous, 1.0)
    assert _ids(result) == [9, 3, 7]
    assert how == "matched 3 of 3 to fit 1"
    assert np.allclose(result.drop_duplicates("segment_id")["matched_distance"], [0.1, 0.1, 0.1])


def test_new_cluster_gets_a_new_id_and_vanished_ids_are_retired_for_good():
    history = pd.concat([_history([(0, 0), (5, 5)], [1, 2], fit_number=1),
                         _history([(0, 0), (9, 9)], [1, 3], fit_number=2)])
    refit = _centroids([(0, 0), (-8, 8), (20, 20)])
    result, how = assign_stable_ids(refit, _scaling(), history, 1.0)
    # (0,0) keeps 1; (9,9) had id 3 and has no match: retired; ids 2 and 3 are never reused
    assert _ids(result) == [1, 4, 5]
    assert "retired [3]" in how


def test_matching_happens_in_the_new_runs_model_space():
    """The same centroids expressed with another standardisation still match."""
    previous = _history([(0, 0), (2, 2)], [4, 6], scaling=_scaling(center=1.0, scale=2.0))
    # transformed values: previous (1,1) and (5,5); in the new scaling (center 0, scale 1):
    refit = _centroids([(5, 5), (1, 1)])
    result, _ = assign_stable_ids(refit, _scaling(), previous, 0.01)
    assert _ids(result) == [6, 4]


def test_changed_features_mean_new_ids():
    previous = _history([(0, 0)], [1]).assign(transform="none")
    result, how = assign_stable_ids(_centroids([(0, 0)]), _scaling(), previous, 1.0)
    assert _ids(result) == [2] and how == "features or transforms changed: new ids; retired [1]"


def test_max_distance_is_checked():
    with pytest.raises(ValueError, match="segment_match_max_distance must be > 0, got 0"):
        assign_stable_ids(_centroids([(0, 0)]), _scaling(), None, 0)
