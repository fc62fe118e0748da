"""The SQL K-Means path (fit_sql/) against the Python path and scikit-learn, on DuckDB.

One small demo (3,000 customers) is built twice from scratch: with the dbt Python models, and
with the SQL K-Means forced (`segmentation_fit_engine: sql`); the SQL warehouse then gets a
second fit on the same data and a score build.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from kneed import KneeLocator
from sklearn.cluster import KMeans
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

from conftest import run_dbt, undocumented_nodes
from segmentation.demo.data import generate
from segmentation.kmeans import choose_k

CUSTOMERS = 3_000
SQL_PATH = {"segmentation_fit_engine": "sql"}
SHARED_NAMES = ["int_segment_k_sweep", "int_segment_centroids_fitted", "int_segment_centroid_history"]


def _frame(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out, _ = generate(CUSTOMERS, 42, tmp_path_factory.mktemp("sql_kmeans_demo") / "order_lines.parquet")
    return {"orders_format": "demo", "orders_path": str(out)}


@pytest.fixture(scope="module")
def python_fit(small_demo, tmp_path_factory):
    return run_dbt(tmp_path_factory.mktemp("python_fit"), "build", vars=small_demo)


@pytest.fixture(scope="module")
def sql_runs(small_demo, tmp_path_factory):
    """Fit, fit again on the same data, then score: snapshots of what each build left."""
    workdir = tmp_path_factory.mktemp("sql_fit")
    snapshots = []
    for mode in ["fit", "fit", "score"]:
        run = run_dbt(workdir, "build", vars={**small_demo, **SQL_PATH, "segmentation_mode": mode})
        snapshots.append({
            "customers": _frame(run.db, "select customer_id, segment_id from dim_customers")
                         .set_index("customer_id").sort_index(),
            "runs": _frame(run.db, "select * from fct_segment_model_runs order by run_at"),
        })
        if len(snapshots) == 1:
            snapshots[0]["sweep"] = _frame(run.db, "select * from int_segment_k_sweep order by k")
            snapshots[0]["training"] = _frame(run.db, "select * from int_segment_training_set")
            snapshots[0]["fitted"] = _frame(run.db, "select * from int_segment_centroids_fitted")
            snapshots[0]["sweep_customers"] = _frame(run.db, "select * from int_kmeans_sweep_customers")
            snapshots[0]["labels"] = _frame(run.db, "select * from int_kmeans_sweep_labels")
            snapshots[0]["metrics"] = _frame(run.db, "select * from int_kmeans_sweep_metrics order by k")
            snapshots[0]["lloyd"] = _frame(run.db, "select * from int_kmeans_sweep_lloyd")
            snapshots[0]["undocumented"] = undocumented_nodes(workdir, {**small_demo, **SQL_PATH})
    snapshots[-1]["history"] = _frame(run.db, "select * from int_segment_centroid_history")
    return snapshots


def test_sql_path_finds_the_python_paths_segments(python_fit, sql_runs):
    python_k = python_fit.query("select k, chosen_by from fct_segment_k_sweep where is_chosen")
    sql_sweep = sql_runs[0]["sweep"]
    assert python_k == [tuple(sql_sweep.loc[sql_sweep["is_chosen"], ["k", "chosen_by"]].iloc[0])]
    python = _frame(python_fit.db, "select customer_id, segment_id from dim_customers")
    python = python.set_index("customer_id")
    sql = sql_runs[0]["customers"]
    assert python.index.sort_values().equals(sql.index)
    ari = adjusted_rand_score(python.loc[sql.index, "segment_id"], sql["segment_id"])
    assert ari >= 0.99, f"adjusted Rand index {ari:.4f} between the Python and the SQL path"


def test_sql_kmeans_inertia_is_within_one_percent_of_scikit_learn(sql_runs):
    first = sql_runs[0]
    features = first["sweep"]["features"].iloc[0].split(", ")
    X = first["training"][features].to_numpy(dtype=float)
    centroids = first["fitted"].pivot(index="segment_id", columns="feature", values="centroid")[features]
    sql_inertia = ((X[:, None, :] - centroids.to_numpy()[None]) ** 2).sum(axis=2).min(axis=1).sum()
    k = len(centroids)
    sklearn_inertia = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).inertia_
    assert sql_inertia <= 1.01 * sklearn_inertia, (sql_inertia, sklearn_inertia)


def test_the_lloyd_loop_stops_a_fit_only_when_a_step_would_change_nothing(sql_runs):
    """int_kmeans_sweep_lloyd (materialized='kmeans_lloyd'): a fit marked converged is a fixed
    point (one more Lloyd step in numpy returns its centroids); a fit still moving ran every
    step the var allows."""
    first = sql_runs[0]
    features = first["sweep"]["features"].iloc[0].split(", ")
    X = first["sweep_customers"][features].to_numpy(dtype=float)
    fits = first["lloyd"].groupby(["init_number", "k"])
    assert fits.ngroups == first["lloyd"][["init_number", "k"]].drop_duplicates().shape[0] > 0
    converged = 0
    for (_, k), fit in fits:
        fit = fit.sort_values("cluster_number")
        assert list(fit["cluster_number"]) == list(range(1, k + 1))
        steps, is_converged = fit["lloyd_steps"].iloc[0], fit["is_converged"].iloc[0]
        assert (fit["lloyd_steps"] == steps).all() and (fit["is_converged"] == is_converged).all()
        centroids = fit[features].to_numpy(dtype=float)
        if not is_converged:
            assert steps == 30  # var segmentation_sql_kmeans_iterations' default
            continue
        converged += 1
        assert 1 <= steps <= 30
        nearest = ((X[:, None, :] - centroids[None]) ** 2).sum(axis=2).argmin(axis=1)
        stepped = np.array([X[nearest == j].mean(axis=0) if (nearest == j).any() else centroids[j]
                            for j in range(k)])
        np.testing.assert_allclose(stepped, centroids, rtol=1e-9, atol=1e-12)
    assert converged > 0


def test_sql_metrics_equal_scikit_learns_on_the_same_labels(sql_runs):
    first = sql_runs[0]
    features = first["sweep"]["features"].iloc[0].split(", ")
    customers = first["sweep_customers"].set_index("customer_id").sort_index()
    X = customers[features].to_numpy(dtype=float)
    in_sample = customers["is_in_silhouette_sample"].to_numpy()
    metrics = first["metrics"].set_index("k")
    checked = 0
    for k, labels in first["labels"].groupby("k"):
        labels = labels.set_index("customer_id").loc[customers.index]
        assert np.isclose(metrics.at[k, "inertia"], labels["squared_distance"].sum(), rtol=1e-9)
        y = labels["cluster_number"].to_numpy()
        if np.unique(y).size < 2:
            assert pd.isna(metrics.at[k, "silhouette"]) and pd.isna(metrics.at[k, "calinski_harabasz"])
            continue
        assert np.isclose(metrics.at[k, "calinski_harabasz"], calinski_harabasz_score(X, y), rtol=1e-6)
        assert np.isclose(metrics.at[k, "davies_bouldin"], davies_bouldin_score(X, y), rtol=1e-6)
        silhouette = silhouette_score(X[in_sample], y[in_sample])
        assert np.isclose(metrics.at[k, "silhouette"], silhouette, rtol=1e-6)
        checked += 1
    assert checked == 9


def _curves(python_fit, sql_runs) -> list[pd.DataFrame]:
    """Inertia curves: random ones of every shape, some with ties, and the two builds' real ones."""
    rng = np.random.default_rng(7)
    curves = []
    for i in range(400):
        n = int(rng.integers(2, 16))
        ks = np.arange(1, n + 1) + int(rng.integers(0, 3))
        shape = i % 4
        if shape == 0:
            inertia = np.sort(rng.random(n) * 1000)[::-1]
        elif shape == 1:
            inertia = 1000 * np.exp(-rng.random() * 2 * np.arange(n)) + rng.random(n) * 5
        elif shape == 2:
            inertia = np.maximum(1000 / ks ** rng.uniform(0.3, 3) + rng.normal(0, 3, n), 1e-3)
        else:
            inertia = np.round(rng.random(n) * 4) + 1
        curves.append(pd.DataFrame({"k": ks, "inertia": inertia, "silhouette": np.where(
            ks >= 2, np.round(rng.random(n), 1 if shape == 3 else 6), np.nan)}))
    curves.append(_frame(python_fit.db, "select k, inertia, silhouette from fct_segment_k_sweep order by k"))
    curves.append(sql_runs[0]["sweep"][["k", "inertia", "silhouette"]])
    return curves


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")
def test_sql_choice_of_k_equals_kneed_and_choose_k(python_fit, sql_runs, tmp_path):
    curves = _curves(python_fit, sql_runs)
    curves += [curves[0], pd.DataFrame({"k": [4], "inertia": [2.0], "silhouette": [0.5]})]
    fixed = [None] * (len(curves) - 2) + [3, None]
    cases = []
    for curve, segment_count in zip(curves, fixed, strict=True):
        inertia = curve["inertia"].to_numpy(dtype=float)
        log_inertia = np.log(np.maximum(inertia, inertia.max() * 1e-12))  # as choose_k takes it
        cases.append({"k": [int(k) for k in curve["k"]], "log_inertia": [float(v) for v in log_inertia],
                      "silhouette": [None if pd.isna(s) else float(s) for s in curve["silhouette"]],
                      "segment_count": segment_count})
    run = run_dbt(tmp_path, "run-operation", "kmeans_check_choices", "--args", json.dumps({"cases": cases}))
    line = next(line for line in run.output.splitlines() if "kmeans_check_choices: " in line)
    results = json.loads(line.split("kmeans_check_choices: ", 1)[1])
    assert len(results) == len(cases)
    knees = 0
    for curve, case, result in zip(curves, cases, results, strict=True):
        if len(case["k"]) >= 2:
            knee = KneeLocator(case["k"], case["log_inertia"], curve="convex", direction="decreasing",
                               online=False).knee
            assert result["knee"] == (None if knee is None else int(knee)), case
            knees += knee is not None
        expected = choose_k(curve.reset_index(drop=True), case["segment_count"])
        assert (result["k"], result["chosen_by"]) == expected, case
    assert 100 < knees < len(cases) - 50, "the curves exercise both a knee and no knee"


def test_same_data_twice_keeps_ids_and_score_mode_follows(sql_runs):
    first, second, scored = sql_runs
    assert second["customers"]["segment_id"].equals(first["customers"]["segment_id"])
    assert scored["customers"]["segment_id"].equals(second["customers"]["segment_id"])
    history = scored["history"]
    k = history.loc[history["fit_number"] == 1, "segment_id"].nunique()
    assert set(history.groupby("fit_number")["id_assignment"].first()) == {
        "first run: ids by size", f"matched {k} of {k} to fit 1"}
    refit = history[history["fit_number"] == 2]
    assert (refit["matched_distance"] < 1e-9).all()
    runs = scored["runs"]
    assert runs["segmentation_mode"].tolist() == ["fit", "fit", "score"]
    assert runs["model_run_id"].iloc[2] == runs["run_id"].iloc[1]
    assert runs["library_versions"].iloc[0].startswith("SQL K-Means")


def _listed(tmp_path, vars: dict | None = None) -> list[str]:
    run = run_dbt(tmp_path, "ls", "--resource-type", "model", "--select", *SHARED_NAMES,
                  "--output", "json", "--output-keys", "original_file_path", vars=vars)
    return sorted(json.loads(line)["original_file_path"] for line in run.output.splitlines()
                  if line.startswith("{"))


def test_the_fit_path_is_chosen_by_adapter(tmp_path):
    names = sorted(SHARED_NAMES)
    assert _listed(tmp_path) == [f"models/segmentation/fit/fit_python/{name}.py" for name in names]
    assert _listed(tmp_path, SQL_PATH) == [f"models/segmentation/fit/fit_sql/{name}.sql" for name in names]
    bad = run_dbt(tmp_path, "ls", vars={"segmentation_fit_engine": "spark"}, check=False)
    assert bad.returncode != 0
    assert "var segmentation_fit_engine must be one of auto, python, sql, got 'spark'" in bad.output


def test_sql_path_is_documented(sql_runs):
    """The SQL path's own models (built only when it runs) are documented, column by column."""
    assert not sql_runs[0]["undocumented"], sql_runs[0]["undocumented"]
