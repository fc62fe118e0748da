"""Reruns and faults: a killed build, two builds at once, and a rebuild of the same data.

BI tools read the published marts (`published_marts`), a file swapped in only when a build
has passed; dbt writes the build database (`build_database`).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, dbt_command, run_dbt
from segmentation.demo.data import generate
from segmentation.published import connect_published

# The marts that describe the current state; the others are history, one more run per build.
STATE_MARTS = ["dim_customers", "fct_rejected_order_lines", "dim_segment_centroids", "fct_segment_k_sweep",
               "dim_segment_feature_profiles", "fct_segment_monthly_revenue", "dim_segment_profiles"]
HISTORY_MARTS = ["fct_segment_memberships", "fct_segment_centroid_history", "fct_segment_history",
                 "fct_segment_model_runs", "fct_segment_transitions"]
# Columns that name or time the run by nature: fit_seconds is wall time; a refit of the same
# data is a new fit (run_id, fit_number) matched to the previous one at distance ~0.
RUN_SPECIFIC_COLUMNS = {"fct_segment_k_sweep": ["fit_seconds"],
                        "dim_segment_centroids": ["run_id", "fit_number", "matched_distance"]}


def build_database(workdir: Path) -> Path:
    """The warehouse file dbt writes."""
    return workdir / "segmentation.duckdb"


def published_marts(workdir: Path) -> Path:
    """The database file BI tools read the public marts from."""
    return workdir / "published" / "segmentation.duckdb"


def public_marts(workdir: Path) -> list[str]:
    """Names of the public models, from the manifest of the last dbt run in `workdir`."""
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    return sorted(node["name"] for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node.get("access") == "public")


def mart_digests(workdir: Path, database: Path | None = None) -> dict[str, str]:
    """sha256 of each state mart written as CSV, rows in a stable order, run-specific columns left out."""
    assert public_marts(workdir) == sorted(STATE_MARTS + HISTORY_MARTS), "classify every public mart"
    digests = {}
    with duckdb.connect(str(database or published_marts(workdir)), read_only=True) as con:
        for mart in STATE_MARTS:
            columns = [row[0] for row in con.execute(f"describe {mart}").fetchall()
                       if row[0] not in RUN_SPECIFIC_COLUMNS.get(mart, [])]
            out = workdir / f"{mart}.csv"
            select = ", ".join(f'"{c}"' for c in columns)
            con.execute(f"copy (select {select} from {mart} order by all) to '{out}' (header)")
            digests[mart] = hashlib.sha256(out.read_bytes()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory) -> tuple[Path, Path]:
    """Small demo data, and a second version with one customer fewer (so its marts differ)."""
    folder = tmp_path_factory.mktemp("reruns_data")
    first, _ = generate(600, 3, folder / "v1.parquet")
    table = pq.read_table(first)
    second = folder / "v2.parquet"
    pq.write_table(table.filter(pc.not_equal(table["customer_id"], "C00000001")), second)
    return first, second


@pytest.fixture(scope="module")
def clean_build(two_datasets, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A build of the second data set in a fresh database, and its mart digests."""
    workdir = tmp_path_factory.mktemp("clean_build")
    run_dbt(workdir, "build", vars=_vars(two_datasets[1]))
    return workdir, mart_digests(workdir)


def _vars(path: Path) -> dict:
    return {"orders_format": "canonical", "orders_path": str(path)}


def _kill_when(workdir: Path, data: Path, marker: str) -> str:
    """Start `dbt build`, SIGKILL its process group once a log line contains `marker`; its output."""
    cmd, env = dbt_command(workdir, "build", vars=_vars(data))
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if marker in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=120)
    output = "".join(seen)
    assert proc.returncode == -signal.SIGKILL, f"the build was not killed at {marker!r}:\n{output[-3000:]}"
    return output


@pytest.mark.parametrize("marker", ["segmentation: k sweep",
                                    "START sql table model main.dim_segment_profiles"],
                         ids=["during the Python model", "during a mart"])
def test_a_killed_build_leaves_readable_marts_and_the_next_build_succeeds(two_datasets, clean_build, tmp_path,
                                                                          marker):
    first, second = two_datasets
    clean = clean_build[1]
    workdir = tmp_path / "rerun"
    run_dbt(workdir, "build", vars=_vars(first))
    before = mart_digests(workdir)
    assert all(before[mart] != clean[mart] for mart in ("dim_customers", "dim_segment_profiles"))

    _kill_when(workdir, second, marker)
    # BI tools still read the previous complete run: nothing was published
    assert mart_digests(workdir) == before
    # the warehouse itself opens and every mart in it is whole: the previous build's, or (built
    # before the kill) the new data's
    for mart, digest in mart_digests(workdir, build_database(workdir)).items():
        assert digest in (before[mart], clean[mart]), mart
    assert _membership_rows_are_one_builds(workdir)

    run_dbt(workdir, "build", vars=_vars(second))
    assert mart_digests(workdir) == clean, "the build after the kill equals a clean build"
    assert _membership_rows_are_one_builds(workdir)


def _membership_rows_are_one_builds(workdir: Path) -> bool:
    """publish_membership_rows (kept from build to build) holds one build's rows, exactly the
    membership view's rows of that build."""
    columns = "customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash"
    with duckdb.connect(str(build_database(workdir)), read_only=True) as con:
        runs = con.execute("select distinct run_id from publish_membership_rows").fetchall()
        if len(runs) != 1:
            return False
        kept = con.execute(f"select {columns} from publish_membership_rows order by customer_id").fetchall()
        view = con.execute(f"select {columns} from fct_segment_memberships where run_id = ? "
                           "order by customer_id", [runs[0][0]]).fetchall()
        return kept == view and len(kept) > 0


def test_rebuilding_gives_byte_identical_marts(two_datasets, clean_build):
    workdir, once = clean_build
    run_dbt(workdir, "build", vars=_vars(two_datasets[1]))
    assert mart_digests(workdir) == once
    # the history gains one run, identical to the first but for the run's id and time
    with connect_published(published_marts(workdir)) as con:  # the history view reads history/ files
        runs = [r[0] for r in con.execute(
            "select run_id from fct_segment_model_runs order by run_at").fetchall()]
        assert len(runs) == 2
        members = [con.execute("select customer_id, segment_id, segment_name, distance_to_centroid, "
                               "net_spending, feature_hash from fct_segment_memberships "
                               "where run_id = ? order by all", [run]).fetchall() for run in runs]
    assert members[0] == members[1]


def test_two_builds_at_once_one_fails_clearly_neither_corrupts(two_datasets, clean_build, tmp_path):
    """Through the build wrapper (`make build`): the second build stops with a message, not a traceback."""
    cmd, env = dbt_command(tmp_path, "build", vars=_vars(two_datasets[1]))
    wrapped = [sys.executable, "-m", "segmentation.cli.build", *cmd[1:]]
    started = subprocess.Popen(wrapped, cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in started.stdout:  # the first build holds the lock once dbt is running
        if "Running with dbt" in line:
            break
    second = subprocess.run(wrapped, cwd=ROOT, env=env, capture_output=True, text=True)
    waiting = subprocess.Popen([sys.executable, "-m", "segmentation.cli.build", "--wait", *cmd[1:]], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first_output = started.communicate(timeout=600)[0]
    assert started.returncode == 0, first_output[-3000:]
    assert second.returncode == 75
    assert f"database {build_database(tmp_path)} is locked by another build (PID {started.pid})" \
        in second.stderr
    assert "Traceback" not in second.stdout + second.stderr
    assert waiting.poll() is None, "the --wait build did not give up while the first was running"
    waited_output = waiting.communicate(timeout=600)[0]
    assert waiting.returncode == 0, waited_output[-3000:]
    db = build_database(tmp_path)
    assert (f"waiting for the build in progress on {db} (PID {started.pid}, holding {db}.lock) to finish; "
            "this build starts when it does") in waited_output, waited_output[:3000]
    assert mart_digests(tmp_path) == clean_build[1]


def test_a_direct_dbt_build_holding_the_database_is_detected(tmp_path):
    """A process outside the wrapper holding DuckDB's own lock gets the same clear refusal."""
    db = build_database(tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        cmd, env = dbt_command(tmp_path, "build")
        refused = subprocess.run([sys.executable, "-m", "segmentation.cli.build", *cmd[1:]], cwd=ROOT,
                                 env=env, capture_output=True, text=True)
    finally:
        holder.kill()
        holder.wait()
    assert refused.returncode == 75
    assert f"database {db} is open for writing in another process" in refused.stderr
    assert "Traceback" not in refused.stderr
