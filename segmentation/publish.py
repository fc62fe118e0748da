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
whole every build: each build adds one Parquet file of the rows not yet published under
`history/<mart>/`, and the published database reads the files of its own snapshot through a
view, so publishing costs the new rows only. The view names the files relative to the folder,
so the folder reads wherever it is mounted (readers resolve them with `file_search_path`, see
segmentation.published).

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


def publish_marts(marts: Mapping[str, duckdb.DuckDBPyRelation], publish_dir: Path | str, run_id: str,
                  warehouse: Mapping[str, str], append_only: Mapping[str, str] | None = None,
                  old_names: Mapping[str, str] | None = None,
                  run_lists: Mapping[str, duckdb.DuckDBPyRelation] | None = None,
                  run_rows: Mapping[str, duckdb.DuckDBPyRelation] | None = None) -> pd.DataFrame:
    """Write `marts` (name -> relation) to `publish_dir` and swap them in; one status row per mart.
    `warehouse` identifies the warehouse the marts come from (`warehouse_id`, and `database`, its
    file, for messages); the folder refuses any other. `append_only` names marts (-> their run
    id column) published one file of new runs per build. `old_names` (old name -> mart) keep a
    renamed mart readable under its old name: a view in the DuckDB file, a link to its Parquet file.
    `run_lists` (append-only mart -> a relation with the same run id column) lists a mart's runs
    where reading them from the mart would cost much (a view that expands every run). `run_rows`
    (append-only mart -> a relation) holds a mart's rows of `run_id` as the build computed them
    once: its history file is written from it when `run_id` is the only run not yet published
    (from the mart when earlier runs wait too)."""
    if not marts:
        raise ValueError("marts: nothing to publish")
    append_only = dict(append_only or {})
    old_names = dict(old_names or {})
    run_lists = dict(run_lists or {})
    run_rows = dict(run_rows or {})
    for name in [*marts, *append_only.values(), *old_names]:
        if not _NAME.match(name):
            raise ValueError(f"marts: {name!r} is not a plain lower-case table or column name")
    if not set(append_only) <= set(marts):
        raise ValueError(f"append_only: {sorted(set(append_only) - set(marts))} are not among the marts")
    for name, mapping in (("run_lists", run_lists), ("run_rows", run_rows)):
        if not set(mapping) <= set(append_only):
            raise ValueError(f"{name}: {sorted(set(mapping) - set(append_only))} are not append-only marts")
    unknown = {old: new for old, new in old_names.items()
               if new not in marts or new in append_only or old in marts}
    if unknown:
        raise ValueError(f"old_names: {unknown} must each name a copied mart, under a name no mart has")
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
        status = _publish(marts, publish_dir, run_id, history, old_names, run_rows)
    log.info("published %d marts of run %s to %s", len(marts), run_id, publish_dir)
    return status


def _publish(marts: Mapping[str, duckdb.DuckDBPyRelation], publish_dir: Path, run_id: str,
             append_only: Mapping[str, tuple[duckdb.DuckDBPyRelation, str, duckdb.DuckDBPyRelation]],
             old_names: Mapping[str, str], run_rows: Mapping[str, duckdb.DuckDBPyRelation]) -> pd.DataFrame:
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
                                        run_id, run_rows)
        row_counts = {name: _row_count([str(staging / f"{name}.parquet")]) for name in copied}
        for name in append_only:
            row_counts[name] = _row_count([str(publish_dir / path) for path in
                                           history_files.loc[history_files["mart"] == name, "path"]])
        status = pd.DataFrame({
            "mart": list(marts),
            "row_count": [row_counts[name] for name in marts],
            "dbt_invocation_id": run_id,
            "published_at": published_at,
            "snapshot": str(snapshot.resolve()),
        })
        status.to_parquet(staging / f"{STATUS_TABLE}.parquet", index=False)
        history_files.to_parquet(staging / f"{HISTORY_FILES_TABLE}.parquet", index=False)
        _write_database(staging, publish_dir, [*copied, STATUS_TABLE, HISTORY_FILES_TABLE], history_files,
                        old_names)
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
                    run_rows: Mapping[str, duckdb.DuckDBPyRelation]) -> pd.DataFrame:
    """For each append-only mart (-> the mart, its run id column, the relation its runs are read
    from), one new Parquet file under history/<mart>/ holding the runs that the live snapshot
    does not list yet (every run the first time), added to `written`: from `run_rows` when it
    has the mart's rows of `run_id` and that is the only such run;
    the files of the new snapshot (mart, run_id, path relative to `publish_dir`, so the folder
    can move): the previous list plus the new files."""
    listed = _published_history_files(publish_dir)
    rows = [listed]
    for name, (relation, column, run_list) in append_only.items():
        published_runs = sorted(set(listed.loc[listed["mart"] == name, "run_id"]))
        if any(not _RUN_ID.match(run) for run in published_runs):
            raise ValueError(f"{HISTORY_FILES_TABLE}: run ids must be letters, digits, '-' or '_'")
        runs = sorted(set(r[0] for r in run_list.aggregate(f"{column}", f"{column}").fetchall())
                      - set(published_runs))
        if any(not _RUN_ID.match(run) for run in runs):
            raise ValueError(f"{name}: run ids must be letters, digits, '-' or '_'")
        if runs == [run_id] and name in run_rows:
            given = {r[0] for r in run_rows[name].aggregate(column, column).fetchall()}
            if not given <= {run_id}:
                raise ValueError(f"run_rows: {name} holds rows of other runs than {run_id}: "
                                 f"{sorted(given - {run_id})[:3]}")
            new_rows = run_rows[name]
        else:
            # the new runs by name: a filter the database can apply before expanding a view's runs
            new_rows = relation.filter(f"{column} in ({', '.join(repr(r) for r in runs) or 'null'})")
        if not runs and published_runs:
            continue  # nothing new; the first publish writes a file even when empty, for the schema
        folder = publish_dir / HISTORY / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{file_stem}.parquet"
        partial = folder / f"{path.name}{PARTIAL}"
        try:
            new_rows.to_parquet(str(partial))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
        written.append(path)
        rows.append(pd.DataFrame({"mart": name, "run_id": runs,
                                  "path": path.relative_to(publish_dir).as_posix()}))
    return pd.concat(rows, ignore_index=True)


def _published_history_files(publish_dir: Path) -> pd.DataFrame:
    """The history files the live snapshot reads (none before the first publish)."""
    listed = publish_dir / CURRENT_SNAPSHOT / f"{HISTORY_FILES_TABLE}.parquet"
    if not listed.exists():
        return pd.DataFrame({"mart": pd.Series(dtype=str), "run_id": pd.Series(dtype=str),
                             "path": pd.Series(dtype=str)})
    return pd.read_parquet(listed, columns=["mart", "run_id", "path"])


def _write_database(snapshot: Path, publish_dir: Path, tables: list[str],
                    history_files: pd.DataFrame, old_names: Mapping[str, str]) -> None:
    """The snapshot's DuckDB file: one table per Parquet file, one view per append-only mart
    over its history files and one per old name, checkpointed whole (no write-ahead log)."""
    target = snapshot / PUBLISHED_DATABASE
    config = {"storage_compatibility_version": STORAGE_VERSION} if STORAGE_VERSION else {}
    with duckdb.connect(str(target), config=config) as con:
        for table in tables:
            con.execute(f"create table {table} as select * from read_parquet(?)",
                        [str(snapshot / f"{table}.parquet")])
        # the view's paths are relative to the folder, wherever it is mounted; creating it reads them
        con.execute(f"set file_search_path = {_sql_literal(str(publish_dir.resolve()))}")
        for mart, files in history_files.groupby("mart"):
            paths = ", ".join(_sql_literal(path) for path in sorted(set(files["path"])))
            con.execute(f"create view {mart} as select * from read_parquet([{paths}])")
            con.execute(f"comment on view {mart} is {_sql_literal(HISTORY_VIEW_COMMENT)}")
        for old, new in old_names.items():
            con.execute(f"create view {old} as select * from {new}")
            con.execute(f"comment on view {old} is {_sql_literal(OLD_NAME_COMMENT.format(new))}")
        con.execute("checkpoint")
    if target.with_name(target.name + ".wal").exists():
        raise RuntimeError(f"{target}: DuckDB left a write-ahead log; the file is not complete")


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

