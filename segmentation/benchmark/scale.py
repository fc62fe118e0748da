"""The scale benchmark: the full dbt pipeline against the business case's notebook, per size.

For every size it generates demo data once (cached), runs `dbt build` in its own warehouse,
times each stage from dbt's run_results.json, takes the peak RSS of the dbt process, times
the bare DuckDB feature aggregation over the same Parquet file, runs the notebook way (pandas
groupby over every line, StandardScaler, K-Means for k = 1..10 with scikit-learn's default
n_init, a final fit over all customers) in a process of its own, and writes a Markdown report
with a chart of time against order lines.

    python -m segmentation.benchmark.scale --sizes 25000,1000000 --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from segmentation.benchmark.results import STAGES, SizeResult
from segmentation.benchmark.scale_report import write_report
from segmentation.cli.command_line import description
from segmentation.demo.data import generate, truth_path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
# Where dbt's nodes are reported: the model's folder or name decides its stage.
STAGE_OF_MODEL = {
    "int_order_lines_validated": "load",
    "int_input_files": "load",  # the registry of the files read
    "int_touched_customers": "load",  # a daily build's stored lines to judge again and sum
    "int_order_lines_of_touched_customers": "load",
    "int_customer_order_totals": "features",
    "int_customers_featurized": "features",
    "int_customers_sampled": "sample and scaling",
    "int_segment_feature_stats": "sample and scaling",
    "int_segment_feature_scaling": "sample and scaling",
    "int_segment_training_set": "sample and scaling",
    "int_segment_k_sweep": "sweep",
    "int_segment_centroids_fitted": "fit",
    "int_segment_centroid_history": "fit",
    "int_customers_scored": "scoring",
    "publish_marts": "publishing",
}
STAGE_OF_FOLDER = {"staging": "load", "marts": "marts", "segmentation": "marts"}
# The business case's three features, from the canonical order line.
NOTEBOOK_FEATURES = ("units_ordered", "return_rate", "net_spending")
NOTEBOOK_MAX_LINES = 130_000_000  # ~4 GiB of pandas columns at most; beyond, the notebook is skipped


def _wait_with_rusage(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for `proc`; its exit code and its own peak RSS in MiB (Linux reports KiB)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


def ensure_data(customers: int, data_dir: Path, seed: int = 42) -> tuple[Path, float]:
    """The demo order lines of `customers` customers, generated once into `data_dir`."""
    out = data_dir / f"customers_{customers}" / "order_lines.parquet"
    if out.exists() and truth_path(out).exists():
        return out, 0.0
    started = time.perf_counter()
    partial = out.with_name("partial_order_lines.parquet")
    generate(customers, seed, partial)
    truth_path(partial).replace(truth_path(out))
    partial.replace(out)
    return out, time.perf_counter() - started


def _stage(node: dict) -> str:
    if node["resource_type"] in ("test", "unit_test"):
        return "tests"
    if node["resource_type"] == "seed":
        return "seeds"
    if node["resource_type"] == "operation":  # on-run-start/-end: the build's outcome record
        return "hooks"
    if node["name"] in STAGE_OF_MODEL:
        return STAGE_OF_MODEL[node["name"]]
    folder = Path(node["original_file_path"]).parts[1]
    return STAGE_OF_FOLDER.get(folder, folder)


Span = tuple[datetime | None, datetime | None, float]


def _node_spans(target: Path) -> tuple[dict[str, dict], dict[str, Span]]:
    """dbt's artefacts in `target`: the manifest's nodes (unit tests included) and, for each node
    in run_results.json (exposures aside: nothing runs), its first start and last end (None for
    a node without timings, e.g. skipped) and execution seconds."""
    manifest = json.loads((target / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    spans: dict[str, Span] = {}
    for result in json.loads((target / "run_results.json").read_text())["results"]:
        times = [datetime.fromisoformat(t[edge].rstrip("Z")) for t in result["timing"]
                 for edge in ("started_at", "completed_at") if t.get(edge)]
        if result["unique_id"] in nodes:
            spans[result["unique_id"]] = (min(times, default=None), max(times, default=None),
                                          result["execution_time"])
    return nodes, spans


def stage_times(target: Path) -> tuple[dict[str, float], float]:
    """Seconds per stage (sum of node execution times) and the span from the first node's start
    to the last node's end, from dbt's artefacts."""
    nodes, spans = _node_spans(target)
    stages = dict.fromkeys(STAGES, 0.0)
    for unique_id, (_, _, seconds) in spans.items():
        stage = _stage(nodes[unique_id])
        stages[stage] = stages.get(stage, 0.0) + seconds
    timed = [(start, end) for start, end, _ in spans.values() if start is not None]
    if not timed:
        return stages, 0.0
    return stages, (max(end for _, end in timed) - min(start for start, _ in timed)).total_seconds()


def slowest_nodes(target: Path, count: int = 8) -> list[tuple[str, float]]:
    """The dbt nodes (models, tests) that took longest, from run_results.json."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    ranked = sorted(results, key=lambda result: -result["execution_time"])[:count]
    return [(_node_name(result["unique_id"]), round(result["execution_time"], 1)) for result in ranked]


def waited_on(target: Path) -> list[tuple[str, float]]:
    """The chain of dbt nodes the build waited on (its critical path), first to last, with each
    node's execution seconds, from run_results.json and manifest.json: from the node (a model,
    seed or test; the hooks aside) that ended last, back through what it waited for that ended
    last before it started. Under `dbt build` a node waits for its parents and for the tests of
    its parents."""
    nodes, all_spans = _node_spans(target)
    tests_of: dict[str, list[str]] = {}
    for unique_id, node in nodes.items():
        if node["resource_type"] in ("test", "unit_test"):
            for parent in node["depends_on"]["nodes"]:
                tests_of.setdefault(parent, []).append(unique_id)
    spans = {u: span for u, span in all_spans.items()
             if nodes[u]["resource_type"] != "operation" and span[0] is not None}
    chain = []
    current = max(spans, key=lambda unique_id: spans[unique_id][1], default=None)
    while current is not None:
        started, ended, seconds = spans[current]
        chain.append((_node_name(current), round(seconds, 1)))
        parents = nodes[current]["depends_on"]["nodes"]
        awaited = [u for u in [*parents, *(t for p in parents for t in tests_of.get(p, []))]
                   if u != current and u in spans and spans[u][1] <= started]
        current = max(awaited, key=lambda unique_id: spans[unique_id][1], default=None)
    return chain[::-1]


def _node_name(unique_id: str) -> str:
    """A node's name; a unit test as `<model>:<test>`, so it is not taken for its model."""
    kind, _, name, *rest = unique_id.split(".")
    return f"{name}:{rest[0]}" if kind == "unit_test" else name


def run_pipeline(data: Path, workdir: Path, extra_vars: dict | None = None) -> tuple[float, float, Path]:
    """`dbt build` on `data` in its own warehouse under `workdir`: wall seconds, peak RSS (MiB),
    and the database. Raises with dbt's output when the build fails."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "target"
    cmd = [str(DBT), "build", "--profiles-dir", str(ROOT), "--project-dir", str(ROOT),
           "--target-path", str(target), "--log-path", str(workdir / "logs"), "--no-use-colors",
           "--vars", json.dumps({"orders_format": "demo", "orders_path": str(data), **(extra_vars or {})})]
    db = workdir / "segmentation.duckdb"
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(db),
           "SEGMENTATION_PUBLISH_DIR": str(workdir / "published")}
    env.setdefault("SEGMENTATION_DUCKDB_TEMP_DIR", str(workdir / "duckdb_tmp"))
    with open(workdir / "dbt_output.log", "w") as output:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        code, peak_mib = _wait_with_rusage(proc)
        wall = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"dbt build failed on {data}:\n{(workdir / 'dbt_output.log').read_text()[-4000:]}")
    return wall, peak_mib, db


def bare_aggregation_seconds(data: Path, threads: int, temp_dir: Path) -> float:
    """The one GROUP BY over the Parquet file that computes the features, timed alone, with the
    pipeline's DuckDB threads and memory limit."""
    config = {"threads": threads, "temp_directory": str(temp_dir),
              "memory_limit": os.environ.get("SEGMENTATION_DUCKDB_MEMORY_LIMIT", "4GB")}
    with duckdb.connect(config=config) as con:
        started = time.perf_counter()
        con.execute(f"""
            create temp table features as
            select
                customer_id,
                count(distinct order_id) as orders,
                sum(quantity) as units_ordered,
                sum(returned_quantity) as units_returned,
                sum(quantity * unit_price) as gross_spending,
                sum(returned_quantity * unit_price) as returned_value,
                count(distinct product_id) as distinct_products,
                min(ordered_at) as first_ordered_at,
                max(ordered_at) as last_ordered_at
            from read_parquet('{data}')
            group by customer_id
        """)
        return time.perf_counter() - started


def model_space_quality(db: Path, data: Path, random_state: int = 42) -> dict:
    """Our chosen model against the truth and against a full-data K-Means at the same k, in the
    model space the pipeline scores in (clipped, transformed, standardised features)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    with duckdb.connect(str(db), read_only=True) as con:
        centroids = con.execute("""
            select segment_id, feature, feature_position, transform, centroid_model_space,
                   clip_lower, clip_upper, center, scale
            from dim_segment_centroids where is_used order by segment_id, feature_position""").df()
        features = list(dict.fromkeys(centroids["feature"]))
        customers = con.execute(
            f"select customer_id, segment_id, distance_to_centroid, {', '.join(features)} "
            "from dim_customers order by customer_id").df()
        runs = con.execute("select k, sample_size from fct_segment_model_runs where is_latest").fetchone()
    truth = pd.read_parquet(truth_path(data)).set_index("customer_id")["planted_segment"]
    ari = adjusted_rand_score(truth.loc[customers["customer_id"]], customers["segment_id"])
    scaling = centroids.drop_duplicates("feature").set_index("feature")
    X = np.column_stack([
        _model_space(customers[f].to_numpy(float), scaling.loc[f]) for f in features])
    k = int(runs[0])
    full = KMeans(n_clusters=k, random_state=random_state).fit(X)
    return {"chosen_k": k, "sample_size": int(runs[1]), "ari": float(ari),
            "inertia_model_space": float((customers["distance_to_centroid"] ** 2).sum()),
            "inertia_full_fit_model_space": float(full.inertia_)}


def _model_space(values: np.ndarray, scaling: pd.Series) -> np.ndarray:
    clipped = np.clip(values, scaling["clip_lower"], scaling["clip_upper"])
    if scaling["transform"] == "log1p":
        clipped = np.sign(clipped) * np.log1p(np.abs(clipped))
    return (clipped - scaling["center"]) / scaling["scale"]


def notebook(data: Path, k: int, random_state: int = 42) -> dict:
    """The business case's notebook: every line into pandas, groupby, StandardScaler, K-Means for
    k = 1..10 with the default n_init, a final fit over all customers at `k`; timed per step."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    seconds = {}
    started = time.perf_counter()
    lines = pd.read_parquet(data)
    lines["net_value"] = (lines["quantity"] - lines["returned_quantity"]) * lines["unit_price"].astype(float)
    seconds["load"] = time.perf_counter() - started

    started = time.perf_counter()
    customers = lines.groupby("customer_id").agg(
        units_ordered=("quantity", "sum"), units_returned=("returned_quantity", "sum"),
        net_spending=("net_value", "sum"))
    customers["return_rate"] = customers["units_returned"] / customers["units_ordered"]
    del lines
    X = StandardScaler().fit_transform(customers[list(NOTEBOOK_FEATURES)])
    seconds["features"] = time.perf_counter() - started

    started = time.perf_counter()
    inertia = {n: float(KMeans(n_clusters=n, random_state=random_state).fit(X).inertia_)
               for n in range(1, 11)}
    seconds["sweep"] = time.perf_counter() - started

    started = time.perf_counter()
    final = KMeans(n_clusters=k, random_state=random_state).fit(X)
    seconds["fit"] = time.perf_counter() - started

    truth = pd.read_parquet(truth_path(data)).set_index("customer_id")["planted_segment"]
    return {"seconds": seconds, "total_seconds": sum(seconds.values()), "k": k,
            "inertia": float(final.inertia_), "sweep_inertia": inertia,
            "ari": float(adjusted_rand_score(truth.loc[customers.index], final.labels_))}


def run_notebook(data: Path, k: int, workdir: Path) -> dict:
    """`notebook` in a process of its own, so its time and peak memory are its own."""
    out = workdir / "notebook.json"
    cmd = [sys.executable, "-m", "segmentation.benchmark.scale", "--notebook", str(data), "--k", str(k),
           "--notebook-out", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    code, peak_mib = _wait_with_rusage(proc)
    if code != 0:
        raise RuntimeError(f"the notebook baseline failed on {data} (exit {code})")
    result = json.loads(out.read_text())
    result.update(wall_seconds=time.perf_counter() - started, peak_rss_mib=peak_mib)
    return result


def benchmark_size(customers: int, data_dir: Path, work_dir: Path, threads: int,
                   with_notebook: bool = True, extra_vars: dict | None = None) -> SizeResult:
    """Every measurement at one size."""
    result = SizeResult(customers)
    data, result.generate_seconds = ensure_data(customers, data_dir)
    with duckdb.connect() as con:
        result.order_lines = con.execute("select count(*) from read_parquet(?)", [str(data)]).fetchone()[0]
    workdir = work_dir / f"customers_{customers}"
    shutil.rmtree(workdir, ignore_errors=True)
    log.info("%d customers, %d order lines: dbt build", customers, result.order_lines)
    result.load_average = [os.getloadavg()[0]]
    result.dbt_wall_seconds, result.dbt_peak_rss_mib, db = run_pipeline(data, workdir, extra_vars)
    result.load_average.append(os.getloadavg()[0])
    result.stage_seconds, result.pipeline_seconds = stage_times(workdir / "target")
    result.slowest_nodes = slowest_nodes(workdir / "target")
    result.dbt_startup_seconds = result.dbt_wall_seconds - result.pipeline_seconds
    log.info("pipeline %.1fs (dbt wall %.1fs), peak RSS %.0f MiB", result.pipeline_seconds,
             result.dbt_wall_seconds, result.dbt_peak_rss_mib)
    result.bare_aggregation_seconds = bare_aggregation_seconds(data, threads, workdir / "bare_query_tmp")
    quality = model_space_quality(db, data)
    for name in ("chosen_k", "sample_size", "ari", "inertia_model_space", "inertia_full_fit_model_space"):
        setattr(result, name, quality[name])
    if with_notebook and result.order_lines <= NOTEBOOK_MAX_LINES:
        log.info("%d customers: the notebook way", customers)
        result.notebook = run_notebook(data, result.chosen_k, workdir)
        result.notebook["our_labels_inertia"] = _labels_inertia_in_notebook_space(data, db)
    return result


def _labels_inertia_in_notebook_space(data: Path, db: Path) -> float:
    """The inertia of our segments in the notebook's space (standardised raw features), so the
    notebook's final fit and our model are compared on the notebook's own terms too."""
    from sklearn.preprocessing import StandardScaler

    with duckdb.connect(str(db), read_only=True) as con:
        customers = con.execute(
            "select segment_id, units_ordered, return_rate, net_spending from dim_customers").df()
    X = StandardScaler().fit_transform(customers[list(NOTEBOOK_FEATURES)].astype(float))
    labels = customers["segment_id"].to_numpy()
    return float(sum(((X[labels == s] - X[labels == s].mean(axis=0)) ** 2).sum()
                     for s in np.unique(labels)))


def add_run_arguments(parser: argparse.ArgumentParser, results: str, section: str) -> None:
    """The arguments both benchmarks take (this one and segmentation.benchmark.daily): sizes, where data and
    builds go, the report, how the run was started, and rewriting the report from `results`."""
    parser.add_argument("--sizes", default="25000,1000000,10000000",
                        help="customers per size, comma-separated (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench",
                        help="where each size's demo data (and load files) are generated once and kept "
                             "(default: data/bench)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build" / "bench",
                        help=f"the builds' warehouses and {results} (default: build/bench)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md",
                        help=f"{section} (default: docs/benchmarks.md)")
    parser.add_argument("--command", help="how the run was started, for the report (default: this one)")
    parser.add_argument("--report-only", action="store_true",
                        help=f"rewrite the report from the last run's {results} in --work-dir")


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m segmentation.benchmark.scale`."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    add_run_arguments(parser, results="results.json", section="the report written")
    parser.add_argument("--notebook-up-to", type=int, default=1_000_000,
                        help="run the notebook baseline at sizes up to this many customers "
                             "(default: %(default)s)")
    internal = parser.add_argument_group("internal", "the benchmark runs the notebook baseline in a "
                                         "subprocess of its own with these")
    internal.add_argument("--notebook", type=Path, help="order lines file of the notebook baseline")
    internal.add_argument("--k", type=int, help="k of the notebook baseline's fit")
    internal.add_argument("--notebook-out", type=Path, help="where the baseline writes its timings (JSON)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.notebook:
        args.notebook_out.write_text(json.dumps(notebook(args.notebook, args.k)))
        # pyarrow's reader threads can abort the interpreter's exit right after pandas read a
        # parquet file ("terminate called without an active exception", apache/arrow#34314):
        # about 1 run in 20 of this baseline on a loaded machine, after its result was written.
        # Its result is written and closed, so it leaves without tearing pyarrow down.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    if args.report_only:
        saved_path = args.work_dir / "results.json"
        if not saved_path.exists():
            raise SystemExit(f"benchmark: no earlier run to report: {saved_path} does not exist "
                             "(run the benchmark first, or point --work-dir at a run's folder)")
        saved = json.loads(saved_path.read_text())
        write_report([SizeResult(**r) for r in saved["results"]], args.out, saved["command"])
        return
    threads = int(os.environ.get("SEGMENTATION_DUCKDB_THREADS", "2"))  # the profile's default
    results = []
    for customers in (int(s) for s in args.sizes.split(",")):
        results.append(benchmark_size(customers, args.data_dir, args.work_dir, threads,
                                      with_notebook=customers <= args.notebook_up_to))
        command = args.command or " ".join(["python -m segmentation.benchmark.scale",
                                            *(argv or sys.argv[1:])])
        (args.work_dir / "results.json").write_text(
            json.dumps({"command": command, "results": [asdict(r) for r in results]}, indent=1))
        write_report(results, args.out, command)


if __name__ == "__main__":
    main()
