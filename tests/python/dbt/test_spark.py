"""The same project on Apache Spark (dbt-spark, local session): every model and every dbt test
runs there from the same files, the fit runs as SQL K-Means, and the segments match DuckDB's.

Spark builds are slow to start (a JVM per dbt command), so one module-scoped set of builds on
small demo data serves every test here.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from test_bad_input import _case_lines, demo_rows, write_csv

from conftest import ROOT, dbt_command, run_dbt, run_dbt_spark
from segmentation.demo.data import generate

pytestmark = pytest.mark.spark

CUSTOMERS = 3_000
SEED = 7


@pytest.fixture(scope="module")
def spark_demo(tmp_path_factory):
    """Demo data; a fit and then a score build on Spark; the default (Python) fit on DuckDB."""
    workdir = tmp_path_factory.mktemp("spark")
    data, _ = generate(CUSTOMERS, SEED, workdir / "demo" / "order_lines.parquet")
    demo = {"orders_format": "demo", "orders_path": str(data)}
    fit = run_dbt_spark(workdir / "on_spark", "build", vars=demo)
    fit_results = fit.results()
    fit_manifest = json.loads((fit.target_dir / "manifest.json").read_text())
    score = run_dbt_spark(workdir / "on_spark", "build", vars={**demo, "segmentation_mode": "score"})
    duck = run_dbt(workdir / "on_duckdb", "build", vars=demo)
    return fit, fit_results, score, duck, fit_manifest


def _segments(run) -> dict[str, int]:
    return dict(run.query("select customer_id, segment_id from dim_customers"))


def _ari(left: dict[str, int], right: dict[str, int]) -> float:
    assert left.keys() == right.keys(), "both engines segment the same customers"
    customers = sorted(left)
    return adjusted_rand_score([left[c] for c in customers], [right[c] for c in customers])


def test_every_model_and_test_runs_on_spark(spark_demo):
    """Every SQL model and every dbt test of the DuckDB build also ran, and passed, on Spark;
    only the dbt Python models (fit, publishing) and the publish folder's models (publishing,
    and the warehouse identity it checks) are DuckDB's alone."""
    _, fit_results, _, duck, _ = spark_demo
    manifest = json.loads((duck.db.parent / "target" / "manifest.json").read_text())
    duckdb_only = {uid for uid, node in manifest["nodes"].items()
                   if node.get("language") == "python"
                   or node.get("original_file_path", "").startswith("models/publish/")}
    on_duckdb = json.loads((duck.db.parent / "target" / "run_results.json").read_text())["results"]
    expected = {result["unique_id"] for result in on_duckdb
                if result["unique_id"] not in duckdb_only
                and not set(manifest["nodes"].get(result["unique_id"], {}).get("depends_on", {})
                            .get("nodes", [])) & duckdb_only}
    assert expected - fit_results.keys() == set()
    failed = {uid: status for uid, status in fit_results.items()
              if status not in ("success", "pass", "no-op")}
    assert failed == {}
    tests_on_spark = [uid for uid in fit_results if uid.startswith("test.")]
    assert len(tests_on_spark) >= 80


def test_spark_fits_with_sql_kmeans(spark_demo):
    """The fit path is chosen by the adapter: SQL models on Spark, the Python models on DuckDB."""
    fit, _, _, duck, spark_manifest = spark_demo
    duck_manifest = json.loads((duck.db.parent / "target" / "manifest.json").read_text())

    def fit_files(manifest: dict) -> set[str]:
        return {node["original_file_path"] for node in manifest["nodes"].values()
                if node["name"] == "int_segment_k_sweep"}

    assert fit_files(spark_manifest) == {"models/segmentation/fit/fit_sql/int_segment_k_sweep.sql"}
    assert fit_files(duck_manifest) == {"models/segmentation/fit/fit_python/int_segment_k_sweep.py"}
    assert "SQL" in fit.query("select library_versions from fct_segment_model_runs")[0][0]


def test_spark_and_duckdb_find_the_same_segments(spark_demo):
    fit, _, _, duck, _ = spark_demo
    chosen = "select k from fct_segment_k_sweep where is_chosen"
    assert fit.query(chosen) == duck.query(chosen)
    ari = _ari(_segments(fit), _segments(duck))
    assert ari >= 0.99, f"ARI between Spark (SQL K-Means) and DuckDB (scikit-learn) segments: {ari:.4f}"


def test_sql_kmeans_inertia_on_spark_is_within_one_percent_of_scikit_learn(spark_demo):
    """Spark's training set, fitted by scikit-learn at Spark's chosen k, against Spark's own
    centroids: the inertia of both over the same customers."""
    fit, *_ = spark_demo
    features = [row[0] for row in fit.query(
        "select feature from int_segment_feature_scaling where is_used order by feature_position")]
    training = f"select {', '.join(features)} from int_segment_training_set order by customer_id"
    X = np.array(fit.query(training), dtype=float)
    k = fit.query("select k from fct_segment_k_sweep where is_chosen")[0][0]
    rows = fit.query("select segment_id, feature, centroid from int_segment_centroids_fitted")
    ids = sorted({segment for segment, _, _ in rows})
    centroids = np.zeros((len(ids), len(features)))
    for segment, feature, value in rows:
        if feature in features:
            centroids[ids.index(segment), features.index(feature)] = value
    ours = float(((X[:, None, :] - centroids[None]) ** 2).sum(-1).min(axis=1).sum())
    reference = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X).inertia_
    assert len(ids) == k
    assert ours <= reference * 1.01, f"SQL K-Means inertia {ours:.2f} vs scikit-learn {reference:.2f}"


def test_score_build_on_spark_keeps_every_segment(spark_demo):
    fit, _, score, _, _ = spark_demo
    modes = score.query("select segmentation_mode from fct_segment_model_runs order by run_at")
    assert modes == [("fit",), ("score",)]
    assert _segments(score) == _segments(fit)


def test_spark_leaves_nothing_in_the_working_directory(spark_demo):
    """Metastore, warehouse and Derby's log live under the build's Spark directory."""
    fit, *_ = spark_demo
    for name in ("metastore_db", "spark-warehouse", "derby.log"):
        assert not (ROOT / name).exists(), name
        assert not (fit.spark_dir.parent / name).exists(), name
    assert (fit.spark_dir / "metastore_db").is_dir()
    assert (fit.spark_dir / "warehouse").is_dir()


def test_bad_input_catalogue_gets_the_same_reasons_on_spark(tmp_path):
    """The bad-input CSV (BOM, CRLF, quoted newline, one odd line per case) through staging and
    validation on both engines: the same line numbers, reasons and values."""
    rows = demo_rows(50, 11, tmp_path)
    rows += [line for _, line, _ in _case_lines()]
    path = tmp_path / "orders_bom_crlf.csv"
    write_csv(rows, path, bom=True, line_end="\r\n")
    # 50 customers keep Spark quick, so the catalogue's odd lines are over 5% of the input: the
    # rejected-share gate is raised here, as a user would for a file known to be this bad.
    csv_input = {"orders_format": "canonical", "orders_path": str(path), "max_rejected_line_share": 0.5}
    select = ("build", "--select", "+int_order_lines_validated", "--indirect-selection", "cautious")
    spark = run_dbt_spark(tmp_path / "on_spark", *select, vars=csv_input)
    duck = run_dbt(tmp_path / "on_duckdb", *select, vars=csv_input)
    lines = ("select source_line_number, customer_id, cast(ordered_at as varchar), product_id, quantity, "
             "unit_price, returned_quantity, rejection_reason from int_order_lines_validated order by 1")
    assert len(duck.query(lines)) == len(rows)
    assert spark.query(lines) == duck.query(lines)


def _shown(output: str) -> list[dict]:
    """The rows of `dbt show --output json`."""
    start = output.index('{\n  "node"')
    return json.JSONDecoder().raw_decode(output[start:])[0]["show"]


def test_online_retail_staging_is_the_same_on_spark(online_retail_data, tmp_path):
    """The UCI layout's staging (cancellations as returns, "17850.0" ids, 'm/d/Y H:M' dates) on
    both engines, on a slice of the real file with cancellations and missing customers in it."""
    import pyarrow.parquet as pq

    table = pq.read_table(online_retail_data).slice(0, 3_000)
    path = tmp_path / "online_retail_slice.parquet"
    pq.write_table(table, path)
    show = ("show", "--select", "stg_online_retail__order_lines", "--indirect-selection", "empty",
            "--limit", "5000", "--output", "json")
    uci = {"orders_format": "online_retail", "orders_path": str(path)}
    on_spark = _shown(run_dbt_spark(tmp_path / "on_spark", *show, vars=uci).output)
    on_duckdb = _shown(run_dbt(tmp_path / "on_duckdb", *show, vars=uci).output)
    assert len(on_duckdb) == table.num_rows
    assert sum(row["is_return_line"] for row in on_duckdb) > 0
    assert sum(row["customer_id"] is None for row in on_duckdb) > 0
    keys = ("source_line_number", "order_id", "customer_id", "product_id", "quantity", "returned_quantity",
            "is_return_line", "unparseable_columns")

    def comparable(rows: list[dict]) -> list[tuple]:
        return [tuple(row[key] for key in keys) + (str(row["ordered_at"])[:19].replace("T", " "),
                                                   float(row["unit_price"]), float(row["line_value"]))
                for row in rows]

    assert comparable(on_spark) == comparable(on_duckdb)


def test_spark_imputes_as_duckdb(tmp_path):
    """avg_days_between_orders (NULL for one-order customers) with impute: median on Spark's SQL
    path: the same impute value, scaling and training set as DuckDB's SQL path. Built up to the
    training set only: the fit after it is the same SQL on both (test_spark_fits_with_sql_kmeans),
    and SQL K-Means planning is what makes a Spark build slow."""
    data, _ = generate(600, SEED, tmp_path / "demo" / "order_lines.parquet")
    demo = {"orders_format": "demo", "orders_path": str(data), "segmentation_k_min": 3,
            "segmentation_k_max": 3, "segmentation_fit_engine": "sql",
            "segmentation_features": [
                {"name": "units_ordered", "transform": "log1p"},
                {"name": "net_spending", "transform": "log1p"},
                {"name": "avg_days_between_orders", "transform": "log1p", "impute": "median"}]}
    upto_training_set = ("build", "--select", "+int_segment_training_set", "--indirect-selection", "cautious")
    on_spark = run_dbt_spark(tmp_path / "on_spark", *upto_training_set, vars=demo)
    on_duckdb = run_dbt(tmp_path / "on_duckdb", *upto_training_set, vars=demo)
    scaling = ("select feature, impute, impute_value, clip_lower, clip_upper, center, scale "
               "from int_segment_feature_scaling order by feature")
    spark_rows, duckdb_rows = on_spark.query(scaling), on_duckdb.query(scaling)
    assert [row[:2] for row in spark_rows] == [row[:2] for row in duckdb_rows]
    assert ("avg_days_between_orders", "median") in [row[:2] for row in spark_rows]
    np.testing.assert_allclose(np.array([row[2:] for row in spark_rows], dtype=float),
                               np.array([row[2:] for row in duckdb_rows], dtype=float), rtol=1e-9)
    training = "select * from int_segment_training_set order by customer_id"
    spark_training, duckdb_training = on_spark.query(training), on_duckdb.query(training)
    assert [row[0] for row in spark_training] == [row[0] for row in duckdb_training]
    np.testing.assert_allclose(np.array([row[1:] for row in spark_training], dtype=float),
                               np.array([row[1:] for row in duckdb_training], dtype=float),
                               rtol=1e-9, atol=1e-9)


def test_a_relative_spark_dir_gets_derby_s_log(tmp_path):
    """SEGMENTATION_SPARK_DIR relative to the working directory (the default is build/spark):
    Derby's log is written there, so its start-up banner does not go to standard output."""
    cmd, env = dbt_command(tmp_path, "seed", "--select", "non_product_stock_codes", "--target", "spark")
    spark_dir = tmp_path / "spark"
    env |= {"SEGMENTATION_SPARK_DIR": os.path.relpath(spark_dir, ROOT), "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert (spark_dir / "derby.log").is_file()
    assert "Apache Derby" not in proc.stdout + proc.stderr


def test_an_analysis_runs_on_spark_and_stops_on_an_unknown_segment_id(spark_demo, tmp_path):
    """`dbt show` of an analysis on the Spark warehouse: a segment's top customers, and for an id
    dim_segment_profiles does not hold, Spark's raise_error naming the ids there are (DuckDB's
    error() does not exist there)."""
    fit = spark_demo[0]
    data = fit.spark_dir.parent.parent / "demo" / "order_lines.parquet"
    demo = {"orders_format": "demo", "orders_path": str(data)}
    ids = [row[0] for row in fit.query("select segment_id from dim_segment_profiles order by 1")]
    show = ("show", "--select", "top_customers_of_segment", "--output", "json")
    shown = run_dbt_spark(tmp_path / "known", *show, vars={**demo, "segment_id": ids[0], "top_n": 3},
                          spark_dir=fit.spark_dir)
    top = fit.query(f"select customer_id from dim_customers where segment_id = {ids[0]} "
                    "order by net_spending desc, customer_id limit 3")
    assert [row["customer_id"] for row in _shown(shown.output)] == [customer for customer, in top]
    unknown = ids[-1] + 1
    refused = run_dbt_spark(tmp_path / "unknown", *show, vars={**demo, "segment_id": unknown},
                            spark_dir=fit.spark_dir, check=False)
    assert refused.returncode != 0
    assert f"var segment_id = {unknown}: no segment {unknown}" in refused.output, refused.output[-3000:]
    assert f"segments are {', '.join(str(i) for i in ids)}" in refused.output, refused.output[-3000:]
