"""Shared fixtures: run dbt as a user would, each build in its own database and target dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from segmentation.demo_data import generate

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail_2010_2011.parquet"


@dataclass
class DbtRun:
    returncode: int
    output: str
    db: Path
    input: Path | None = None

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()


def dbt_command(workdir: Path, *args: str, vars: dict | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `dbt <args>` with its database and artefacts under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(DBT), *args, "--profiles-dir", str(ROOT), "--project-dir", str(ROOT),
           "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
           "--no-use-colors"]
    if vars:
        cmd += ["--vars", json.dumps(vars)]
    return cmd, {**os.environ, "SEGMENTATION_DB_PATH": str(workdir / "segmentation.duckdb")}


def run_dbt(workdir: Path, *args: str, vars: dict | None = None, check: bool = True) -> DbtRun:
    """`dbt <args>` on the project, with its database and artefacts under `workdir`."""
    cmd, env = dbt_command(workdir, *args, vars=vars)
    db = Path(env["SEGMENTATION_DB_PATH"])
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    run = DbtRun(proc.returncode, proc.stdout + proc.stderr, db)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{run.output[-6000:]}")
    return run


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The default demo: 25,000 customers, seed 42, as `make build` generates it."""
    out, _ = generate(25_000, 42, tmp_path_factory.mktemp("demo") / "order_lines.parquet")
    return out


@pytest.fixture(scope="session")
def demo_build(demo_data, tmp_path_factory) -> DbtRun:
    return run_dbt(tmp_path_factory.mktemp("demo_build"), "build",
                   vars={"orders_format": "demo", "orders_path": str(demo_data)})


@pytest.fixture(scope="session")
def online_retail_data() -> Path:
    if not ONLINE_RETAIL.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ONLINE_RETAIL} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"{ONLINE_RETAIL} not present (a fresh clone without ../shared)")
    return ONLINE_RETAIL


@pytest.fixture(scope="session")
def online_retail_build(online_retail_data, tmp_path_factory) -> DbtRun:
    run = run_dbt(tmp_path_factory.mktemp("online_retail_build"), "build",
                  vars={"orders_format": "online_retail", "orders_path": str(online_retail_data)})
    run.input = online_retail_data
    return run
