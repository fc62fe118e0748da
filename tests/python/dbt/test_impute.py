"""Missing model feature values are never imputed silently (issue 13, part C).

avg_days_between_orders is NULL for one-order customers. As a model feature without `impute`
it stops the build with one line naming it and how many customers lack it; with
`impute: median | zero | value` the value is learnt at fit time, stored with the model, and
applied before clipping and the transform, the same way in the training set and in scoring
(score builds apply the stored value), on both fit paths.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from conftest import run_dbt
from segmentation.demo.data import extend, generate
from segmentation.tables import model_matrix

CUSTOMERS = 2_000
FEATURE = "avg_days_between_orders"
DEFAULT_FEATURES = [
    {"name": "units_ordered", "transform": "log1p"},
    {"name": "return_rate", "transform": "none"},
    {"name": "net_spending", "transform": "log1p"},
]


def _features(**impute) -> list[dict]:
    return [*DEFAULT_FEATURES, {"name": FEATURE, "transform": "log1p", **impute}]


def _frame(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def orders(tmp_path_factory) -> dict:
    out, _ = generate(CUSTOMERS, 11, tmp_path_factory.mktemp("impute_demo") / "order_lines.parquet")
    return {"orders_format": "demo", "orders_path": str(out)}


@pytest.fixture(scope="module")
def orders_next(orders, tmp_path_factory) -> dict:
    """The same shop a month later: more orders, so the median of the known gaps moves."""
    out, _ = extend(Path(orders["orders_path"]),
                    tmp_path_factory.mktemp("impute_next") / "order_lines.parquet", seed=12)
    return {"orders_format": "demo", "orders_path": str(out)}


def _model_space(raw: pd.Series, params: pd.Series) -> pd.Series:
    """A feature in model space computed here from a stored model's row: impute, clip,
    transform (signed log1p or none), standardise."""
    value = raw.astype(float).fillna(params["impute_value"]).clip(params["clip_lower"], params["clip_upper"])
    if params["transform"] == "log1p":
        value = np.sign(value) * np.log1p(value.abs())
    return (value - params["center"]) / params["scale"] if params["scale"] > 0 else value * 0.0


def _distances_from_stored_model(db) -> pd.DataFrame:
    """Every customer's distance to its segment's centroid, computed here from the stored model
    (dim_segment_centroids) and the customer's raw features (dim_customers), with dbt's own."""
    model = _frame(db, "select * from dim_segment_centroids")
    customers = _frame(db, "select * from dim_customers").set_index("customer_id")
    squared = pd.Series(0.0, index=customers.index)
    for feature, rows in model.groupby("feature"):
        params = rows.iloc[0]
        centroids = rows.set_index("segment_id")["centroid_model_space"]
        position = _model_space(customers[feature], params)
        squared += (position - customers["segment_id"].map(centroids)) ** 2
    return pd.DataFrame({"ours": np.sqrt(squared), "dbt": customers["distance_to_centroid"],
                         "missing": customers[FEATURE].isna()})


@pytest.fixture(scope="module")
def median_runs(orders, orders_next, tmp_path_factory):
    """A fit with impute: median, then a score build on the next month's data."""
    workdir = tmp_path_factory.mktemp("impute_median")
    features = {"segmentation_features": _features(impute="median")}
    fit = run_dbt(workdir, "build", vars={**orders, **features})
    snapshot = {
        "scaling": _frame(fit.db, "select * from int_segment_feature_scaling").set_index("feature"),
        "sampled": _frame(fit.db, "select * from int_customers_sampled"),
        "training": _frame(fit.db, "select * from int_segment_training_set").set_index("customer_id"),
        "centroids": _frame(fit.db, "select * from dim_segment_centroids"),
        "distances": _distances_from_stored_model(fit.db),
    }
    score = run_dbt(workdir, "build", vars={**orders_next, **features, "segmentation_mode": "score"})
    snapshot["score_current"] = _frame(score.db, "select * from int_segment_model_current")
    snapshot["score_history"] = _frame(score.db, "select * from fct_segment_centroid_history")
    snapshot["score_distances"] = _distances_from_stored_model(score.db)
    snapshot["score_featurized"] = _frame(score.db, "select * from int_customers_featurized")
    return fit, snapshot


def test_a_missing_feature_without_impute_stops_the_build_naming_it(orders, tmp_path):
    run = run_dbt(tmp_path, "build", check=False,
                  vars={**orders, "segmentation_features": _features()})
    assert run.returncode != 0
    (missing, total, one_order), = run.query(
        f"select count(*) - count({FEATURE}), count(*), count(*) filter (where orders = 1) "
        "from int_customers_featurized")
    assert 0 < missing == one_order < total
    message = (f"feature {FEATURE} is missing for {missing:,} of {total:,} customers: "
               "choose impute: median | zero | value in segmentation_features")
    assert message in run.output, run.output[-3000:]
    assert "Traceback" not in run.output
    tables = {row[0] for row in run.query("select table_name from information_schema.tables")}
    assert "int_segment_training_set" not in tables and "dim_customers" not in tables


NOT_A_NUMBER = f"feature {FEATURE} has impute: value, so impute_value must be a number"
BAD_IMPUTE = [
    ("unknown rule", {"impute": "mean"}, f"feature {FEATURE} has unknown impute mean"),
    ("value without a number", {"impute": "value"}, NOT_A_NUMBER),
    ("value as text", {"impute": "value", "impute_value": "30"}, NOT_A_NUMBER),
    ("number without value", {"impute": "median", "impute_value": 30},
     f"feature {FEATURE} sets impute_value but impute is median"),
]


@pytest.mark.parametrize(("name", "impute", "message"), BAD_IMPUTE, ids=[case[0] for case in BAD_IMPUTE])
def test_a_bad_impute_is_refused_naming_the_feature(orders, tmp_path, name, impute, message):
    run = run_dbt(tmp_path, "build", check=False,
                  vars={**orders, "segmentation_features": _features(**impute)})
    assert run.returncode != 0, name
    assert message in run.output, run.output[-3000:]
    assert "Traceback" not in run.output


def test_median_is_learnt_on_the_sample_stored_and_used_in_training(median_runs):
    fit, snapshot = median_runs
    params = snapshot["scaling"].loc[FEATURE]
    known = snapshot["sampled"][FEATURE].dropna()
    assert len(known) < len(snapshot["sampled"])
    assert params["impute"] == "median"
    assert params["impute_value"] == pytest.approx(float(np.median(known)), rel=1e-12)
    for feature in ("units_ordered", "return_rate", "net_spending"):
        assert snapshot["scaling"].loc[feature, "impute"] == "none"
        assert math.isnan(snapshot["scaling"].loc[feature, "impute_value"])
    # the stored model and both marts carry the rule and the value
    for table in ("int_segment_centroid_history", "fct_segment_centroid_history", "dim_segment_centroids"):
        stored = fit.query(f"select distinct impute, impute_value from {table} where feature = '{FEATURE}'")
        assert stored == [("median", pytest.approx(params["impute_value"], rel=1e-12))], table
    # a one-order customer trains at the model-space position of the median, not the clip bound
    sampled = snapshot["sampled"].set_index("customer_id")
    expected = _model_space(sampled[FEATURE], params)
    training = snapshot["training"][FEATURE].reindex(sampled.index)
    one_order = sampled[FEATURE].isna()
    np.testing.assert_allclose(training[one_order], expected[one_order], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(training, expected, rtol=1e-9, atol=1e-9)
    lower = _model_space(pd.Series([params["clip_lower"]]), params).iloc[0]
    assert not np.allclose(training[one_order], lower)


def test_scoring_applies_the_value_the_model_was_trained_with(median_runs):
    """A one-order customer's scored distance equals the distance computed from the stored
    impute value, scaling and centroid."""
    _, snapshot = median_runs
    distances = snapshot["distances"]
    assert distances["missing"].sum() > 0
    assert distances["dbt"].notna().all()
    np.testing.assert_allclose(distances["dbt"], distances["ours"], rtol=1e-9, atol=1e-9)


def test_a_score_build_applies_the_stored_value_not_a_recomputed_one(median_runs):
    _, snapshot = median_runs
    stored = snapshot["scaling"].loc[FEATURE, "impute_value"]
    current = snapshot["score_current"].query("feature == @FEATURE")
    assert set(current["impute"]) == {"median"}
    assert current["impute_value"].tolist() == pytest.approx([stored] * len(current), rel=1e-15)
    # the new data's median differs, so applying a recomputed one would show
    recomputed = float(snapshot["score_featurized"][FEATURE].median())
    assert recomputed != pytest.approx(stored, rel=1e-6)
    distances = snapshot["score_distances"]
    assert distances["missing"].sum() > 0
    np.testing.assert_allclose(distances["dbt"], distances["ours"], rtol=1e-9, atol=1e-9)
    history = snapshot["score_history"].query("feature == @FEATURE")
    assert set(history["impute"]) == {"median"}


def test_a_score_build_with_another_impute_rule_is_refused(median_runs, orders):
    fit, _ = median_runs
    run = run_dbt(fit.db.parent, "build", check=False,
                  vars={**orders, "segmentation_features": _features(impute="zero"),
                        "segmentation_mode": "score"})
    assert run.returncode != 0
    assert f"{FEATURE}:log1p:median" in run.output, run.output[-3000:]
    assert f"{FEATURE}:log1p:zero" in run.output


@pytest.mark.parametrize(("impute", "value"), [({"impute": "zero"}, 0.0),
                                               ({"impute": "value", "impute_value": 30}, 30.0)],
                         ids=["zero", "value"])
def test_zero_and_a_chosen_value_are_applied_and_stored(orders, tmp_path, impute, value):
    run = run_dbt(tmp_path, "build", vars={**orders, "segmentation_features": _features(**impute),
                                           "segment_count": 4})
    stored = run.query("select distinct impute, impute_value from dim_segment_centroids "
                       f"where feature = '{FEATURE}'")
    assert stored == [(impute["impute"], value)]
    distances = _distances_from_stored_model(run.db)
    assert distances["missing"].sum() > 0
    np.testing.assert_allclose(distances["dbt"], distances["ours"], rtol=1e-9, atol=1e-9)


def test_python_and_sql_fit_paths_impute_the_same(median_runs, orders, tmp_path):
    _, snapshot = median_runs
    run = run_dbt(tmp_path, "build", vars={**orders, "segmentation_features": _features(impute="median"),
                                           "segmentation_fit_engine": "sql"})
    columns = ["impute", "impute_value", "clip_lower", "clip_upper", "center", "scale"]
    on_sql = _frame(run.db, "select * from int_segment_feature_scaling").set_index("feature")[columns]
    pd.testing.assert_frame_equal(on_sql.sort_index(), snapshot["scaling"][columns].sort_index(),
                                  rtol=1e-12, check_dtype=False)
    stored = run.query("select distinct impute, impute_value from int_segment_centroid_history "
                       f"where feature = '{FEATURE}'")
    assert stored == [("median", pytest.approx(snapshot["scaling"].loc[FEATURE, "impute_value"], rel=1e-12))]
    training = _frame(run.db, "select * from int_segment_training_set").set_index("customer_id").sort_index()
    pd.testing.assert_frame_equal(training, snapshot["training"].sort_index(), rtol=1e-9)


def test_the_python_fit_names_a_missing_value_instead_of_failing_in_kmeans():
    training = pd.DataFrame({"customer_id": ["a", "b", "c"], FEATURE: [1.0, None, 3.0]})
    scaling = pd.DataFrame({"feature": [FEATURE], "feature_position": [1], "is_used": [True],
                            "constant_value": [None]})
    with pytest.raises(ValueError, match=rf"\({FEATURE}: 1 of 3 customers\): choose impute"):
        model_matrix(training, scaling)


def test_a_model_stored_before_impute_rules_is_named_then_upgraded(orders, tmp_path):
    """A warehouse whose model history has no impute columns (stored by an earlier version):
    a score build says so in one line; the next fit appends the columns (none on old rows)."""
    run_dbt(tmp_path, "build", vars={**orders, "segment_count": 3})
    with duckdb.connect(str(tmp_path / "segmentation.duckdb")) as con:
        con.execute("alter table int_segment_centroid_history drop column impute")
        con.execute("alter table int_segment_centroid_history drop column impute_value")
    score = run_dbt(tmp_path, "build", check=False, vars={**orders, "segmentation_mode": "score"})
    assert score.returncode != 0
    assert "predates impute rules (no column impute): run a build in fit mode first" in score.output
    fit = run_dbt(tmp_path, "build", vars={**orders, "segment_count": 3})
    assert fit.query("select fit_number, impute from fct_segment_centroid_history group by all order by 1") \
        == [(1, "none"), (2, "none")]
