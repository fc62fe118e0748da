"""The statistics package on its own: settings, the sweep, the choice of k, the fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from segmentation.kmeans import (
    CHOSEN_BY_FIXED,
    CHOSEN_BY_KNEE,
    CHOSEN_BY_ONLY_K,
    CHOSEN_BY_SILHOUETTE,
    FitSettings,
    check_enough_customers,
    choose_k,
    fit,
    sweep,
)


@pytest.mark.parametrize("kwargs, message", [
    ({"k_min": 0}, "k_min must be a whole number >= 1, got 0"),
    ({"k_min": 5, "k_max": 3}, "k_min (5) must not exceed k_max (3)"),
    ({"n_init": 1.5}, "n_init must be a whole number >= 1, got 1.5"),
    ({"segment_count": 0}, "segment_count must be a whole number >= 1, got 0"),
])
def test_settings_name_the_bad_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FitSettings(**kwargs)


def test_a_fixed_segment_count_is_always_swept():
    assert FitSettings(k_min=2, k_max=4, segment_count=7).k_values == [2, 3, 4, 7]


def test_too_few_customers_or_profiles_is_an_error():
    with pytest.raises(ValueError, match="only 2 usable customers, fewer than k = 3"):
        check_enough_customers(np.zeros((2, 2)), 3)
    with pytest.raises(ValueError, match="only 1 distinct customer profiles among 5 customers"):
        check_enough_customers(np.ones((5, 2)), 2)


def test_sweep_finds_the_planted_blobs():
    X, truth = make_blobs(n_samples=3000, centers=5, cluster_std=0.6, random_state=3)
    result = sweep(X, FitSettings(k_max=9, random_state=0))
    assert list(result["k"]) == list(range(1, 10))
    assert result["silhouette"].isna().tolist() == [True] + [False] * 8
    assert result["inertia"].is_monotonic_decreasing
    k, how = choose_k(result)
    assert (k, how) == (5, CHOSEN_BY_KNEE)
    assert result.loc[result["silhouette"].idxmax(), "k"] == 5


def test_choose_k_rules():
    curve = pd.DataFrame({"k": [1, 2, 3, 4], "inertia": [100.0, 50.0, 20.0, 10.0],
                          "silhouette": [np.nan, 0.4, 0.6, 0.6]})
    assert choose_k(curve, segment_count=2) == (2, CHOSEN_BY_FIXED)
    assert choose_k(curve.iloc[:1]) == (1, CHOSEN_BY_ONLY_K)
    # a straight line has no knee: best silhouette, the smaller k on a tie
    straight = curve.assign(inertia=[40.0, 30.0, 20.0, 10.0])
    assert choose_k(straight) == (3, CHOSEN_BY_SILHOUETTE)


def test_fit_is_reproducible():
    X, _ = make_blobs(n_samples=500, centers=3, random_state=1)
    a = fit(X, 3, FitSettings(random_state=11))
    b = fit(X, 3, FitSettings(random_state=11))
    assert np.array_equal(a.cluster_centers_, b.cluster_centers_)
    assert np.array_equal(a.labels_, b.labels_)
