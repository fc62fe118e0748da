"""The statistics package on its own: settings, the sweep, the choice of k, the fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import silhouette_score

from segmentation.kmeans import (
    CHOSEN_BY_FIXED,
    CHOSEN_BY_KNEE,
    CHOSEN_BY_ONLY_K,
    CHOSEN_BY_SILHOUETTE,
    FitSettings,
    check_enough_customers,
    choose_k,
    fit,
    sampled_silhouette,
    sweep,
    sweep_subset,
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


def test_sampled_silhouette_is_scikit_learns():
    X, _ = make_blobs(n_samples=3_000, centers=4, cluster_std=1.5, random_state=3)
    labels = KMeans(n_clusters=4, n_init=1, random_state=0).fit(X).labels_
    for sample_size in (500, 3_000, 10_000):
        expected = silhouette_score(X, labels, sample_size=min(sample_size, 3_000), random_state=42)
        ours = sampled_silhouette(X, labels, sample_size, 42, chunk_rows=700)
        assert ours == pytest.approx(expected, abs=1e-9)


def test_sweep_fits_a_fixed_subset_beyond_the_sweep_sample_size():
    X, _ = make_blobs(n_samples=2_000, centers=3, random_state=1)
    settings = FitSettings(k_max=4, sweep_sample_size=500)
    subset = sweep_subset(X, settings)
    assert subset.shape == (500, 2) and (subset == sweep_subset(X, settings)).all()
    assert sweep_subset(X, FitSettings()).shape == X.shape
    assert sweep(X, settings)["inertia"].iloc[0] == pytest.approx(((subset - subset.mean(0)) ** 2).sum())
