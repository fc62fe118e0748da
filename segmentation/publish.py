"""Publish the public marts where BI tools can read them while dbt builds the next run.

DuckDB lets one process write a database file, so BI tools never open the warehouse file.
Each successful build writes the marts as Parquet files and as a DuckDB file into a new
snapshot folder under a temporary name, then makes it live with one atomic rename: the
symlink `current` is swapped to the new snapshot, and `segmentation.duckdb` is a symlink to
`current/segmentation.duckdb`, so the database file and the Parquet files always belong to the
same run. A reader sees the previous complete run or the new one, never a half-built state,
and a reader holding the old file open keeps reading the old snapshot: nothing ever locks the
published files. A publish that fails or is killed before the swap leaves the previous run
live and its leftovers are removed (at once, or by the next publish).

An append-only mart (the membership history, one row per customer per build) is not copied
whole every build: each build adds Parquet files of the runs not yet published under
`history/<mart>/`, and the published database reads the files of its own snapshot through a
view, so publishing costs the new rows only. The view names the files relative to the folder,
so the folder reads wherever it is mounted (readers resolve them with `file_search_path`, see
segmentation.published).

The membership history is published as changes (`changes`, a ChangeHistory): a run's file
holds the rows of the customers whose row changed since the run before it (a daily build: a
few percent of them), and the view gives each run's every member from the last run published
whole before it (a "rows" file) and the changes since. A run is published whole instead when its
changes do not follow on the last published run (that run is not among the warehouse's runs:
a build killed after it published), and when the changes since the last whole run would
outgrow CHANGES_PER_BASE times the run's members: a reader then never reads more than that
much more than one run's rows. `published_history_files` lists every run with its file, kind
and row counts.

The DuckDB file is written in the storage format of DuckDB 1.1 (STORAGE_VERSION), which every
DuckDB since reads: BI drivers bundle older DuckDBs than the one dbt runs.

The folder belongs to one warehouse: `warehouse.json` records the warehouse's id on the first
publish, and a build of another warehouse (or of a deleted and rebuilt one) is refused instead
of mixing its history into this one. Publishing holds `publish.lock`, so two builds never
write the folder at once.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

from segmentation.published import PUBLISHED_DATABASE

log = logging.getLogger(__name__)

CURRENT_SNAPSHOT = "current"
SNAPSHOTS = "snapshots"
STATUS_TABLE = "published_marts"
HISTORY = "history"
HISTORY_FILES_TABLE = "published_history_files"
# the segment names of the runs published as changes (the view renames their unchanged customers)
RUN_SEGMENTS_TABLE = "published_run_segments"
ROWS = "rows"
CHANGES = "changes"
# a run is published whole when the change rows since the last whole run, its own included,
# would be more than this many times its members
CHANGES_PER_BASE = 2
# the membership history's columns: a run's rows, and its change rows (is_member after customer_id)
MEMBERSHIP_COLUMNS = ["run_id", "run_at", "customer_id", "segment_id", "segment_name", "distance_to_centroid",
                      "net_spending", "feature_hash"]
CHANGE_COLUMNS = [*MEMBERSHIP_COLUMNS[:3], "is_member", *MEMBERSHIP_COLUMNS[3:]]
LISTING_COLUMNS = ["mart", "run_id", "path", "run_at", "kind", "row_count", "file_rows"]
OWNER = "warehouse.json"
LOCK = "publish.lock"
PARTIAL = ".partial"
SNAPSHOTS_KEPT = 2  # the live snapshot and the one before it (readers may still hold it open)
LOCK_TIMEOUT_SECONDS = 600
# The oldest DuckDB storage format the published file is written in (DuckDB 1.1 and later read it).
STORAGE_VERSION: str | None = "v1.1.0"
HISTORY_VIEW_COMMENT = (
    "Reads history/ Parquet files named relative to the published folder: set file_search_path "
    "to that folder (segmentation.published.connect_published does), or run in it.")
OLD_NAME_COMMENT = "The old name of {}, kept for BI tools (docs/bi_tools.md#mart-names); use the new name."
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class PublishRefused(RuntimeError):
    """The publish folder holds another warehouse's history, or another build holds it too long."""


@dataclass(frozen=True)
class ChangeHistory:
    """The membership history kept as changes, as the warehouse keeps it: `changes` holds
    CHANGE_COLUMNS (a row per customer whose row changed in a run, is_member false when they are
    gone), each run's rows relative to the run before it in `runs`; `runs` (run_id, run_at,
    customers, changed_customers) every run, with its members and change rows; `names`
    (run_id, segment_id, segment_name) the name each run gave each segment."""

    changes: duckdb.DuckDBPyRelation
    runs: duckdb.DuckDBPyRelation
    names: duckdb.DuckDBPyRelation


def publish_marts(marts: Mapping[str, duckdb.DuckDBPyRelation], publish_dir: Path | str, run_id: str,
                  warehouse: Mapping[str, str], append_only: Mapping[str, str] | None = None,
                  old_names: Mapping[str, str] | None = None,
                  run_lists: Mapping[str, duckdb.DuckDBPyRelation] | None = None,
                  run_rows: Mapping[str, duckdb.DuckDBPyRelation] | None = None,
                  changes: Mapping[str, ChangeHistory] | None = None) -> pd.DataFrame:
    """Write `marts` (name -> relation) to `publish_dir` and swap them in; one status row per mart.
    `warehouse` identifies the warehouse the marts come from (`warehouse_id`, and `database`, its
    file, for messages); the folder refuses any other. `append_only` names marts (-> their run
    id column) published one file of new runs per build. `old_names` (old name -> mart) keep a
    renamed mart readable under its old name: a view in the DuckDB file, a link to its Parquet file.
    `run_lists` (append-only mart -> a relation with the same run id column) lists a mart's runs
    where reading them from the mart would cost much (a view that expands every run). `run_rows`
    (append-only mart -> a relation) holds a mart's rows of `run_id` as the build computed them
    once: its history file is written from it when `run_id` is the only run not yet published
    (from the mart when earlier runs wait too). `changes` (append-only mart with run id column
    run_id and MEMBERSHIP_COLUMNS -> its ChangeHistory) publishes a mart's runs as changes."""
    if not marts:
        raise ValueError("marts: nothing to publish")
    append_only = dict(append_only or {})
    old_names = dict(old_names or {})
    run_lists = dict(run_lists or {})
    run_rows = dict(run_rows or {})
    changes = dict(changes or {})
    for name in [*marts, *append_only.values(), *old_names]:
        if not _NAME.match(name):
            raise ValueError(f"marts: {name!r} is not a plain lower-case table or column name")
    if not set(append_only) <= set(marts):
        raise ValueError(f"append_only: {sorted(set(append_only) - set(marts))} are not among the marts")
    for name, mapping in (("run_lists", run_lists), ("run_rows", run_rows), ("changes", changes)):
        if not set(mapping) <= set(append_only):
            raise ValueError(f"{name}: {sorted(set(mapping) - set(append_only))} are not append-only marts")
    unknown = {old: new for old, new in old_names.items()
               if new not in marts or new in append_only or old in marts}
    if unknown:
        raise ValueError(f"old_names: {unknown} must each name a copied mart, under a name no mart has")
    if any(append_only[name] != "run_id" for name in changes):
        raise ValueError("changes: a mart published as changes has the run id column run_id")
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run_id: {run_id!r} must be letters, digits, '-' or '_'")
    if not warehouse.get("warehouse_id"):
        raise ValueError("warehouse: a warehouse_id is required")
    publish_dir = Path(publish_dir)
    publish_dir.mkdir(parents=True, exist_ok=True)
    with _publish_lock(publish_dir):
        history = {name: (marts[name], column, run_lists.get(name, marts[name]))
                   for name, column in append_only.items()}
        _claim(publish_dir, warehouse, history)
        _drop_leftovers(publish_dir)
        status = _publish(marts, publish_dir, run_id, history, old_names, run_rows, changes)
    log.info("published %d marts of run %s to %s", len(marts), run_id, publish_dir)
    return status


def _publish(marts: Mapping[str, duckdb.DuckDBPyRelation], publish_dir: Path, run_id: str,
             append_only: Mapping[str, tuple[duckdb.DuckDBPyRelation, str, duckdb.DuckDBPyRelation]],
             old_names: Mapping[str, str], run_rows: Mapping[str, duckdb.DuckDBPyRelation],
             changes: Mapping[str, ChangeHistory]) -> pd.DataFrame:
    """Write a complete snapshot under a temporary name, then make it live in one rename."""
    published_at = datetime.now(timezone.utc).replace(tzinfo=None)
    snapshot = publish_dir / SNAPSHOTS / f"{published_at:%Y%m%dT%H%M%S%f}_{run_id}"
    staging = snapshot.with_name(snapshot.name + PARTIAL)
    staging.mkdir(parents=True)
    new_history: list[Path] = []
    try:
        copied = [name for name in marts if name not in append_only]
        for name in copied:
            marts[name].to_parquet(str(staging / f"{name}.parquet"))
        for old, new in old_names.items():
            (staging / f"{old}.parquet").symlink_to(f"{new}.parquet")
        history_files = _append_history(publish_dir, snapshot.name, append_only, new_history,
                                        run_id, run_rows, changes)
        row_counts = {name: _row_count([str(staging / f"{name}.parquet")]) for name in copied}
        for name in append_only:
            row_counts[name] = int(history_files.loc[history_files["mart"] == name, "row_count"].sum())
        status = pd.DataFrame({
            "mart": list(marts),
            "row_count": [row_counts[name] for name in marts],
            "dbt_invocation_id": run_id,
            "published_at": published_at,
            "snapshot": str(snapshot.resolve()),
        })
        status.to_parquet(staging / f"{STATUS_TABLE}.parquet", index=False)
        history_files.to_parquet(staging / f"{HISTORY_FILES_TABLE}.parquet", index=False)
        tables = [*copied, STATUS_TABLE, HISTORY_FILES_TABLE]
        if changes:
            _run_segments(publish_dir, history_files, changes).to_parquet(
                staging / f"{RUN_SEGMENTS_TABLE}.parquet", index=False)
            tables.append(RUN_SEGMENTS_TABLE)
        _write_database(staging, publish_dir, tables, history_files, old_names, set(changes))
        os.rename(staging, snapshot)
        # The one step that makes the run live: `current`, and through it segmentation.duckdb.
        # Until it, readers see the previous run; a kill before it leaves the new snapshot
        # unreferenced, removed by the next publish.
        _swap_symlink(publish_dir / CURRENT_SNAPSHOT, Path(SNAPSHOTS) / snapshot.name)
    except BaseException:
        if _live_snapshot(publish_dir) != snapshot.resolve():
            # nothing of this publish went live: remove all of it, the previous run stays current
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(snapshot, ignore_errors=True)
            for path in new_history:
                path.unlink(missing_ok=True)
        raise
    _link_database(publish_dir)
    _drop_old_snapshots(publish_dir)
    _drop_unlisted_history(publish_dir / HISTORY, history_files)
    return status


@contextmanager
def _publish_lock(publish_dir: Path) -> Iterator[None]:
    """Hold `publish.lock` in the folder: one publish at a time, whichever warehouse it comes from
    (dbt can run outside segmentation.cli.build, whose lock covers only its own database)."""
    fd = os.open(publish_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        waited = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                if time.monotonic() > deadline:
                    raise PublishRefused(f"publish folder {publish_dir.resolve()} is locked by another "
                                         f"publish (PID {holder}) for over {LOCK_TIMEOUT_SECONDS} s"
                                         ) from None
                if not waited:
                    log.info("waiting for the publish in progress in %s (PID %s)", publish_dir, holder)
                    waited = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _claim(publish_dir: Path, warehouse: Mapping[str, str],
           append_only: Mapping[str, tuple[duckdb.DuckDBPyRelation, str, duckdb.DuckDBPyRelation]]) -> None:
    """Make sure the folder is this warehouse's: record it on the first publish, refuse another's."""
    owner_file = publish_dir / OWNER
    this = {"warehouse_id": str(warehouse["warehouse_id"]), "database": str(warehouse.get("database", ""))}
    if owner_file.exists():
        owner = json.loads(owner_file.read_text())
        if owner.get("warehouse_id") == this["warehouse_id"]:
            return
        raise PublishRefused(not_the_owner(publish_dir, owner, this["warehouse_id"], this["database"]))
    published = _published_history_files(publish_dir)
    if not published.empty or (publish_dir / CURRENT_SNAPSHOT).exists():
        # a folder published before owners were recorded: adopt it only if this warehouse holds
        # every run it has published
        foreign = []
        for name, (_, column, runs) in append_only.items():
            ours = {row[0] for row in runs.aggregate(column, column).fetchall()}
            foreign += sorted(set(published.loc[published["mart"] == name, "run_id"]) - ours)
        if foreign or not append_only:
            raise PublishRefused(
                f"publish folder {publish_dir.resolve()} holds runs this warehouse ({this['database']}) does "
                f"not have ({', '.join(foreign[:3]) or 'no owner recorded'}): {way_out(publish_dir)}")
    first = {**this, "first_published_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    partial = owner_file.with_name(owner_file.name + PARTIAL)
    partial.write_text(json.dumps(first, indent=2) + "\n")
    os.replace(partial, owner_file)


def not_the_owner(publish_dir: Path, owner: Mapping[str, str], warehouse_id: str, database: str) -> str:
    """The refusal of a folder whose `owner` (its warehouse.json) is another warehouse than this
    one (the same words as macro check_publish_folder_owner)."""
    rebuilt = ", deleted and rebuilt since" if owner.get("database") == database else ""
    return (f"publish folder {publish_dir.resolve()} holds the history of warehouse "
            f"{owner.get('warehouse_id')} ({owner.get('database')}, first published "
            f"{owner.get('first_published_at')}), not of this warehouse {warehouse_id} "
            f"({database}{rebuilt}): {way_out(publish_dir)}")


def way_out(publish_dir: Path) -> str:
    """What to do about a refused folder (the same words as macro check_publish_folder_owner)."""
    return (f"set SEGMENTATION_PUBLISH_DIR to another folder, or remove {publish_dir.resolve()} "
            "to start its history over")


def _row_count(parquet_files: list[str]) -> int:
    """Rows in the Parquet files, from their footers."""
    if not parquet_files:
        return 0
    with duckdb.connect() as con:
        return con.execute("select count(*) from read_parquet(?)", [parquet_files]).fetchone()[0]


def _append_history(publish_dir: Path, file_stem: str,
                    append_only: Mapping[str, tuple[duckdb.DuckDBPyRelation, str, duckdb.DuckDBPyRelation]],
                    written: list[Path], run_id: str,
                    run_rows: Mapping[str, duckdb.DuckDBPyRelation],
                    changes: Mapping[str, ChangeHistory]) -> pd.DataFrame:
    """For each append-only mart (-> the mart, its run id column, the relation its runs are read
    from), new Parquet files under history/<mart>/ holding the runs that the live snapshot does
    not list yet (every run the first time), added to `written`: a mart in `changes` as
    _change_plan says, any other whole ("rows"), from `run_rows` when it has the mart's rows of
    `run_id` and that is the only such run;
    the files of the new snapshot (LISTING_COLUMNS: a row per run, its file's path relative to
    `publish_dir`, so the folder can move): the previous list plus the new runs."""
    listed = _published_history_files(publish_dir)
    rows = [listed[~listed["mart"].isin(list(append_only))]]
    for name, (relation, column, run_list) in append_only.items():
        mart_listed = listed[listed["mart"] == name]
        published_runs = sorted(set(mart_listed["run_id"]))
        if any(not _RUN_ID.match(run) for run in published_runs):
            raise ValueError(f"{HISTORY_FILES_TABLE}: run ids must be letters, digits, '-' or '_'")
        runs = sorted(set(r[0] for r in run_list.aggregate(f"{column}", f"{column}").fetchall())
                      - set(published_runs))
        if any(not _RUN_ID.match(run) for run in runs):
            raise ValueError(f"{name}: run ids must be letters, digits, '-' or '_'")
        run_info = _run_info(changes[name]) if name in changes else None
        mart_listed = _fill_listing(publish_dir, mart_listed, column, run_info)
        rows.append(mart_listed)
        if not runs and published_runs:
            continue  # nothing new; the first publish writes a file even when empty, for the schema
        plan = _change_plan(mart_listed, runs, run_info) if run_info is not None else [(ROWS, runs)]
        folder = publish_dir / HISTORY / name
        folder.mkdir(parents=True, exist_ok=True)
        for kind, kind_runs in plan:
            if kind == CHANGES:
                new_rows = (changes[name].changes.filter(f"run_id in ({_run_list(kind_runs)})")
                            .select(*CHANGE_COLUMNS))
            elif kind_runs == [run_id] and name in run_rows:
                given = {r[0] for r in run_rows[name].aggregate(column, column).fetchall()}
                if not given <= {run_id}:
                    raise ValueError(f"run_rows: {name} holds rows of other runs than {run_id}: "
                                     f"{sorted(given - {run_id})[:3]}")
                new_rows = run_rows[name].select(*relation.columns)  # in the mart's column order
            else:
                # the new runs by name: a filter the database can apply before expanding a view's runs
                new_rows = relation.filter(f"{column} in ({_run_list(kind_runs)})")
            path = folder / f"{file_stem}{'.changes' if kind == CHANGES else ''}.parquet"
            partial = folder / f"{path.name}{PARTIAL}"
            try:
                new_rows.to_parquet(str(partial))
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            os.replace(partial, path)
            written.append(path)
            rows.append(_listing_of(publish_dir, name, path, kind, kind_runs, column, run_info))
    return pd.concat(rows, ignore_index=True)[LISTING_COLUMNS]


def _run_list(runs: list[str]) -> str:
    """Run ids (checked against _RUN_ID) as an SQL list; `null` for none."""
    return ", ".join(repr(run) for run in runs) or "null"


def _run_info(history: ChangeHistory) -> pd.DataFrame:
    """The warehouse's runs of a change history: run_id, run_at, customers, changed_customers."""
    info = history.runs.select("run_id", "run_at", "customers", "changed_customers").df()
    info["run_at"] = info["run_at"].astype("datetime64[us]")
    return info.set_index("run_id")


def _change_plan(listed: pd.DataFrame, runs: list[str],
                 run_info: pd.DataFrame) -> list[tuple[str, list[str]]]:
    """How to publish a change history's new `runs`, given its listed runs: (kind, runs) in time
    order. As changes when they follow on the last listed run, which the warehouse still has (a
    build killed after it published is purged from the warehouse: the next build's changes are
    relative to the run before it), unless the change rows since the last whole run would then
    outgrow CHANGES_PER_BASE times the last new run's members: that run is published whole."""
    unknown = sorted(set(runs) - set(run_info.index))
    if unknown:
        raise ValueError(f"changes: runs {unknown[:3]} are not among the change history's runs")
    ordered = sorted(runs, key=lambda run: (run_info.at[run, "run_at"], run))
    if not ordered:
        return [(ROWS, [])]
    if not listed.empty:
        last = listed.sort_values(["run_at", "run_id"], na_position="first").iloc[-1]
        follows = (pd.notna(last["run_at"]) and last["run_id"] in run_info.index
                   and run_info.at[last["run_id"], "run_at"] == last["run_at"]
                   and all(run_info.at[run, "run_at"] > last["run_at"] for run in ordered))
        if not follows:
            return [(ROWS, ordered)]
    whole = listed.loc[listed["kind"] == ROWS, "run_at"]
    since = listed["kind"] == CHANGES
    if not whole.empty:
        since &= listed["run_at"] > whole.max()
    change_rows = (int(listed.loc[since, "file_rows"].sum())
                   + int(run_info.loc[ordered, "changed_customers"].sum()))
    if change_rows <= CHANGES_PER_BASE * int(run_info.at[ordered[-1], "customers"]):
        return [(CHANGES, ordered)]
    return [plan for plan in [(CHANGES, ordered[:-1]), (ROWS, ordered[-1:])] if plan[1]]


def _listing_of(publish_dir: Path, mart: str, path: Path, kind: str, runs: list[str], column: str,
                run_info: pd.DataFrame | None) -> pd.DataFrame:
    """The listing rows of a new history file: per run its time, its rows in the mart and in the file."""
    with duckdb.connect() as con:
        counts = dict(con.execute(f"select {column}, count(*) from read_parquet(?) group by 1",
                                  [str(path)]).fetchall())
    listing = pd.DataFrame({"mart": mart, "run_id": pd.Series(runs, dtype=str),
                            "path": path.relative_to(publish_dir).as_posix(), "kind": kind})
    listing["file_rows"] = pd.Series([counts.get(run, 0) for run in runs], dtype="Int64")
    if run_info is None:
        listing["run_at"] = pd.Series([pd.NaT] * len(runs), dtype="datetime64[us]")
        listing["row_count"] = listing["file_rows"]
    else:
        listing["run_at"] = pd.Series([run_info.at[run, "run_at"] for run in runs], dtype="datetime64[us]")
        members = [counts.get(run, 0) if kind == ROWS else run_info.at[run, "customers"] for run in runs]
        listing["row_count"] = pd.Series(members, dtype="Int64")
    return listing[LISTING_COLUMNS]


def _fill_listing(publish_dir: Path, listed: pd.DataFrame, column: str,
                  run_info: pd.DataFrame | None) -> pd.DataFrame:
    """A mart's listed runs with their counts and times, which a folder published before the
    history could be kept as changes does not list: read once from their files (each held
    whole runs) and the warehouse's runs, then listed."""
    missing = listed["file_rows"].isna() | (listed["run_at"].isna() if run_info is not None else False)
    if not missing.any():
        return listed
    listed = listed.copy()
    paths = [str(publish_dir / path) for path in sorted(set(listed.loc[missing, "path"]))]
    with duckdb.connect() as con:
        has_time = "run_at" in {row[0] for row in con.execute("describe select * from read_parquet(?)",
                                                              [paths]).fetchall()}
        run_at = "max(run_at)" if has_time else "null"
        found = {row[0]: row[1:] for row in con.execute(
            f"select {column}, count(*), {run_at} from read_parquet(?) group by 1", [paths]).fetchall()}
    for index in listed.index[missing]:
        run = listed.at[index, "run_id"]
        count, run_at = found.get(run, (0, None))
        listed.at[index, "file_rows"] = count
        listed.at[index, "row_count"] = count
        if run_info is not None and run in run_info.index:
            run_at = run_info.at[run, "run_at"]
        listed.at[index, "run_at"] = pd.NaT if run_at is None else pd.Timestamp(run_at)
    return listed


def _published_history_files(publish_dir: Path) -> pd.DataFrame:
    """The history files the live snapshot reads (none before the first publish), LISTING_COLUMNS:
    a listing written before runs were published as changes lists whole runs, without times or
    counts (_fill_listing finds them)."""
    listed = publish_dir / CURRENT_SNAPSHOT / f"{HISTORY_FILES_TABLE}.parquet"
    frame = pd.read_parquet(listed) if listed.exists() else pd.DataFrame(
        {"mart": pd.Series(dtype=str), "run_id": pd.Series(dtype=str), "path": pd.Series(dtype=str)})
    if "kind" not in frame:
        frame["kind"] = ROWS
    for name, dtype in (("run_at", "datetime64[us]"), ("row_count", "Int64"), ("file_rows", "Int64")):
        frame[name] = (frame[name] if name in frame else pd.Series([None] * len(frame))).astype(dtype)
    return frame[LISTING_COLUMNS]


def _run_segments(publish_dir: Path, history_files: pd.DataFrame,
                  changes: Mapping[str, ChangeHistory]) -> pd.DataFrame:
    """The segment names of every listed run of the change histories: the live snapshot's, and
    the new runs' from the warehouse."""
    listed = publish_dir / CURRENT_SNAPSHOT / f"{RUN_SEGMENTS_TABLE}.parquet"
    frames = [pd.read_parquet(listed)] if listed.exists() else []
    known = set(frames[0]["run_id"]) if frames else set()
    for name, history in changes.items():
        new = sorted(set(history_files.loc[history_files["mart"] == name, "run_id"]) - known)
        if new:
            frames.append(history.names.filter(f"run_id in ({_run_list(new)})")
                          .select("run_id", "segment_id", "segment_name").df())
            known |= set(new)
    if not frames:
        return pd.DataFrame({"run_id": pd.Series(dtype=str), "segment_id": pd.Series(dtype="Int64"),
                             "segment_name": pd.Series(dtype=str)})
    names = pd.concat(frames, ignore_index=True)
    names["segment_id"] = names["segment_id"].astype("Int64")
    return names


def _write_database(snapshot: Path, publish_dir: Path, tables: list[str],
                    history_files: pd.DataFrame, old_names: Mapping[str, str],
                    change_marts: set[str]) -> None:
    """The snapshot's DuckDB file: one table per Parquet file, one view per append-only mart
    over its history files (_change_view for `change_marts`) and one per old name,
    checkpointed whole (no write-ahead log)."""
    target = snapshot / PUBLISHED_DATABASE
    config = {"storage_compatibility_version": STORAGE_VERSION} if STORAGE_VERSION else {}
    with duckdb.connect(str(target), config=config) as con:
        for table in tables:
            con.execute(f"create table {table} as select * from read_parquet(?)",
                        [str(snapshot / f"{table}.parquet")])
        # the view's paths are relative to the folder, wherever it is mounted; creating it reads them
        con.execute(f"set file_search_path = {_sql_literal(str(publish_dir.resolve()))}")
        for mart, files in history_files.groupby("mart"):
            if mart in change_marts:
                con.execute(f"create view {mart} as {_change_view(mart, files)}")
            else:
                paths = ", ".join(_sql_literal(path) for path in sorted(set(files["path"])))
                con.execute(f"create view {mart} as select * from read_parquet([{paths}])")
            con.execute(f"comment on view {mart} is {_sql_literal(HISTORY_VIEW_COMMENT)}")
        for old, new in old_names.items():
            con.execute(f"create view {old} as select * from {new}")
            con.execute(f"comment on view {old} is {_sql_literal(OLD_NAME_COMMENT.format(new))}")
        con.execute("checkpoint")
    if target.with_name(target.name + ".wal").exists():
        raise RuntimeError(f"{target}: DuckDB left a write-ahead log; the file is not complete")


def _change_view(mart: str, files: pd.DataFrame) -> str:
    """The query of a change history's view: each listed run's members, from the last run
    listed whole ("rows") at or before it, less its customers changed since, plus each changed
    customer's last change since (when it says member), every run's segments under the names
    that run gave them."""
    def paths(kind: str) -> str:
        return ", ".join(_sql_literal(path) for path in sorted(set(files.loc[files["kind"] == kind, "path"])))

    values = ", ".join(MEMBERSHIP_COLUMNS[3:])
    whole, changed = paths(ROWS), paths(CHANGES)
    # a kind without files: its columns, typed, from the other kind's files
    based = (f"select run_id, customer_id, {values} from read_parquet([{whole}])" if whole
             else f"select run_id, customer_id, {values} from read_parquet([{changed}]) where false")
    changes = (f"select run_at, customer_id, is_member, {values} from read_parquet([{changed}])" if changed
               else f"select run_at, customer_id, true as is_member, {values} "
                    f"from read_parquet([{whole}]) where false")
    prefixed = ", ".join(f"{{0}}.{column}" for column in MEMBERSHIP_COLUMNS[3:])
    return f"""
with
runs as (
    select run_id, cast(run_at as timestamp) as run_at, kind
    from {HISTORY_FILES_TABLE}
    where mart = {_sql_literal(mart)}
),
run_bases as (
    select
        runs.run_id,
        runs.run_at,
        max(bases.run_at) as base_at,
        arg_max(bases.run_id, bases.run_at) as base_run_id
    from runs
    left join runs as bases on bases.kind = '{ROWS}' and bases.run_at <= runs.run_at
    group by runs.run_id, runs.run_at
),
based as ({based}),
changes as ({changes}),
last_change_times as (
    select run_bases.run_id, run_bases.run_at, changes.customer_id, max(changes.run_at) as changed_at
    from run_bases
    inner join changes
        on changes.run_at <= run_bases.run_at
        and (run_bases.base_at is null or changes.run_at > run_bases.base_at)
    group by run_bases.run_id, run_bases.run_at, changes.customer_id
),
last_changes as (
    select last_change_times.run_id, last_change_times.run_at, changes.customer_id, changes.is_member,
        {prefixed.format("changes")}
    from last_change_times
    inner join changes
        on changes.customer_id = last_change_times.customer_id
        and changes.run_at = last_change_times.changed_at
),
kept as (
    select run_bases.run_id, run_bases.run_at, based.customer_id, {prefixed.format("based")}
    from run_bases
    inner join based on based.run_id = run_bases.base_run_id
    where not exists (
        select 1 from last_change_times
        where last_change_times.run_id = run_bases.run_id
            and last_change_times.customer_id = based.customer_id
    )
),
members as (
    select * from kept
    union all
    select run_id, run_at, customer_id, {values} from last_changes where is_member
)
select
    members.run_id,
    members.run_at,
    members.customer_id,
    members.segment_id,
    coalesce(names.segment_name, members.segment_name) as segment_name,
    members.distance_to_centroid,
    members.net_spending,
    members.feature_hash
from members
left join {RUN_SEGMENTS_TABLE} as names
    on members.run_id = names.run_id and members.segment_id = names.segment_id
"""


def _swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` (relative to the link's folder) in one rename, so readers
    resolve either the old or the new."""
    staging = link.with_name(f".{link.name}{PARTIAL}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target, target_is_directory=True)
    os.replace(staging, link)


def _link_database(publish_dir: Path) -> None:
    """`segmentation.duckdb` -> `current/segmentation.duckdb`, once (it replaces the plain file
    earlier versions renamed in): from then on swapping `current` swaps the database too."""
    link = publish_dir / PUBLISHED_DATABASE
    target = Path(CURRENT_SNAPSHOT) / PUBLISHED_DATABASE
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    staging = link.with_name(f".{link.name}{PARTIAL}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    os.replace(staging, link)


def _sql_literal(text: str) -> str:
    """`text` as a SQL string literal, single quotes doubled (a view cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _drop_unlisted_history(history: Path, history_files: pd.DataFrame) -> None:
    """Remove history files no published database reads (left by a build that failed after
    writing one); the rows they held are published again with the next run's file."""
    if not history.exists():
        return
    listed = set(history_files["path"])
    for path in history.glob("*/*"):
        if path.relative_to(history.parent).as_posix() not in listed:
            path.unlink()


def _live_snapshot(publish_dir: Path) -> Path | None:
    """The snapshot `current` points to, if any."""
    current = publish_dir / CURRENT_SNAPSHOT
    return current.resolve() if current.is_symlink() and current.exists() else None


def _drop_leftovers(publish_dir: Path) -> None:
    """Remove what a killed publish left: snapshots under a temporary name, and complete ones
    newer than the live one (they never went live). Runs under the lock, before writing."""
    snapshots = publish_dir / SNAPSHOTS
    if not snapshots.exists():
        return
    live = _live_snapshot(publish_dir)
    for path in snapshots.iterdir():
        if path.name.endswith(PARTIAL) or (live is not None and path.is_dir() and path.name > live.name):
            log.info("removing %s, left by a publish that did not finish", path)
            shutil.rmtree(path)
    for path in publish_dir.glob(f".*{PARTIAL}"):
        path.unlink()


def _drop_old_snapshots(publish_dir: Path) -> None:
    """Keep the live snapshot and the one before it; readers that opened an older file still
    hold its data. Never removes the live one, whatever the folder holds."""
    live = _live_snapshot(publish_dir)
    if live is None:
        return
    older = sorted(p for p in (publish_dir / SNAPSHOTS).iterdir()
                   if p.is_dir() and not p.name.endswith(PARTIAL) and p.name < live.name)
    for old in older[:len(older) - (SNAPSHOTS_KEPT - 1)]:
        shutil.rmtree(old)

