"""dbt's semantic layer (models/marts/_marts__semantic.yml), queried with MetricFlow's `mf` as a
BI user would, gives the numbers of dim_segment_profiles and fct_segment_history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import ROOT

MF = Path(sys.executable).with_name("mf")

# metric -> the dim_segment_profiles column it must equal, segment by segment (the latest build)
LATEST = {"customers": "customers", "net_revenue": "net_revenue", "return_rate": "mean_return_rate",
          "share_of_customers": "share_of_customers", "share_of_net_revenue": "share_of_net_revenue"}
# metric -> the fct_segment_history column it must equal, build by build and segment by segment
PER_BUILD = {"customers_per_build": "customers", "net_revenue_per_build": "net_revenue",
             "share_of_customers_per_build": "share_of_customers",
             "share_of_net_revenue_per_build": "share_of_net_revenue"}
MONEY = {"net_revenue", "net_revenue_per_build"}


def mf_query(db: Path, target: Path, workdir: Path, metrics: list[str], group_by: list[str]) -> pd.DataFrame:
    """`mf query --csv` on the warehouse `db` with the semantic manifest of `target`. mf reads
    <project>/target/semantic_manifest.json, so it runs in a copy of the project made of links
    whose target/ is the build's."""
    project = workdir / "project"
    project.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name not in {"target", "logs", ".venv", "build", "published"} and entry.suffix != ".duckdb":
            (project / entry.name).symlink_to(entry)
    (project / "target").symlink_to(target)
    out = workdir / "result.csv"
    env = {**os.environ, "DBT_PROFILES_DIR": str(ROOT), "DBT_PROJECT_DIR": str(project),
           "SEGMENTATION_DB_PATH": str(db)}
    command = [str(MF), "query", "--metrics", ",".join(metrics), "--group-by", ",".join(group_by),
               "--csv", str(out), "--quiet"]
    proc = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and out.exists(), \
        f"mf query failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return pd.read_csv(out)


def mismatches(found: pd.DataFrame, expected: pd.DataFrame, keys: list[str],
               columns: dict[str, str]) -> list[str]:
    """Every (row, metric) where MetricFlow's number differs from the mart's: money to the cent,
    counts exactly, shares and rates to 1e-9; a null on either side, and a row on one side only,
    count too."""
    merged = found.merge(expected, on=keys, how="outer", indicator=True, suffixes=("", "_mart"))
    sides = {"left_only": "MetricFlow", "right_only": "the mart"}
    problems = [f"row {dict(row[keys])} only in {sides[row['_merge']]}"
                for _, row in merged[merged["_merge"] != "both"].iterrows()]
    for _, row in merged[merged["_merge"] == "both"].iterrows():
        for metric, column in columns.items():
            got, want = float(row[metric]), float(row[f"{column}_mart"])
            tolerance = 0.005 if metric in MONEY else 1e-9
            if not abs(got - want) <= tolerance:
                problems.append(f"{metric} of {dict(row[keys])} = {got}, mart {column} = {want}")
    return problems


def mart(db: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def warehouse(demo_runs) -> tuple[Path, Path]:
    """The four-build warehouse (so a metric of the latest build that sums over builds shows)
    and the target directory of its last build."""
    db, _, _ = demo_runs
    return db, db.parent / "target"


def latest_by_segment(db: Path, target: Path, workdir: Path) -> list[str]:
    found = mf_query(db, target, workdir, list(LATEST), ["segment", "segment__segment_name"])
    found = found.rename(columns={"segment": "segment_id", "segment__segment_name": "segment_name"})
    expected = mart(db, "select segment_id, segment_name, customers, net_revenue, mean_return_rate, "
                        "share_of_customers, share_of_net_revenue from dim_segment_profiles")
    expected = expected.rename(columns={c: f"{c}_mart" for c in set(LATEST.values())})
    return mismatches(found, expected, ["segment_id", "segment_name"], LATEST)


def test_latest_build_metrics_by_segment_equal_segment_profiles(warehouse, tmp_path):
    db, target = warehouse
    assert latest_by_segment(db, target, tmp_path) == []


def test_per_build_metrics_by_run_and_segment_equal_segment_history(warehouse, tmp_path):
    db, target = warehouse
    found = mf_query(db, target, tmp_path, list(PER_BUILD), ["run", "segment", "segment_build__segment_name"])
    found = found.rename(columns={"run": "run_id", "segment": "segment_id",
                                  "segment_build__segment_name": "segment_name"})
    expected = mart(db, "select run_id, segment_id, segment_name, customers, net_revenue, "
                        "share_of_customers, share_of_net_revenue from fct_segment_history")
    assert expected["run_id"].nunique() == 4
    expected = expected.rename(columns={c: f"{c}_mart" for c in set(PER_BUILD.values())})
    assert mismatches(found, expected, ["run_id", "segment_id", "segment_name"], PER_BUILD) == []


def test_a_wrong_metric_definition_fails_the_comparison(warehouse, tmp_path):
    """The comparison above is not vacuous: the same query on a semantic manifest with two
    metrics broken (a sum where a mean was meant; the latest-build filter dropped, so the
    share sums over the four builds) reports exactly those two metrics."""
    db, target = warehouse
    manifest = json.loads((target / "semantic_manifest.json").read_text())
    for model in manifest["semantic_models"]:
        for measure in model["measures"]:
            if measure["name"] == "customer_return_rate":
                measure["agg"] = "sum"
    for metric in manifest["metrics"]:
        if metric["name"] == "share_of_customers":
            metric["filter"] = None
    broken = tmp_path / "target"
    broken.mkdir()
    (broken / "semantic_manifest.json").write_text(json.dumps(manifest))
    problems = latest_by_segment(db, broken, tmp_path)
    segments = len(mart(db, "select segment_id from dim_segment_profiles"))
    assert len(problems) == 2 * segments, problems
    assert {problem.split(" of ")[0] for problem in problems} == {"return_rate", "share_of_customers"}
