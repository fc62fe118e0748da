"""Published marts: BI readers see the previous complete run while a build runs, never half of one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, dbt_command, run_dbt
from segmentation.demo_data import generate
from segmentation.publish import HISTORY, PUBLISHED_DATABASE, SNAPSHOTS, SNAPSHOTS_KEPT, publish_marts

# The build's fast settings: the test is about publishing, not about the k sweep.
FAST = {"orders_format": "demo", "segmentation_k_max": 6, "segmentation_n_init": 3}


STATE = """select (select count(distinct dbt_invocation_id) from published_marts),
                  (select min(dbt_invocation_id) from published_marts),
                  (select count(*) from dim_customers),
                  (select row_count from published_marts where mart = 'dim_customers'),
                  (select sum(customers) from segment_profiles)"""
# A BI tool in its own process that keeps the published file open and answers one query per line.
HELD_READER = f"""
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for _ in sys.stdin:
    print(json.dumps([str(v) for v in con.execute(\"\"\"{STATE}\"\"\").fetchone()]), flush=True)
"""


def _complete(row) -> tuple[str, int]:
    """(run, customers) of a published state, after checking it holds one complete run."""
    runs, run, customers, recorded, in_segments = (str(v) for v in row)
    assert runs == "1" and customers == recorded == in_segments, row
    return run, int(customers)


def _state(published: Path) -> tuple[str, int]:
    with duckdb.connect(str(published), read_only=True) as con:
        return _complete(con.execute(STATE).fetchone())


class HeldReader:
    """A separate process holding a read-only connection open across builds."""

    def __init__(self, published: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", HELD_READER, str(published)], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def state(self) -> tuple[str, int]:
        self.proc.stdin.write("query\n")
        self.proc.stdin.flush()
        return _complete(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(timeout=30) == 0


def _parquet_customers(publish_dir: Path) -> int:
    with duckdb.connect() as con:
        return con.execute("select count(*) from read_parquet(?)",
                           [str(publish_dir / "current" / "dim_customers.parquet")]).fetchone()[0]


def test_a_reader_sees_the_previous_complete_run_until_the_next_is_published(tmp_path):
    first, _ = generate(2_000, 1, tmp_path / "first.parquet")
    second, _ = generate(3_000, 2, tmp_path / "second.parquet")
    workdir = tmp_path / "warehouse"
    run_dbt(workdir, "build", vars={**FAST, "orders_path": str(first)})
    publish_dir = workdir / "published"
    published = publish_dir / PUBLISHED_DATABASE

    held = HeldReader(published)
    before = held.state()
    assert before[1] == 2_000

    # A failed build publishes nothing.
    failed = run_dbt(workdir, "build", vars={**FAST, "orders_path": str(tmp_path / "missing.parquet")},
                     check=False)
    assert failed.returncode != 0
    assert _state(published) == before

    cmd, env = dbt_command(workdir, "build", vars={**FAST, "orders_path": str(second)})
    build = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    held_seen, fresh_seen, parquet_seen = [], [], []
    while build.poll() is None:
        held_seen.append(held.state())
        fresh_seen.append(_state(published))  # a reader that connects anew each time
        parquet_seen.append(_parquet_customers(publish_dir))
        time.sleep(0.01)
    output = build.stdout.read()
    assert build.returncode == 0, output[-4000:]

    after = _state(published)
    assert after[1] == 3_000 and after[0] != before[0]
    assert len(fresh_seen) >= 20, "the readers should have queried many times during the build"
    assert set(held_seen) == {before}, "the open connection keeps its complete snapshot"
    # Reconnecting readers see the previous run until the swap, then only the new one.
    switched = [state == after for state in fresh_seen]
    assert set(fresh_seen) <= {before, after} and switched == sorted(switched), fresh_seen
    assert fresh_seen[0] == before and sum(not s for s in switched) >= 10
    assert set(parquet_seen) <= {2_000, 3_000} and parquet_seen[0] == 2_000
    assert held.state() == before, "even after the swap, the held connection reads the old run"
    held.close()
    assert _parquet_customers(publish_dir) == 3_000


def test_publish_keeps_the_last_snapshots_and_validates_names(tmp_path):
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")
        for run in range(SNAPSHOTS_KEPT + 2):
            status = publish_marts({"some_mart": con.table("t")}, tmp_path, f"run-{run}")
        assert status.to_dict("records")[0]["row_count"] == 5
        assert len(list((tmp_path / SNAPSHOTS).iterdir())) == SNAPSHOTS_KEPT
        assert (tmp_path / "current").resolve().name.endswith(f"run-{SNAPSHOTS_KEPT + 1}")
        assert not list(tmp_path.glob(".*")), "no partial files are left behind"
        with pytest.raises(ValueError, match="marts"):
            publish_marts({"Bad Name": con.table("t")}, tmp_path, "run-x")
        with pytest.raises(ValueError, match="run_id"):
            publish_marts({"some_mart": con.table("t")}, tmp_path, "../escape")



def test_append_only_history_is_published_one_file_per_run(tmp_path):
    """Each publish writes only the runs not yet published; a held reader keeps its own runs;
    a file left by a failed publish is dropped and its rows published again; the folder can move."""
    publish_dir = tmp_path / "published"
    per_run = "select run_id, count(*) from memberships group by 1 order by 1"
    with duckdb.connect() as con:
        con.execute("create table memberships as select 'run-0' as run_id, range as customer from range(4)")
        con.execute("create table state as select 1 as x")

        def publish(run: str):
            return publish_marts({"state": con.table("state"), "memberships": con.table("memberships")},
                                 publish_dir, run, append_only={"memberships": "run_id"})

        publish("run-0")
        held = duckdb.connect(str(publish_dir / PUBLISHED_DATABASE), read_only=True)
        orphan = publish_dir / HISTORY / "memberships" / "left_by_a_failed_build.parquet"
        con.execute(f"copy (select 'run-x' as run_id, 0 as customer) to '{orphan}'")
        con.execute("insert into memberships select 'run-1', range from range(5)")
        status = publish("run-1")
        files = sorted((publish_dir / HISTORY / "memberships").glob("*.parquet"))
        assert len(files) == 2 and not orphan.exists()
        with duckdb.connect() as reader:  # the second file holds the new run only
            assert reader.execute("select distinct run_id from read_parquet(?)", [str(files[1])]).fetchall() \
                == [("run-1",)]
        assert status.set_index("mart")["row_count"].to_dict() == {"state": 1, "memberships": 9}
        assert held.execute(per_run).fetchall() == [("run-0", 4)]
        held.close()  # one process shares one instance per path: close it before reopening
        with duckdb.connect(str(publish_dir / PUBLISHED_DATABASE), read_only=True) as fresh:
            assert fresh.execute(per_run).fetchall() == [("run-0", 4), ("run-1", 5)]

        publish_dir = publish_dir.rename(tmp_path / "moved")
        con.execute("insert into memberships select 'run-2', range from range(2)")
        publish("run-2")
        with duckdb.connect(str(publish_dir / PUBLISHED_DATABASE), read_only=True) as moved:
            assert moved.execute(per_run).fetchall() == [("run-0", 4), ("run-1", 5), ("run-2", 2)]

PERSONAL = re.compile(r"e_?mail|phone|mobile|(first|last|full|customer)_?name|address|street|city|"
                      r"post_?code|postal|zip|birth|gender|ip_addr|country")


def test_public_marts_expose_no_person_beyond_customer_id_and_feed_the_exposures(tmp_path):
    """Public marts are contracted tables without personal columns; exposures read only those."""
    run_dbt(tmp_path, "parse")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    public = {uid: node for uid, node in manifest["nodes"].items()
              if node["resource_type"] == "model" and node.get("access") == "public"}
    names = {node["name"] for node in public.values()}
    assert names >= {"dim_customers", "segment_profiles", "segment_k_sweep", "segment_centroids",
                     "fct_rejected_order_lines", "segment_model_runs", "segment_history",
                     "segment_transitions", "segment_centroid_history", "fct_segment_memberships"}
    for node in public.values():
        config = node["config"]
        # tables, or append-only history (incremental) that BI reads like a table
        assert config["contract"]["enforced"] and config["materialized"] in ("table", "incremental"), \
            node["name"]
        personal = [c for c in node["columns"] if PERSONAL.search(c)]
        assert not personal, f"{node['name']} exposes personal columns {personal}"
    publisher = ROOT / "models" / "publish" / "publish_marts.py"
    published = [name for name in re.findall(r'dbt\.ref\("(\w+)"\)', publisher.read_text())
                 if not name.startswith("int_")]
    assert sorted(published) == sorted(names), "publish_marts publishes every public mart"
    exposures = manifest["exposures"].values()
    assert {e["name"] for e in exposures} == {"segmentation_report", "bi_segment_dashboard"}
    for exposure in exposures:
        assert set(exposure["depends_on"]["nodes"]) <= set(public), exposure["name"]
