"""The published DuckDB file opens in older DuckDB clients (BI drivers bundle a DuckDB 1.x)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import duckdb
import pytest

import segmentation.publish as publishing
from conftest import ROOT
from segmentation.publish import PUBLISHED_DATABASE, publish_marts

WAREHOUSE = {"warehouse_id": "11111111-test", "database": "/warehouses/test.duckdb"}
# The oldest DuckDB the published file must open in (DuckDB's storage version v1.1.0).
OLDEST_CLIENT = "duckdb==1.1.3"
# What the old client reports of every published mart: rows, and each column's name and type.
READ_EVERY_MART = """
import duckdb, json, os, sys
print(duckdb.__version__, file=sys.stderr)
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("set file_search_path = '" + os.path.dirname(sys.argv[1]).replace("'", "''") + "'")
marts = [row[0] for row in con.execute("select mart from published_marts order by mart").fetchall()]
found = {}
for mart in marts:
    rows = con.execute(f"select * from {mart}").fetchall()  # every value of every type decoded
    columns = [list(row[:2]) for row in con.execute(f"describe {mart}").fetchall()]
    found[mart] = {"rows": len(rows), "columns": columns}
print(json.dumps(found))
"""

# A notebook in the old client: holds a connection, waits for a build, connects again.
NOTEBOOK = """
import json, sys, duckdb
from segmentation.published import connect_published
run = "select distinct dbt_invocation_id from published_marts"
notebook = duckdb.connect(sys.argv[1], read_only=True)
print(notebook.execute(run).fetchone()[0], flush=True)
sys.stdin.readline()  # a build published a new run
again = duckdb.connect(sys.argv[1], read_only=True)
fresh = connect_published(sys.argv[1])
seen = {"held": notebook, "reconnected": again, "connect_published": fresh}
print(json.dumps({name: con.execute(run).fetchone()[0] for name, con in seen.items()}))
"""


@pytest.fixture(scope="module")
def oldest_client() -> Path:
    """A virtual environment with the oldest supported DuckDB, under build/ (kept between runs,
    rebuilt when the pin changes)."""
    home = ROOT / "build" / f"venv-{OLDEST_CLIENT.replace('==', '-')}"
    python = home / "bin" / "python"
    marker = home / ".installed"
    if not (marker.exists() and marker.read_text() == OLDEST_CLIENT):
        shutil.rmtree(home, ignore_errors=True)
        venv.create(home, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        OLDEST_CLIENT], check=True)
        marker.write_text(OLDEST_CLIENT)
    return python


def _read_in(python: Path, database: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-c", READ_EVERY_MART, str(database)], capture_output=True, text=True)


def test_the_oldest_supported_duckdb_reads_every_published_mart(demo_build, oldest_client):
    """DuckDB 1.1 opens the published file of a demo build and reads every mart (the tables and
    the history view over Parquet) with the warehouse's rows and column types."""
    published = demo_build.db.parent / "published"
    read = _read_in(oldest_client, published / PUBLISHED_DATABASE)
    assert read.returncode == 0, read.stderr[-3000:]
    assert read.stderr.startswith(OLDEST_CLIENT.split("==")[1])
    found = json.loads(read.stdout)
    with duckdb.connect(str(demo_build.db), read_only=True) as warehouse:
        marts = [row[0] for row in warehouse.execute("select mart from publish_marts order by 1").fetchall()]
        assert sorted(found) == marts and "fct_segment_memberships" in marts
        for mart in marts:
            rows = warehouse.execute(f"select count(*) from {mart}").fetchone()[0]
            columns = [list(row[:2]) for row in warehouse.execute(f"describe {mart}").fetchall()]
            assert found[mart] == {"rows": rows, "columns": columns}, mart


def test_a_notebook_on_the_oldest_client_reads_a_new_run_through_connect_published(tmp_path, oldest_client):
    """DuckDB 1.x hands a new connection to a path the instance an open one holds, so a notebook
    that reconnects to published/segmentation.duckdb keeps the old run (DuckDB 2 resolves the
    symlink itself); segmentation.published.connect_published, which needs only duckdb, opens
    the new run in either."""
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")

        def publish(run: str):
            publish_marts({"some_mart": con.table("t")}, tmp_path, run, warehouse=WAREHOUSE)

        publish("run-0")
        notebook = subprocess.Popen([str(oldest_client), "-c", NOTEBOOK, str(tmp_path / PUBLISHED_DATABASE)],
                                    env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert notebook.stdout.readline().strip() == "run-0", notebook.stderr.read()
            publish("run-1")
            out, err = notebook.communicate("published\n", timeout=60)
        finally:
            notebook.kill()
    assert notebook.returncode == 0, err[-3000:]
    assert json.loads(out) == {"held": "run-0", "reconnected": "run-0", "connect_published": "run-1"}


# Every run's rows of the membership history, in the oldest client.
READ_HISTORY = """
import duckdb, json, os, sys
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute("set file_search_path = '" + os.path.dirname(sys.argv[1]).replace("'", "''") + "'")
rows = con.execute("select run_id, customer_id, segment_name, cast(net_spending as varchar) "
                   "from fct_segment_memberships order by all").fetchall()
kinds = con.execute("select distinct kind from published_history_files order by 1").fetchall()
print(json.dumps({"rows": rows, "kinds": kinds}))
"""


def test_the_oldest_client_reads_a_history_published_whole_and_as_changes(tmp_path, oldest_client):
    """The history view over files of both kinds (a run published whole, runs published as
    changes, a renamed segment) gives the old client the rows it gives this one."""
    from test_publish import ToyHistory, member

    publish_dir = tmp_path / "published"
    with duckdb.connect() as con:
        toy = ToyHistory(con)
        toy.run("run-1", {f"c{n}": member(n % 2) for n in range(1, 5)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-1", as_changes=False)
        toy.run("run-2", {"c1": member(0), "c2": None}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-2")
        toy.run("run-3", {"c5": member(1)}, {0: "A", 1: "B renamed"})
        toy.publish(publish_dir, "run-3")
    read = subprocess.run([str(oldest_client), "-c", READ_HISTORY, str(publish_dir / PUBLISHED_DATABASE)],
                          capture_output=True, text=True)
    assert read.returncode == 0, read.stderr[-3000:]
    found = json.loads(read.stdout)
    assert found["kinds"] == [["changes"], ["rows"]]
    expected = sorted([run, customer, name, f"{net:.4f}"] for rows in toy.expected.values()
                      for run, customer, _, name, _, net, _ in rows)
    assert found["rows"] == expected and len(expected) == 4 + 3 + 4


def test_without_the_storage_version_the_oldest_client_refuses_the_file(tmp_path, oldest_client, monkeypatch):
    """The check above is real: written in this DuckDB's own storage format, the file does not open."""
    monkeypatch.setattr(publishing, "STORAGE_VERSION", None)
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-0",
                      warehouse=WAREHOUSE)
    read = _read_in(oldest_client, tmp_path / PUBLISHED_DATABASE)
    assert read.returncode != 0 and "version number" in read.stderr, read.stderr[-3000:]
