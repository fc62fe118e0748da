"""What the dbt Python models return, from hand-made training sets."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from segmentation.kmeans import FitSettings
from segmentation.tables import centroids_table, k_sweep_table, model_matrix, settings_from_config


def _scaling(features, constant=()):
    return pd.DataFrame({
        "feature": features,
        "feature_position": range(1, len(features) + 1),
        "is_used": [f not in constant for f in features],
        "constant_value": [0.0 if f in constant else None for f in features],
    })


def _training(n=900, seed=2):
    X, _ = make_blobs(n_samples=n, centers=3, cluster_std=0.5, random_state=seed)
    frame = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)], "a": X[:, 0], "b": X[:, 1],
                          "c": 0.0})
    return frame


def test_settings_from_dbt_config_text():
    settings = settings_from_config({"k_min": "2", "k_max": " 6 ", "segment_count": "None",
                                     "n_init": "3", "random_state": "7", "silhouette_sample_size": None})
    assert settings == FitSettings(k_min=2, k_max=6, n_init=3, random_state=7)
    assert settings_from_config({"segment_count": "4"}).segment_count == 4
    with pytest.raises(ValueError, match="k_max must be a whole number, got 'ten'"):
        settings_from_config({"k_max": "ten"})


def test_constant_feature_is_left_out_with_a_warning(caplog):
    training = _training()
    with caplog.at_level(logging.WARNING, logger="segmentation"):
        X, used = model_matrix(training, _scaling(["a", "b", "c"], constant={"c"}))
    assert used == ["a", "b"] and X.shape == (900, 2)
    assert "feature c is constant (value 0.0)" in caplog.text


def test_nothing_to_segment_on():
    with pytest.raises(ValueError, match="every model feature is constant"):
        model_matrix(_training(), _scaling(["c"], constant={"c"}))
    with pytest.raises(ValueError, match="no usable customers"):
        model_matrix(_training().iloc[:0], _scaling(["a"]))


def test_row_order_does_not_change_the_model():
    training, scaling = _training(), _scaling(["a", "b"])
    settings = FitSettings(k_max=5)
    sweep = k_sweep_table(training, scaling, settings)
    shuffled = training.sample(frac=1, random_state=5)
    pd.testing.assert_frame_equal(
        sweep.drop(columns="fit_seconds"),
        k_sweep_table(shuffled, scaling, settings).drop(columns="fit_seconds"))
    assert sweep["is_chosen"].sum() == 1 and sweep.loc[sweep["is_chosen"], "k"].item() == 3
    a = centroids_table(training, scaling, sweep, settings)
    b = centroids_table(shuffled, scaling, sweep, settings)
    pd.testing.assert_frame_equal(a, b)


def test_segments_are_numbered_by_size():
    rng = np.random.default_rng(0)
    sizes = {"small": 50, "large": 400, "medium": 150}
    centers = {"small": (0, 10), "large": (10, 0), "medium": (-10, -10)}
    rows = [rng.normal(centers[name], 0.3, size=(n, 2)) for name, n in sizes.items()]
    X = np.vstack(rows)
    training = pd.DataFrame({"customer_id": [f"c{i:04d}" for i in range(len(X))], "a": X[:, 0], "b": X[:, 1]})
    sweep = pd.DataFrame({"k": [3], "is_chosen": [True]})
    table = centroids_table(training, _scaling(["a", "b"]), sweep, FitSettings())
    per_segment = table.drop_duplicates("segment_id").set_index("segment_id")["customers_in_sample"]
    assert per_segment.to_dict() == {1: 400, 2: 150, 3: 50}
