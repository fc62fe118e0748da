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

from segmentation.errors import InputError

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
    sweep_n_init: int = 3
    random_state: int = 42
    silhouette_sample_size: int = 10_000
    sweep_sample_size: int = 50_000
    segment_count: int | None = None

    def __post_init__(self) -> None:
        for name in ("k_min", "k_max", "n_init", "sweep_n_init", "silhouette_sample_size",
                     "sweep_sample_size"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise InputError(f"{name} must be a whole number >= 1, got {value!r}")
        if self.k_min > self.k_max:
            raise InputError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        if self.segment_count is not None and (
            not isinstance(self.segment_count, (int, np.integer)) or self.segment_count < 1
        ):
            raise InputError(f"segment_count must be a whole number >= 1, got {self.segment_count!r}")

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
        raise InputError(
            f"only {n} usable customers, fewer than k = {k}: lower segmentation_k_max "
            f"or segment_count, or check why the order lines were rejected"
        )
    distinct = np.unique(X, axis=0).shape[0]
    if distinct < k:
        raise InputError(
            f"only {distinct} distinct customer profiles among {n} customers, fewer than k = {k}: "
            f"lower segmentation_k_max or segment_count"
        )


def sampled_silhouette(X: np.ndarray, labels: np.ndarray, sample_size: int, random_state: int,
                       chunk_rows: int = 2_000) -> float:
    """Mean silhouette on the same random sample as scikit-learn's `silhouette_score(...,
    sample_size, random_state)`, to rounding (see `sampled_silhouettes`)."""
    return sampled_silhouettes(X, [labels], sample_size, random_state, chunk_rows)[0]


def sampled_silhouettes(X: np.ndarray, labelings: list[np.ndarray], sample_size: int,
                        random_state: int, chunk_rows: int = 2_000) -> list[float]:
    """The mean silhouette of each labeling of `X`, on the sample scikit-learn's
    `silhouette_score(..., sample_size, random_state)` draws, to rounding. The pairwise
    distances are computed once for every labeling, and each chunk's distances are summed per
    cluster with one matrix product: the whole k sweep costs about one silhouette."""
    if X.shape[0] > sample_size:
        picked = np.random.RandomState(random_state).permutation(X.shape[0])[:sample_size]
        X, labelings = X[picked], [labels[picked] for labels in labelings]
    rows = np.arange(X.shape[0])
    inverses, members = [], []
    for labels in labelings:
        clusters, inverse = np.unique(labels, return_inverse=True)
        member = np.zeros((X.shape[0], clusters.size))
        member[rows, inverse] = 1.0
        inverses.append(inverse)
        members.append(member)
    all_members = np.hstack(members)
    all_sums = np.vstack([euclidean_distances(X[start:start + chunk_rows], X) @ all_members
                          for start in range(0, X.shape[0], chunk_rows)])
    bounds = np.cumsum([0] + [member.shape[1] for member in members])
    return [_mean_silhouette(all_sums[:, lo:hi], member.sum(axis=0), inverse)
            for lo, hi, member, inverse in zip(bounds[:-1], bounds[1:], members, inverses, strict=True)]


def _mean_silhouette(distance_sums: np.ndarray, counts: np.ndarray, labels: np.ndarray) -> float:
    """The mean silhouette from each point's summed distance to every cluster."""
    rows = np.arange(labels.size)
    own_count = counts[labels]
    within = distance_sums[rows, labels] / np.maximum(own_count - 1, 1)
    between = distance_sums / counts
    between[rows, labels] = np.inf
    nearest_other = between.min(axis=1)
    with np.errstate(invalid="ignore"):
        scores = np.where(own_count > 1, (nearest_other - within) / np.maximum(within, nearest_other), 0.0)
    return float(np.nan_to_num(scores).mean())


def fit(X: np.ndarray, k: int, settings: FitSettings, n_init: int | None = None) -> KMeans:
    """K-Means with k-means++ seeding, pinned random_state, and `n_init` restarts (default:
    the settings' n_init, the final fit's)."""
    check_enough_customers(X, k)
    return KMeans(
        n_clusters=k, init="k-means++", n_init=n_init or settings.n_init,
        random_state=settings.random_state,
    ).fit(X)


def _metrics_defined(labels: np.ndarray) -> bool:
    """The quality metrics need 2 <= segments <= customers - 1; otherwise they stay NaN."""
    return 2 <= np.unique(labels).size <= labels.size - 1


def _silhouettes(X: np.ndarray, labelings: list[np.ndarray], settings: FitSettings) -> list[float]:
    """The silhouette of each labeling on a pinned sample of silhouette_sample_size customers
    (the sample scikit-learn would draw), NaN where the sample holds too few or too many segments."""
    indices = np.random.RandomState(settings.random_state).permutation(X.shape[0])
    indices = indices[:min(settings.silhouette_sample_size, X.shape[0])]
    defined = [i for i, labels in enumerate(labelings) if _metrics_defined(labels[indices])]
    result = [float("nan")] * len(labelings)
    if defined:
        scores = sampled_silhouettes(X[indices], [labelings[i][indices] for i in defined],
                                     settings.silhouette_sample_size, settings.random_state)
        for i, score in zip(defined, scores, strict=True):
            result[i] = score
    return result


def sweep_subset(X: np.ndarray, settings: FitSettings) -> np.ndarray:
    """The rows the sweep fits on: all of them up to `sweep_sample_size`, beyond that a fixed
    random subset in the original row order. The sweep only has to find the shape of the
    inertia curve, and ten k with n_init restarts each cost far more than the one final fit."""
    if X.shape[0] <= settings.sweep_sample_size:
        return X
    rng = np.random.default_rng(settings.random_state)
    return X[np.sort(rng.choice(X.shape[0], size=settings.sweep_sample_size, replace=False))]


def sweep(X: np.ndarray, settings: FitSettings) -> pd.DataFrame:
    """Fit every k of the range with sweep_n_init restarts (the sweep needs the shape of the
    inertia curve, not the best of ten fits), and record inertia and, where defined, the
    quality metrics; the silhouettes of all k share one pass over the pairwise distances."""
    X = sweep_subset(X, settings)
    check_enough_customers(X, max(settings.k_values))
    rows, labelings = [], []
    for k in settings.k_values:
        started = time.perf_counter()
        km = fit(X, k, settings, n_init=settings.sweep_n_init)
        row = {"k": k, "inertia": float(km.inertia_), "silhouette": np.nan,
               "calinski_harabasz": np.nan, "davies_bouldin": np.nan}
        if _metrics_defined(km.labels_):
            row["calinski_harabasz"] = float(calinski_harabasz_score(X, km.labels_))
            row["davies_bouldin"] = float(davies_bouldin_score(X, km.labels_))
        row["fit_seconds"] = time.perf_counter() - started
        log.info("k=%d inertia=%.1f (%.1fs)", k, row["inertia"], row["fit_seconds"])
        rows.append(row)
        labelings.append(km.labels_)
    started = time.perf_counter()
    result = pd.DataFrame(rows)
    result["silhouette"] = _silhouettes(X, labelings, settings)
    log.info("silhouettes of k=%d..%d on %d customers (%.1fs): %s", min(settings.k_values),
             max(settings.k_values), min(settings.silhouette_sample_size, X.shape[0]),
             time.perf_counter() - started,
             ", ".join(f"{s:.3f}" for s in result["silhouette"]))
    return result


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
