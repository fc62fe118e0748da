"""Published marts: BI readers see the previous complete run while a build runs, never half of one."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import segmentation.publish as publishing
from conftest import ROOT, dbt_command, python_path, run_dbt
from segmentation.demo.data import generate
from segmentation.publish import (
    HISTORY,
    MEMBERSHIP_COLUMNS,
    PUBLISHED_DATABASE,
    SNAPSHOTS,
    SNAPSHOTS_KEPT,
    ChangeHistory,
    publish_marts,
)
from segmentation.published import connect_published

# The build's fast settings: the test is about publishing, not about the k sweep.
FAST = {"orders_format": "demo", "segmentation_k_max": 6, "segmentation_n_init": 3}
# The warehouse the unit tests publish from.
WAREHOUSE = {"warehouse_id": "11111111-test", "database": "/warehouses/test.duckdb"}


STATE = """select (select count(distinct dbt_invocation_id) from published_marts),
                  (select min(dbt_invocation_id) from published_marts),
                  (select count(*) from dim_customers),
                  (select row_count from published_marts where mart = 'dim_customers'),
                  (select sum(customers) from dim_segment_profiles)"""
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
    """The published state as a reader that connects anew sees it, in this process."""
    with connect_published(published) as con:
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
    # a notebook: a connection held open in this process (DuckDB caches its database instance)
    notebook = duckdb.connect(str(published), read_only=True)
    assert _complete(notebook.execute(STATE).fetchone()) == before

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
    with duckdb.connect(str(workdir / "segmentation.duckdb"), read_only=True) as warehouse:
        built = warehouse.execute("select run_id from fct_segment_model_runs where is_latest").fetchone()[0]
    assert after[0] == built, "a new connection in the notebook's process reads the new build"
    assert _complete(notebook.execute(STATE).fetchone()) == before, "the open one keeps its snapshot"
    notebook.close()
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
            status = publish_marts({"some_mart": con.table("t")}, tmp_path, f"run-{run}", warehouse=WAREHOUSE)
        assert status.to_dict("records")[0]["row_count"] == 5
        assert len(list((tmp_path / SNAPSHOTS).iterdir())) == SNAPSHOTS_KEPT
        assert (tmp_path / "current").resolve().name.endswith(f"run-{SNAPSHOTS_KEPT + 1}")
        assert not _partial_files(tmp_path), "no partial files are left behind"
        with pytest.raises(ValueError, match="marts"):
            publish_marts({"Bad Name": con.table("t")}, tmp_path, "run-x", warehouse=WAREHOUSE)
        with pytest.raises(ValueError, match="run_id"):
            publish_marts({"some_mart": con.table("t")}, tmp_path, "../escape", warehouse=WAREHOUSE)



def test_an_old_name_reads_its_renamed_mart_in_the_file_and_as_parquet(tmp_path):
    """A renamed mart's old name is a view (DuckDB) and a link (Parquet) to the one copy, also in
    a moved folder; an old name must name a copied mart and no mart."""
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")
        publish_marts({"dim_things": con.table("t")}, tmp_path / "published", "run-1",
                      warehouse=WAREHOUSE, old_names={"things": "dim_things"})
        moved = (tmp_path / "published").rename(tmp_path / "moved")
        with connect_published(moved) as reader:
            assert reader.execute("select count(*) from things").fetchone()[0] == 5
            assert "dim_things" in reader.execute(
                "select comment from duckdb_views() where view_name = 'things'").fetchone()[0]
        assert con.execute("select count(*) from read_parquet(?)",
                           [str(moved / "current" / "things.parquet")]).fetchone()[0] == 5
        assert (moved / "current" / "things.parquet").readlink() == Path("dim_things.parquet")
        for old_names in ({"things": "dim_others"}, {"dim_things": "dim_things"}, {"Things": "dim_things"}):
            with pytest.raises(ValueError, match="old_names|marts"):
                publish_marts({"dim_things": con.table("t")}, moved, "run-2", warehouse=WAREHOUSE,
                              old_names=old_names)
        with pytest.raises(ValueError, match="old_names"):  # an append-only mart is no file to link
            publish_marts({"dim_things": con.table("t"), "fct_things": con.table("t")}, moved, "run-2",
                          warehouse=WAREHOUSE, append_only={"fct_things": "id"},
                          old_names={"things": "fct_things"})


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
                                 publish_dir, run, warehouse=WAREHOUSE, append_only={"memberships": "run_id"})

        publish("run-0")
        held = connect_published(publish_dir)
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
        with connect_published(publish_dir) as fresh:  # while the held one is still open
            assert fresh.execute(per_run).fetchall() == [("run-0", 4), ("run-1", 5)]
        held.close()

        publish_dir = publish_dir.rename(tmp_path / "moved")
        con.execute("insert into memberships select 'run-2', range from range(2)")
        publish("run-2")
        with connect_published(publish_dir) as moved:
            assert moved.execute(per_run).fetchall() == [("run-0", 4), ("run-1", 5), ("run-2", 2)]


def test_a_builds_own_rows_come_from_its_run_rows_when_it_is_the_only_new_run(tmp_path):
    """`run_rows` gives an append-only mart's rows of the publishing run, computed once in the
    build: the history file is written from it when that run is the only one not yet published
    (the mart itself, a view that is costly to expand, is not read for rows), and from the mart
    when earlier runs wait too (a publish that failed)."""
    publish_dir = tmp_path / "published"
    per_run = "select run_id, count(*) from memberships group by 1 order by 1"
    with duckdb.connect() as con:
        con.execute("create table memberships as select 'run-0' as run_id, range as customer from range(4)")
        # the run's rows as the build computed them: one customer fewer than the mart, to tell them apart
        con.execute("create table run_rows as select 'run-0' as run_id, range as customer from range(3)")

        def publish(run: str, rows: str = "run_rows"):
            return publish_marts({"memberships": con.table("memberships")}, publish_dir, run,
                                 warehouse=WAREHOUSE, append_only={"memberships": "run_id"},
                                 run_rows={"memberships": con.table(rows)})

        publish("run-0")
        with connect_published(publish_dir) as reader:
            assert reader.execute(per_run).fetchall() == [("run-0", 3)]
        # run-1 was built but not published; run-2 publishes both, from the mart
        con.execute("insert into memberships select 'run-1', range from range(5)")
        con.execute("insert into memberships select 'run-2', range from range(6)")
        con.execute("create or replace table run_rows as "
                    "select 'run-2' as run_id, range as customer from range(2)")
        publish("run-2")
        with connect_published(publish_dir) as reader:
            assert reader.execute(per_run).fetchall() == [("run-0", 3), ("run-1", 5), ("run-2", 6)]
        # rows of another run than the publishing one are refused
        con.execute("insert into memberships select 'run-3', range from range(1)")
        with pytest.raises(ValueError, match="run_rows"):
            publish("run-3", rows="memberships")


class ToyHistory:
    """A toy warehouse's membership history kept as changes, as the dbt models keep it: each run's
    change rows relative to the run before it, the runs with their members and change rows, the
    names each run gave its segments; and every run's rows (what the view must give)."""

    MART = "fct_segment_memberships"

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.state: dict[str, tuple] = {}  # customer -> (segment, distance, net spending, hash)
        self.expected: dict[str, list[tuple]] = {}
        self.started = datetime(2026, 1, 1)
        values = ("segment_id bigint, segment_name varchar, distance_to_centroid double, "
                  "net_spending decimal(38, 4), feature_hash varchar")
        con.execute("create table changes (run_id varchar, run_at timestamp, customer_id varchar, "
                    f"is_member boolean, {values}, previous_segment_id bigint)")
        con.execute("create table runs (run_id varchar, run_at timestamp, customers bigint, "
                    "changed_customers bigint)")
        con.execute("create table names (run_id varchar, run_at timestamp, segment_id bigint, "
                    "segment_name varchar)")
        # every run's rows, as the warehouse's view gives them
        con.execute(f"create table memberships (run_id varchar, run_at timestamp, customer_id varchar, "
                    f"{values})")
        assert [row[0] for row in con.execute("describe memberships").fetchall()] == MEMBERSHIP_COLUMNS

    def run(self, run_id: str, customers: dict[str, tuple | None], names: dict[int, str]) -> None:
        """A build: `customers` (customer -> (segment, distance, net spending, hash), or None when gone)
        changed since the last run; `names` its segments' names."""
        run_at = self.started + timedelta(days=len(self.expected))
        before = dict(self.state)
        for customer, row in customers.items():
            if row is None:
                self.state.pop(customer)
            else:
                self.state[customer] = row
        changed = [(customer, self.state.get(customer)) for customer in sorted(customers)
                   if self.state.get(customer) != before.get(customer)]
        for customer, row in changed:
            segment, distance, net, hashed = row or (None, None, None, None)
            self.con.execute("insert into changes values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                             [run_id, run_at, customer, row is not None, segment,
                              None if row is None else names[segment], distance, net, hashed,
                              (before.get(customer) or (None,))[0]])
        self.con.execute("insert into runs values (?, ?, ?, ?)",
                         [run_id, run_at, len(self.state), len(changed)])
        for segment, name in names.items():
            self.con.execute("insert into names values (?, ?, ?, ?)", [run_id, run_at, segment, name])
        self.expected[run_id] = [(run_id, customer, row[0], names[row[0]], *row[1:])
                                 for customer, row in sorted(self.state.items())]
        for row in self.expected[run_id]:
            self.con.execute("insert into memberships values (?, ?, ?, ?, ?, ?, ?, ?)",
                             [row[0], run_at, *row[1:]])
        self._before = before

    def killed(self, run_id: str) -> None:
        """The last run never finished: the warehouse purges its rows (its published files stay)."""
        for table in ("changes", "runs", "names", "memberships"):
            self.con.execute(f"delete from {table} where run_id = ?", [run_id])
        self.state = self._before

    def publish(self, publish_dir: Path, run_id: str, as_changes: bool = True):
        mart = self.con.table("memberships")
        return publish_marts(
            {self.MART: mart}, publish_dir, run_id, warehouse=WAREHOUSE, append_only={self.MART: "run_id"},
            run_lists={self.MART: self.con.table("runs")},
            run_rows={self.MART: mart.filter(f"run_id = '{run_id}'")},
            changes={self.MART: ChangeHistory(self.con.table("changes"), self.con.table("runs"),
                                              self.con.table("names"))} if as_changes else None)

    def check(self, publish_dir: Path) -> dict[str, tuple[str, int]]:
        """Every published run's rows are its expected rows; -> run: (kind, rows in its file)."""
        with connect_published(publish_dir) as reader:
            runs = [run for (run,) in reader.execute(f"select distinct run_id from {self.MART}").fetchall()]
            for run in runs:
                rows = reader.execute(
                    "select run_id, customer_id, segment_id, segment_name, distance_to_centroid, "
                    f"net_spending, feature_hash from {self.MART} where run_id = ? order by customer_id",
                    [run]).fetchall()
                assert rows == [(*row[:5], Decimal(str(row[5])).quantize(Decimal("0.0001")), row[6])
                                for row in self.expected[run]], run
            listing = reader.execute("select run_id, kind, file_rows from published_history_files "
                                     "where mart = ? order by run_at", [self.MART]).fetchall()
            status = reader.execute("select row_count from published_marts where mart = ?",
                                    [self.MART]).fetchone()
        assert sorted(runs) == sorted(run for run, _, _ in listing)
        assert status == (sum(len(self.expected[run]) for run in runs),)
        return {run: (kind, rows) for run, kind, rows in listing}


def member(segment: int, distance: float = 1.0, net: float = 10.0) -> tuple:
    return (segment, distance, net, f"h{segment}{distance}{net}")


def test_the_membership_history_is_published_as_changes(tmp_path):
    """Each run's file holds its change rows only (a new, moved or gone customer), and the view
    gives every run's members under the names that run gave its segments; runs built but not
    published go out with the next; the status counts every run's members."""
    publish_dir = tmp_path / "published"
    with duckdb.connect() as con:
        toy = ToyHistory(con)
        toy.run("run-1", {f"c{n}": member(n % 2) for n in range(1, 7)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-1")
        toy.run("run-2", {"c2": member(1), "c6": None, "c7": member(0)}, {0: "A", 1: "B"})
        toy.run("run-3", {"c3": member(1, distance=2.0)}, {0: "A", 1: "B"})  # published with run-4
        toy.run("run-4", {}, {0: "A renamed", 1: "B"})  # no customer changed; a segment renamed
        toy.publish(publish_dir, "run-4")
        assert toy.check(publish_dir) == {"run-1": ("changes", 6), "run-2": ("changes", 3),
                                          "run-3": ("changes", 1), "run-4": ("changes", 0)}
        files = sorted(path.name for path in (publish_dir / HISTORY / toy.MART).iterdir())
        assert len(files) == 2 and all(name.endswith(".changes.parquet") for name in files)


def test_a_run_is_published_whole_when_the_changes_since_would_outgrow_it(tmp_path):
    """When the change rows since the last whole run would be more than CHANGES_PER_BASE times a
    run's members (a fit moves everyone's distance), the run is published whole and later runs'
    changes follow on it: a reader never reads much more than one run's rows."""
    publish_dir = tmp_path / "published"
    with duckdb.connect() as con:
        toy = ToyHistory(con)
        toy.run("run-1", {f"c{n}": member(n % 2) for n in range(1, 5)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-1")
        toy.run("run-2", {"c1": member(0)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-2")
        # 4 + 1 change rows before, 4 now: more than twice the 4 members
        toy.run("run-3", {f"c{n}": member(n % 2, distance=3.0) for n in range(1, 5)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-3")
        toy.run("run-4", {"c2": None}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-4")
        assert toy.check(publish_dir) == {"run-1": ("changes", 4), "run-2": ("changes", 1),
                                          "run-3": ("rows", 4), "run-4": ("changes", 1)}


def test_a_run_that_does_not_follow_on_the_last_published_one_is_published_whole(tmp_path):
    """A build killed after it published is purged from the warehouse: the next build's changes
    are relative to the run before it, so that build is published whole; both read right."""
    publish_dir = tmp_path / "published"
    with duckdb.connect() as con:
        toy = ToyHistory(con)
        toy.run("run-1", {f"c{n}": member(n % 2) for n in range(1, 5)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-1")
        toy.run("run-k", {"c1": member(0), "c2": None}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-k")
        killed = toy.expected["run-k"]
        toy.killed("run-k")
        toy.expected["run-k"] = killed
        toy.run("run-2", {"c3": member(0)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-2")
        assert toy.check(publish_dir) == {"run-1": ("changes", 4), "run-k": ("changes", 2),
                                          "run-2": ("rows", 4)}


def test_a_folder_published_whole_run_by_run_takes_changes_on_top(tmp_path):
    """A folder published before runs went out as changes (each run whole, a listing without
    kinds or counts): its runs read as before, and the next runs are published as changes
    following on its last run."""
    publish_dir = tmp_path / "published"
    with duckdb.connect() as con:
        toy = ToyHistory(con)
        toy.run("run-1", {f"c{n}": member(n % 2) for n in range(1, 5)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-1", as_changes=False)
        toy.run("run-2", {"c1": member(1)}, {0: "A", 1: "B"})
        toy.publish(publish_dir, "run-2", as_changes=False)
        listing = publish_dir / "current" / "published_history_files.parquet"
        con.execute(f"copy (select mart, run_id, path from read_parquet('{listing}')) "
                    f"to '{listing}.old' (format parquet)")
        os.replace(f"{listing}.old", listing)
        toy.run("run-3", {"c4": None, "c5": member(0)}, {0: "A", 1: "B again"})
        toy.publish(publish_dir, "run-3")
        assert toy.check(publish_dir) == {"run-1": ("rows", 4), "run-2": ("rows", 4), "run-3": ("changes", 2)}


def test_a_new_connection_in_the_same_process_reads_the_new_run(tmp_path):
    """A notebook holds a connection to the published file; a build publishes a new run; a new
    connection opened in the same process reads the new run, the held one its own."""
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-0", warehouse=WAREHOUSE)
        run = "select distinct dbt_invocation_id from published_marts"
        notebook = duckdb.connect(str(tmp_path / PUBLISHED_DATABASE), read_only=True)
        assert notebook.execute(run).fetchall() == [("run-0",)]
        con.execute("insert into t values (5)")
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-1", warehouse=WAREHOUSE)
        for path in (tmp_path, tmp_path / PUBLISHED_DATABASE):  # the folder or its database file
            with connect_published(path) as fresh:
                assert fresh.execute(run).fetchall() == [("run-1",)]
                assert fresh.execute("select count(*) from some_mart").fetchone()[0] == 6
        assert notebook.execute(run).fetchall() == [("run-0",)], "the held connection keeps its run"
        notebook.close()
        with pytest.raises(FileNotFoundError, match=r"no published run here \(build first"):
            connect_published(tmp_path / "nothing_published")


def test_the_published_history_reads_wherever_the_folder_is_mounted(tmp_path):
    """The folder copied to another path (a container's mount) and the original removed: the
    history view reads the copy's files, through connect_published, with file_search_path set to
    the folder, or with the folder as the working directory."""
    publish_dir = tmp_path / "published"
    per_run = "select run_id, count(*) from memberships group by 1 order by 1"
    with duckdb.connect() as con:
        con.execute("create table memberships as select 'run-0' as run_id, range as customer from range(4)")
        for run in ("run-1", "run-2"):
            publish_marts({"memberships": con.table("memberships")}, publish_dir, run, warehouse=WAREHOUSE,
                          append_only={"memberships": "run_id"})
            con.execute(f"insert into memberships select '{run}', range from range(3)")
    expected = [("run-0", 4), ("run-1", 3)]
    assert len(list((publish_dir / HISTORY / "memberships").iterdir())) == 2
    mounted = shutil.copytree(publish_dir, tmp_path / "elsewhere" / "published", symlinks=True)
    shutil.rmtree(publish_dir)

    with connect_published(mounted) as con:
        assert con.execute(per_run).fetchall() == expected
    with duckdb.connect(str(mounted / PUBLISHED_DATABASE), read_only=True) as con:
        con.execute(f"set file_search_path = '{mounted}'")
        assert con.execute(per_run).fetchall() == expected
    in_folder = subprocess.run(
        [sys.executable, "-c", "import duckdb; print(duckdb.connect('segmentation.duckdb', read_only=True)"
         f".execute({per_run!r}).fetchall())"], cwd=mounted, capture_output=True, text=True)
    assert in_folder.stdout.strip() == str(expected), in_folder.stderr

def _partial_files(publish_dir: Path) -> list[Path]:
    """What a publish writes under a temporary name, anywhere in the folder."""
    return [path for path in publish_dir.rglob("*") if path.name.endswith(".partial")]


def _live_runs(publish_dir: Path) -> tuple[list, list]:
    """The runs (invocation ids) the published database and `current/` hold; one publish gives both."""
    with duckdb.connect(str(publish_dir / PUBLISHED_DATABASE), read_only=True) as con:
        in_database = con.execute("select distinct dbt_invocation_id from published_marts").fetchall()
    with duckdb.connect() as con:
        in_current = con.execute("select distinct dbt_invocation_id from read_parquet(?)",
                                 [str(publish_dir / "current" / "published_marts.parquet")]).fetchall()
    return in_database, in_current


def _history(publish_dir: Path, mart: str = "fct_segment_memberships") -> list[tuple]:
    """Rows per run of the published append-only mart."""
    with connect_published(publish_dir) as con:
        return con.execute(f"select run_id, count(*) from {mart} group by 1 order by 1").fetchall()


def _files(publish_dir: Path) -> list[str]:
    return sorted(path.relative_to(publish_dir).as_posix() for path in publish_dir.rglob("*")
                  if path.name != "publish.lock")


class FullDiskWrite:
    """A relation whose Parquet write stops half way with ENOSPC, as on a full disk."""

    def __init__(self, relation):
        self.relation = relation

    def to_parquet(self, path: str, **kwargs) -> None:
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, "No space left on device", path)

    def filter(self, condition: str) -> FullDiskWrite:
        return FullDiskWrite(self.relation.filter(condition))

    def __getattr__(self, name: str):
        return getattr(self.relation, name)


class FullDiskDuckDB:
    """The duckdb module, but a database file opened for writing fills the disk."""

    def __getattr__(self, name: str):
        return getattr(duckdb, name)

    def connect(self, database: str = ":memory:", read_only: bool = False, **kwargs):
        if read_only or database == ":memory:":
            return duckdb.connect(database, read_only=read_only, **kwargs)
        Path(database).write_bytes(b"half a database")
        raise OSError(errno.ENOSPC, "No space left on device", database)


def _refuse_swap(*args, **kwargs) -> None:
    raise OSError(errno.EIO, "the swap failed")


@pytest.mark.parametrize("failing", ["state mart", "history file", "database", "swap"])
def test_a_failed_publish_leaves_nothing_partial_and_the_last_good_run_live(tmp_path, monkeypatch, failing):
    """A publish failing anywhere (full disk while writing a mart, the history or the database,
    or at the swap) leaves the previous run live in both the database and current/, no partial
    file, no trace of the failed run; the next publish's retention keeps that last good run."""
    publish_dir = tmp_path / "published"
    with duckdb.connect() as con:
        con.execute("create table memberships as select 'run-0' as run_id, range as customer from range(4)")
        con.execute("create table state as select 1 as x")

        def publish(run: str, fail: str | None = None):
            marts = {"state": con.table("state"), "memberships": con.table("memberships")}
            if fail in ("state mart", "history file"):
                name = "state" if fail == "state mart" else "memberships"
                marts[name] = FullDiskWrite(marts[name])
            return publish_marts(marts, publish_dir, run, warehouse=WAREHOUSE,
                                 append_only={"memberships": "run_id"})

        publish("run-0")
        good = _files(publish_dir)
        con.execute("insert into memberships select 'run-1', range from range(5)")
        with monkeypatch.context() as patch:
            if failing == "database":
                patch.setattr(publishing, "duckdb", FullDiskDuckDB())
            if failing == "swap":
                patch.setattr(publishing, "_swap_symlink", _refuse_swap)
            with pytest.raises(OSError):
                publish("run-1", fail=failing)
        assert not _partial_files(publish_dir)
        assert _live_runs(publish_dir) == ([("run-0",)], [("run-0",)])
        assert _files(publish_dir) == good, "nothing of the failed publish is left"
        assert _history(publish_dir, "memberships") == [("run-0", 4)]

        con.execute("insert into memberships select 'run-2', range from range(2)")
        publish("run-2")
        assert _live_runs(publish_dir) == ([("run-2",)], [("run-2",)])
        assert _history(publish_dir, "memberships") == [("run-0", 4), ("run-1", 5), ("run-2", 2)]
        kept = sorted(path.name.split("_", 1)[1] for path in (publish_dir / SNAPSHOTS).iterdir())
        assert kept == ["run-0", "run-2"], "retention keeps the live run and the last good one before it"


@pytest.fixture
def small_disk(tmp_path) -> Path:
    """An 8 MB tmpfs: a disk that really fills up (mounting needs root; skipped otherwise)."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                      capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_really_full_disk_leaves_the_last_good_run_live(small_disk):
    """The same on a real full disk: DuckDB's writer fails half way, nothing partial remains."""
    publish_dir = small_disk / "published"
    big = "create or replace table state as select range as id, md5(range::varchar) as noise from range({})"
    with duckdb.connect() as con:
        con.execute("create table memberships as select 'run-0' as run_id, range as customer from range(100)")

        def publish_run(run: str):
            return publish_marts({"state": con.table("state"), "memberships": con.table("memberships")},
                                 publish_dir, run, warehouse=WAREHOUSE, append_only={"memberships": "run_id"})

        con.execute(big.format(10))
        publish_run("run-0")
        good = _files(publish_dir)
        con.execute(big.format(600_000))  # ~20 MB of incompressible text: more than the disk holds
        con.execute("insert into memberships select 'run-1', range from range(100)")
        with pytest.raises((OSError, duckdb.Error), match="No space left on device"):
            publish_run("run-1")
        assert not _partial_files(publish_dir)
        assert _files(publish_dir) == good
        assert _live_runs(publish_dir) == ([("run-0",)], [("run-0",)])

        con.execute(big.format(10))  # space enough again
        publish_run("run-2")
        assert _live_runs(publish_dir) == ([("run-2",)], [("run-2",)])
        assert _history(publish_dir, "memberships") == [("run-0", 100), ("run-1", 100)]
        kept = sorted(path.name.split("_", 1)[1] for path in (publish_dir / SNAPSHOTS).iterdir())
        assert kept == ["run-0", "run-2"]


def test_retention_keeps_the_live_snapshot_and_drops_what_never_went_live(tmp_path):
    """Snapshots a killed publish left (under a temporary name, or complete but never swapped in)
    are removed by the next publish; the live one and the one before it are always kept."""
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-0", warehouse=WAREHOUSE)
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-1", warehouse=WAREHOUSE)
        snapshots = tmp_path / SNAPSHOTS
        (snapshots / "99991231T000000000000_killed.partial").mkdir()
        (snapshots / "99991231T000000000000_killed.partial" / "some_mart.parquet").write_bytes(b"half")
        never_live = snapshots / "99991231T000000000001_never-swapped-in"
        shutil.copytree((tmp_path / "current").resolve(), never_live)
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-2", warehouse=WAREHOUSE)
    kept = sorted(path.name.split("_", 1)[1] for path in snapshots.iterdir())
    assert kept == ["run-1", "run-2"]
    assert (tmp_path / "current").resolve().name.endswith("run-2")
    assert _live_runs(tmp_path) == ([("run-2",)], [("run-2",)])


def test_publishing_holds_the_folder_lock(tmp_path, monkeypatch):
    """Two builds never write one folder at once: a publish waits for the one in progress."""
    monkeypatch.setattr(publishing, "LOCK_TIMEOUT_SECONDS", 0.5, raising=False)
    held = os.open(tmp_path / "publish.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)  # another build publishing here
    with duckdb.connect() as con:
        con.execute("create table t as select range as id from range(5)")
        try:
            with pytest.raises(RuntimeError, match="locked by another publish"):
                publish_marts({"some_mart": con.table("t")}, tmp_path, "run-0", warehouse=WAREHOUSE)
            assert not (tmp_path / SNAPSHOTS).exists()
        finally:
            os.close(held)
        publish_marts({"some_mart": con.table("t")}, tmp_path, "run-0", warehouse=WAREHOUSE)
    assert _live_runs(tmp_path) == ([("run-0",)], [("run-0",)])


def test_the_folder_refuses_another_warehouse_s_history(tmp_path):
    """Another warehouse, or this one deleted and rebuilt, is refused; the history stays one
    warehouse's. A folder published before owners were recorded is adopted only by a warehouse
    holding every run it published."""
    other = {"warehouse_id": "22222222-other", "database": "/warehouses/other.duckdb"}
    rebuilt = {"warehouse_id": "33333333-rebuilt", "database": WAREHOUSE["database"]}
    with duckdb.connect() as con:
        con.execute("create table memberships as select 'run-0' as run_id, range as customer from range(4)")

        def publish(run: str, warehouse: dict):
            return publish_marts({"memberships": con.table("memberships")}, tmp_path, run,
                                 warehouse=warehouse, append_only={"memberships": "run_id"})

        publish("run-0", WAREHOUSE)
        con.execute("create table theirs as select 'run-9' as run_id, range as customer from range(100)")
        refusals = [(other, "/warehouses/other.duckdb\\)"), (rebuilt, "deleted and rebuilt since")]
        for warehouse, reason in refusals:
            refused = f"holds the history of warehouse 11111111-test .*{reason}.*set SEGMENTATION_PUBLISH_DIR"
            with pytest.raises(RuntimeError, match=refused):
                publish_marts({"memberships": con.table("theirs")}, tmp_path, "run-9", warehouse=warehouse,
                              append_only={"memberships": "run_id"})
        assert _history(tmp_path, "memberships") == [("run-0", 4)]
        assert _live_runs(tmp_path) == ([("run-0",)], [("run-0",)])

        (tmp_path / "warehouse.json").unlink()  # as published before owners were recorded
        with pytest.raises(RuntimeError, match="holds runs this warehouse .* does not have \\(run-0\\)"):
            publish_marts({"memberships": con.table("theirs")}, tmp_path, "run-9", warehouse=other,
                          append_only={"memberships": "run_id"})
        con.execute("insert into memberships select 'run-1', range from range(5)")
        publish("run-1", WAREHOUSE)
        owner = json.loads((tmp_path / "warehouse.json").read_text())
        assert owner["warehouse_id"] == WAREHOUSE["warehouse_id"]
        assert _history(tmp_path, "memberships") == [("run-0", 4), ("run-1", 5)]


def _refusal(output: str) -> str:
    """The line of a build's output that refuses the publish folder."""
    lines = [line.strip() for line in output.splitlines() if "holds the history of warehouse" in line
             and "segmentation: build outcome" not in line]  # not the outcome hook's short quote of it
    assert lines, output[-3000:]
    return lines[0]


def test_a_publish_folder_takes_one_warehouse_s_history(tmp_path):
    """Two warehouses sharing SEGMENTATION_PUBLISH_DIR, then the first deleted and rebuilt: the
    second and the rebuilt one stop with one clear line (no traceback) and publish nothing."""
    data, _ = generate(300, 5, tmp_path / "orders.parquet")
    shared = {"SEGMENTATION_PUBLISH_DIR": str(tmp_path / "published")}
    build = {**FAST, "orders_path": str(data)}
    first = run_dbt(tmp_path / "first", "build", vars=build, env=shared)
    published = tmp_path / "published"
    before = (_history(published), _live_runs(published))
    assert len(before[0]) == 1 and before[1][0] == before[1][1]

    second = run_dbt(tmp_path / "second", "build", vars=build, env=shared, check=False)
    assert second.returncode != 0
    line = _refusal(second.output)
    assert str(first.db) in line and str(second.db) in line and "set SEGMENTATION_PUBLISH_DIR" in line, line
    assert "Traceback" not in second.output
    assert (_history(published), _live_runs(published)) == before, "nothing of the second one is published"

    first.db.unlink()  # "delete the database file to start over"
    rebuilt = run_dbt(tmp_path / "first", "build", vars=build, env=shared, check=False)
    assert rebuilt.returncode != 0
    assert "deleted and rebuilt since" in _refusal(rebuilt.output)
    assert (_history(published), _live_runs(published)) == before


def test_the_build_wrapper_refuses_another_warehouse_s_folder_before_building(tmp_path):
    """`make build` (segmentation.cli.build) checks the publish folder's owner before dbt starts, so a
    build that could not publish is not run at all: exit code 78 and one line."""
    db, publish_dir = tmp_path / "segmentation.duckdb", tmp_path / "published"
    publish_dir.mkdir()
    (publish_dir / "warehouse.json").write_text(json.dumps(
        {"warehouse_id": "owner-id", "database": str(db), "first_published_at": "2026-01-01T00:00:00+00:00"}))
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(db), "SEGMENTATION_PUBLISH_DIR": str(publish_dir)}

    def wrapper() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "segmentation.cli.build", "parse", "--help"], cwd=ROOT,
                              env=env, capture_output=True, text=True)

    deleted = wrapper()  # the owner's file was deleted: a build would create a new warehouse
    assert deleted.returncode == 78, deleted.stdout + deleted.stderr
    assert "holds the history of warehouse owner-id" in deleted.stderr
    assert "deleted and rebuilt since" in deleted.stderr and "set SEGMENTATION_PUBLISH_DIR" in deleted.stderr
    assert "Traceback" not in deleted.stderr
    with duckdb.connect(str(db)) as con:
        con.execute("create table warehouse_identity as select 'other-id' as warehouse_id")
    other = wrapper()
    assert other.returncode == 78 and "not of this warehouse other-id" in other.stderr, other.stderr
    with duckdb.connect(str(db)) as con:
        con.execute("update warehouse_identity set warehouse_id = 'owner-id'")
    assert wrapper().returncode == 0, "the owner builds"


KILL_AT_SWAP = """
import os, signal
import segmentation.publish

def _killed(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

segmentation.publish._swap_symlink = _killed
"""


def test_a_build_killed_while_publishing_leaves_database_and_current_agreeing(tmp_path):
    """dbt SIGKILLed in the middle of publishing (the snapshot written, not yet swapped in):
    the published database and current/ still hold the same run; the next build publishes whole
    and removes what the killed one left."""
    data, _ = generate(300, 6, tmp_path / "orders.parquet")
    build = {**FAST, "orders_path": str(data)}
    workdir = tmp_path / "warehouse"
    run_dbt(workdir, "build", vars=build)
    published = workdir / "published"
    before = _live_runs(published)
    assert before[0] == before[1]

    killer = tmp_path / "kill_at_swap"
    killer.mkdir()
    (killer / "sitecustomize.py").write_text(KILL_AT_SWAP)
    killed = run_dbt(workdir, "build", vars=build, env=python_path(killer), check=False)
    assert killed.returncode == -9, killed.output[-3000:]
    assert _live_runs(published) == before, "the database and current/ agree, on the previous run"

    run_dbt(workdir, "build", vars=build)
    after = _live_runs(published)
    assert after[0] == after[1] != before[0]
    assert not _partial_files(published)
    assert len(list((published / SNAPSHOTS).iterdir())) == SNAPSHOTS_KEPT
    # three builds, two runs in the history: the killed build never became accepted, so its
    # membership rows were removed (docs/reliability.md "Lifecycle") and never published
    history = _history(published)
    assert len(history) == 2 and len({rows for _, rows in history}) == 1, history


PERSONAL = re.compile(r"e_?mail|phone|mobile|(first|last|full|customer)_?name|address|street|city|"
                      r"post_?code|postal|zip|birth|gender|ip_addr|country")


def test_public_marts_expose_no_person_beyond_customer_id_and_feed_the_exposures(tmp_path):
    """Public marts are contracted tables without personal columns; exposures read only those."""
    run_dbt(tmp_path, "parse")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    public = {uid: node for uid, node in manifest["nodes"].items()
              if node["resource_type"] == "model" and node.get("access") == "public"}
    names = {node["name"] for node in public.values()}
    assert names >= {"dim_customers", "dim_segment_profiles", "fct_segment_k_sweep", "dim_segment_centroids",
                     "fct_rejected_order_lines", "fct_segment_model_runs", "fct_segment_history",
                     "fct_segment_transitions", "fct_segment_centroid_history", "fct_segment_memberships"}
    for node in public.values():
        config = node["config"]
        # tables, or append-only history (incremental) that BI reads like a table; the membership
        # history is a view of its change rows, published as a file per build
        view = ["view"] if node["name"] == "fct_segment_memberships" else []
        materializations = ("table", "incremental", *view)
        assert config["contract"]["enforced"] and config["materialized"] in materializations, node["name"]
        personal = [c for c in node["columns"] if PERSONAL.search(c)]
        assert not personal, f"{node['name']} exposes personal columns {personal}"
    publisher = ROOT / "models" / "publish" / "publish_marts.py"
    # besides the marts, it reads the run id, the warehouse's identity and the build's rows of
    # the membership history (written once in the build)
    published = [name for name in re.findall(r'dbt\.ref\("(\w+)"\)', publisher.read_text())
                 if not name.startswith("int_")
                 and name not in ("warehouse_identity", "publish_membership_rows")]
    assert sorted(published) == sorted(names), "publish_marts publishes every public mart"
    exposures = manifest["exposures"].values()
    assert {e["name"] for e in exposures} == {"segmentation_report", "bi_segment_dashboard"}
    for exposure in exposures:
        assert set(exposure["depends_on"]["nodes"]) <= set(public), exposure["name"]
