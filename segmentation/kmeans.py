"""The k sweep, the choice of k and the K-Means fit, on features already transformed in SQL."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from kneed import KneeLocator
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
from sklearn.metrics.pairwise import euclidean_distances

log = logging.getLogger(__name__)

CHOSEN_BY_FIXED = "segment_count"
CHOSEN_BY_KNEE = "elbow"
CHOSEN_BY_SILHOUETTE = "silhouette (no elbow found)"
CHOSEN_BY_ONLY_K = "only k in range"


@dataclass(frozen=True)
class FitSettings:
    """How K-Means is run; every random choice is pinned by `random_state`."""

    k_min: int = 1
    k_max: int = 10
    n_init: int = 10
    random_state: int = 42
    silhouette_sample_size: int = 10_000
    sweep_sample_size: int = 50_000
    segment_count: int | None = None

    def __post_init__(self) -> None:
        for name in ("k_min", "k_max", "n_init", "silhouette_sample_size", "sweep_sample_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if self.segment_count is not None and (
            not isinstance(self.segment_count, (int, np.integer)) or self.segment_count < 1
        ):
            raise ValueError(f"segment_count must be a whole number >= 1, got {self.segment_count!r}")

    @property
    def k_values(self) -> list[int]:
        """The k of the sweep; a fixed segment_count is always among them."""
        ks = set(range(self.k_min, self.k_max + 1))
        if self.segment_count is not None:
            ks.add(self.segment_count)
        return sorted(ks)


def check_enough_customers(X: np.ndarray, k: int) -> None:
    """K-Means with k clusters needs at least k distinct customer profiles."""
    n = X.shape[0]
    if n < k:
        raise ValueError(
            f"only {n} usable customers, fewer than k = {k}: lower segmentation_k_max "
            f"or segment_count, or check why the order lines were rejected"
        )
    distinct = np.unique(X, axis=0).shape[0]
    if distinct < k:
        raise ValueError(
            f"only {distinct} distinct customer profiles among {n} customers, fewer than k = {k}: "
            f"lower segmentation_k_max or segment_count"
        )


def sampled_silhouette(X: np.ndarray, labels: np.ndarray, sample_size: int, random_state: int,
                       chunk_rows: int = 2_000) -> float:
    """Mean silhouette on the same random sample as scikit-learn's `silhouette_score(...,
    sample_size, random_state)`, to rounding; summing each chunk's distances per cluster with
    one matrix product makes it about four times faster, and the sweep computes it for every k."""
    if X.shape[0] > sample_size:
        picked = np.random.RandomState(random_state).permutation(X.shape[0])[:sample_size]
        X, labels = X[picked], labels[picked]
    clusters, labels = np.unique(labels, return_inverse=True)
    members = np.zeros((X.shape[0], clusters.size))
    members[np.arange(X.shape[0]), labels] = 1.0
    distance_sums = np.vstack([euclidean_distances(X[start:start + chunk_rows], X) @ members
                               for start in range(0, X.shape[0], chunk_rows)])
    counts = members.sum(axis=0)
    own_count = counts[labels]
    rows = np.arange(X.shape[0])
    within = distance_sums[rows, labels] / np.maximum(own_count - 1, 1)
    between = distance_sums / counts
    between[rows, labels] = np.inf
    nearest_other = between.min(axis=1)
    with np.errstate(invalid="ignore"):
        scores = np.where(own_count > 1, (nearest_other - within) / np.maximum(within, nearest_other), 0.0)
    return float(np.nan_to_num(scores).mean())


def fit(X: np.ndarray, k: int, settings: FitSettings) -> KMeans:
    """K-Means with k-means++ seeding, pinned n_init and random_state."""
    check_enough_customers(X, k)
    return KMeans(
        n_clusters=k, init="k-means++", n_init=settings.n_init, random_state=settings.random_state
    ).fit(X)


def _metrics_defined(labels: np.ndarray) -> bool:
    """The quality metrics need 2 <= segments <= customers - 1; otherwise they stay NaN."""
    return 2 <= np.unique(labels).size <= labels.size - 1


def _silhouette(X: np.ndarray, labels: np.ndarray, settings: FitSettings) -> float:
    """The silhouette on a pinned sample of silhouette_sample_size customers (the sample
    scikit-learn would draw), NaN when the sample holds too few or too many segments."""
    indices = np.random.RandomState(settings.random_state).permutation(X.shape[0])
    indices = indices[:min(settings.silhouette_sample_size, X.shape[0])]
    if not _metrics_defined(labels[indices]):
        return float("nan")
    return sampled_silhouette(X[indices], labels[indices], settings.silhouette_sample_size,
                              settings.random_state)


def sweep_subset(X: np.ndarray, settings: FitSettings) -> np.ndarray:
    """The rows the sweep fits on: all of them up to `sweep_sample_size`, beyond that a fixed
    random subset in the original row order. The sweep only has to find the shape of the
    inertia curve, and ten k with n_init restarts each cost far more than the one final fit."""
    if X.shape[0] <= settings.sweep_sample_size:
        return X
    rng = np.random.default_rng(settings.random_state)
    return X[np.sort(rng.choice(X.shape[0], size=settings.sweep_sample_size, replace=False))]


def sweep(X: np.ndarray, settings: FitSettings) -> pd.DataFrame:
    """Fit every k of the range and record inertia and, where defined, the quality metrics."""
    X = sweep_subset(X, settings)
    check_enough_customers(X, max(settings.k_values))
    rows = []
    for k in settings.k_values:
        started = time.perf_counter()
        km = fit(X, k, settings)
        row = {"k": k, "inertia": float(km.inertia_), "silhouette": np.nan,
               "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
        if _metrics_defined(km.labels_):
            row["silhouette"] = _silhouette(X, km.labels_, settings)
            row["calinski_harabasz"] = float(calinski_harabasz_score(X, km.labels_))
            row["davies_bouldin"] = float(davies_bouldin_score(X, km.labels_))
        row["fit_seconds"] = time.perf_counter() - started
        log.info("k=%d inertia=%.1f silhouette=%.3f (%.1fs)", k, row["inertia"],
                 row["silhouette"], row["fit_seconds"])
        rows.append(row)
    return pd.DataFrame(rows)


def choose_k(sweep_result: pd.DataFrame, segment_count: int | None = None) -> tuple[int, str]:
    """The k to fit, and how it was chosen.

    A fixed `segment_count` wins. Otherwise the knee of the inertia curve on a log scale
    (kneed, convex and decreasing; with several knees the smallest k): on a log scale halving
    the inertia counts the same at every k, so the first big split does not hide the elbow.
    Without a knee, the k >= 2 with the best silhouette, the smaller k on a tie.
    """
    if segment_count is not None:
        return int(segment_count), CHOSEN_BY_FIXED
    ks = sweep_result["k"].to_numpy()
    if len(ks) == 1:
        return int(ks[0]), CHOSEN_BY_ONLY_K
    if len(ks) >= 3:
        inertia = sweep_result["inertia"].to_numpy(dtype=float)
        log_inertia = np.log(np.maximum(inertia, inertia.max() * 1e-12))
        knee = KneeLocator(ks, log_inertia, curve="convex", direction="decreasing", online=False).knee
        if knee is not None:
            return int(knee), CHOSEN_BY_KNEE
    scored = sweep_result[sweep_result["k"] >= 2].sort_values(["silhouette", "k"],
                                                              ascending=[False, True])
    return int(scored["k"].iloc[0]), CHOSEN_BY_SILHOUETTE
