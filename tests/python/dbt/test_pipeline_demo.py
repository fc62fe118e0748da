"""The whole pipeline on the default demo data, checked against the planted truth."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from conftest import run_dbt, undocumented_nodes
from segmentation.cli.summary import summarize
from segmentation.demo.data import PLANTED_SEGMENTS, truth_path
from segmentation.kmeans import FitSettings, fit


def _frame(run, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(run.db), read_only=True) as con:
        return con.execute(sql).df()


def test_the_planted_number_of_segments_is_chosen(demo_build):
    chosen = demo_build.query("select k, chosen_by from fct_segment_k_sweep where is_chosen")
    assert chosen == [(len(PLANTED_SEGMENTS), "elbow")]


def test_segments_recover_the_planted_truth(demo_build, demo_data):
    customers = _frame(demo_build, "select customer_id, segment_id from dim_customers")
    truth = pd.read_parquet(truth_path(demo_data))
    joined = truth.merge(customers, on="customer_id", how="left")
    assert joined["segment_id"].notna().all(), "every planted customer has a segment"
    ari = adjusted_rand_score(joined["planted_segment"], joined["segment_id"])
    assert ari >= 0.9, f"adjusted Rand index {ari:.3f} < 0.9"


def test_segment_names_follow_the_profiles(demo_build, demo_data):
    """Each planted kind lands mostly in a segment whose name says what it is."""
    customers = _frame(demo_build, "select customer_id, segment_name from dim_customers")
    truth = pd.read_parquet(truth_path(demo_data)).merge(customers, on="customer_id")
    majority = truth.groupby("planted_segment")["segment_name"].agg(lambda s: s.mode()[0])
    assert majority.to_dict() == {
        "heavy_returners": "Heavy returners",
        "loyal_high_spenders": "Loyal high spenders",
        "one_order_newcomers": "One-order newcomers",
        "regulars": "Regulars",
    }
    actions = demo_build.query("select count(*) from dim_segment_profiles where suggested_action is null")
    assert actions == [(0,)]


def test_sql_scoring_matches_the_fitted_model(demo_build):
    """Nearest centroid in SQL = nearest centroid in numpy, and a refit gives the same centroids."""
    training = _frame(demo_build, "select * from int_segment_training_set order by customer_id")
    centroids = _frame(demo_build, "select segment_id, feature, centroid from int_segment_model_current")
    scored = _frame(demo_build, "select customer_id, segment_id from int_customers_scored")
    wide = centroids.pivot(index="segment_id", columns="feature", values="centroid")
    features = [c for c in training.columns if c != "customer_id"]
    X = training[features].to_numpy()
    C = wide[features].to_numpy()
    nearest = wide.index.to_numpy()[np.argmin(((X[:, None, :] - C[None]) ** 2).sum(-1), axis=1)]
    sql = training[["customer_id"]].merge(scored, on="customer_id")["segment_id"].to_numpy()
    assert (nearest == sql).all()

    refit = fit(X, len(wide), FitSettings())
    assert np.allclose(np.sort(refit.cluster_centers_, axis=0), np.sort(C, axis=0))


def test_scoring_breaks_ties_to_the_lower_id_and_takes_one_segment_or_none(demo_build, tmp_path):
    """On a copy of the demo warehouse, int_customers_scored rebuilt from edited models: segment 2
    moved onto segment 1's centroid (every customer equally far from both: 1 wins, and the rest
    is numpy's nearest, ties to the first); segment 1 alone (everyone in it, at numpy's
    distance); no segments (no rows, no error)."""
    workdir = tmp_path / "copy"
    workdir.mkdir()
    db = workdir / "segmentation.duckdb"
    shutil.copy(demo_build.db, db)
    training = _frame(demo_build, "select * from int_segment_training_set order by customer_id")
    features = [c for c in training.columns if c != "customer_id"]
    X = training[features].to_numpy()

    def rescore(edit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        with duckdb.connect(str(db)) as con:
            con.execute(edit)
            centroids = con.execute("select segment_id, feature, centroid "
                                    "from int_segment_model_current").df()
        run_dbt(workdir, "run", "--select", "int_customers_scored")
        with duckdb.connect(str(db), read_only=True) as con:
            scored = con.execute("select customer_id, segment_id, distance_to_centroid "
                                 "from int_customers_scored").df()
        if centroids.empty:
            return pd.DataFrame(), scored
        return centroids.pivot(index="segment_id", columns="feature", values="centroid")[features], scored

    wide, scored = rescore("update int_segment_model_current as m set centroid = (select one.centroid "
                           "from int_segment_model_current as one where one.segment_id = 1 "
                           "and one.feature = m.feature) where m.segment_id = 2")
    distances = ((X[:, None, :] - wide.to_numpy()[None]) ** 2).sum(-1)
    assert (distances[:, 0] == distances[:, 1]).all()
    nearest = wide.index.to_numpy()[np.argmin(distances, axis=1)]
    sql = training[["customer_id"]].merge(scored, on="customer_id")["segment_id"].to_numpy()
    assert (nearest == sql).all() and 2 not in set(scored["segment_id"]) and 1 in set(nearest)

    wide, scored = rescore("delete from int_segment_model_current where segment_id <> 1")
    customers = _frame(demo_build, "select count(*) as n from dim_customers")["n"][0]
    assert set(scored["segment_id"]) == {1} and len(scored) == customers
    sql = training[["customer_id"]].merge(scored, on="customer_id")["distance_to_centroid"].to_numpy()
    assert np.allclose(sql, np.sqrt(((X - wide.to_numpy()[0]) ** 2).sum(-1)))

    _, scored = rescore("delete from int_segment_model_current")
    assert scored.empty


def test_model_tables_describe_the_fit(demo_build):
    assert demo_build.query("select count(*) from fct_segment_transitions") == [(0,)], "no previous run"
    sweep = demo_build.query("select k, inertia, silhouette, calinski_harabasz, davies_bouldin "
                             "from fct_segment_k_sweep order by k")
    assert [row[0] for row in sweep] == list(range(1, 11))
    assert sweep[0][2] is None and all(v is not None for row in sweep[1:] for v in row)
    inertias = [row[1] for row in sweep]
    assert inertias == sorted(inertias, reverse=True)
    # original units are the inverse of the model space: units of a centroid are >= 0
    centroids = demo_build.query("select feature, min(centroid_original_units), max(centroid_original_units) "
                                 "from dim_segment_centroids group by feature")
    by_feature = {f: (lo, hi) for f, lo, hi in centroids}
    assert set(by_feature) == {"units_ordered", "return_rate", "net_spending"}
    assert 0 <= by_feature["return_rate"][0] <= by_feature["return_rate"][1] <= 1


def test_summary_names_the_segments(demo_build):
    text = summarize(demo_build.db, demo_build.db.parent / "published")
    assert "customers segmented: 25,000" in text
    assert "dim_segment_profiles, fct_rejected_order_lines" in text
    assert "fct_segment_monthly_revenue, fct_segment_transitions)" in text
    assert "chosen k: 4 (elbow); segment ids: first run: ids by size" in text
    assert ": fit build, customers scored with a new fit" in text
    for name in ("Heavy returners", "Loyal high spenders", "One-order newcomers", "Regulars"):
        assert name in text


def test_docs_generate_and_everything_is_documented(demo_build, demo_data):
    """dbt docs generate works, and every model, column, seed, source and macro has a description."""
    vars = {"orders_format": "demo", "orders_path": str(demo_data)}
    undocumented = undocumented_nodes(demo_build.db.parent, vars)
    assert not undocumented, undocumented
