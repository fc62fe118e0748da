"""The tables the dbt Python models return: the k sweep, and the centroids of the chosen k.

Inputs are the training set (customers of the sample in model space, one column per model
feature, transformed in SQL) and the feature scaling table; nothing here imports dbt.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd

from segmentation.errors import InputError
from segmentation.kmeans import FitSettings, choose_k, fit, sweep, sweep_subset

log = logging.getLogger("segmentation")

CUSTOMER_KEY = "customer_id"


def settings_from_config(config: Mapping[str, Any]) -> FitSettings:
    """FitSettings from dbt config values, which arrive as text when set from vars in YAML."""

    def whole(name: str) -> int | None:
        value = config.get(name)
        if value is None or str(value).strip().lower() in ("", "none", "null"):
            return None
        try:
            return int(str(value).strip())
        except ValueError:
            raise InputError(f"{name} must be a whole number, got {value!r}") from None

    given = {name: whole(name) for name in
             ("k_min", "k_max", "n_init", "sweep_n_init", "random_state", "silhouette_sample_size",
              "sweep_sample_size")}
    return FitSettings(**{k: v for k, v in given.items() if v is not None},
                       segment_count=whole("segment_count"))


def library_versions() -> str:
    """The versions of the libraries that shape a fit, for the run registry."""
    return ", ".join(f"{name} {version(name)}"
                     for name in ("scikit-learn", "numpy", "pandas", "scipy", "kneed"))


def model_matrix(training: pd.DataFrame, scaling: pd.DataFrame,
                 warn: bool = True) -> tuple[np.ndarray, list[str]]:
    """The training set as a matrix in a fixed row order, and the features that vary.

    A feature that is constant across the sample has scale 0 and is left out, with a warning.
    """
    if training.empty:
        raise InputError("no usable customers: every order line was rejected or the input is "
                         "empty; see fct_rejected_order_lines for the reasons")
    features = list(scaling.sort_values("feature_position")["feature"])
    used = []
    for row in scaling.sort_values("feature_position").itertuples():
        if row.is_used:
            used.append(row.feature)
        elif warn:
            log.warning("feature %s is constant (value %s) across the sampled customers after "
                        "clipping; it is left out of the model", row.feature, row.constant_value)
    if not used:
        raise InputError(f"every model feature is constant across customers ({', '.join(features)}): "
                         "there is nothing to segment on")
    ordered = training.sort_values(CUSTOMER_KEY, kind="stable")
    # the SQL imputes or stops the build first; a NaN here would make K-Means fail with a
    # traceback (or, imputed by anyone else, be silently changed), so say which feature
    missing = {feature: int(count) for feature, count in ordered[used].isna().sum().items() if count}
    if missing:
        raise ValueError("missing model feature values in the training set ("
                         + ", ".join(f"{feature}: {count:,} of {len(ordered):,} customers"
                                     for feature, count in missing.items())
                         + "): choose impute: median | zero | value in segmentation_features")
    return ordered[used].to_numpy(dtype=float), used


def k_sweep_table(training: pd.DataFrame, scaling: pd.DataFrame, settings: FitSettings) -> pd.DataFrame:
    """One row per k with inertia and quality metrics, the chosen k flagged."""
    X, used = model_matrix(training, scaling)
    swept = sweep_subset(X, settings).shape[0]
    log.info("k sweep over k=%d..%d on %d of %d sampled customers, features: %s",
             min(settings.k_values), max(settings.k_values), swept, X.shape[0], ", ".join(used))
    result = sweep(X, settings)
    k, chosen_by = choose_k(result, settings.segment_count)
    log.info("chose k=%d (%s)", k, chosen_by)
    result["is_chosen"] = result["k"] == k
    result["chosen_by"] = np.where(result["is_chosen"], chosen_by, None)
    result["sample_size"] = X.shape[0]
    result["sweep_sample_size"] = swept
    result["features"] = ", ".join(used)
    result["library_versions"] = library_versions()
    return result


def centroids_table(training: pd.DataFrame, scaling: pd.DataFrame, k_sweep: pd.DataFrame,
                    settings: FitSettings) -> pd.DataFrame:
    """The centroids of the chosen k, one row per segment and model feature.

    Segments are numbered 1..k by size in the sample, largest first, so the numbering does
    not depend on K-Means' arbitrary label order.
    """
    chosen = k_sweep.loc[k_sweep["is_chosen"], "k"]
    if len(chosen) != 1:
        raise ValueError(f"the k sweep must flag exactly one chosen k, found {len(chosen)}")
    k = int(chosen.iloc[0])
    X, used = model_matrix(training, scaling, warn=False)
    km = fit(X, k, settings)
    sizes = np.bincount(km.labels_, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], tuple(km.cluster_centers_[c])))
    rows = [
        {"segment_id": rank + 1, "feature": feature, "centroid": float(km.cluster_centers_[c, j]),
         "customers_in_sample": int(sizes[c])}
        for rank, c in enumerate(order)
        for j, feature in enumerate(used)
    ]
    log.info("fitted k=%d: inertia %.1f, sample sizes %s", k, km.inertia_,
             [int(sizes[c]) for c in order])
    return pd.DataFrame(rows)
