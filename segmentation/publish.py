"""Publish the public marts where BI tools can read them while dbt builds the next run.

DuckDB lets one process write a database file, so BI tools never open the warehouse file.
Each successful build writes the marts as Parquet files into a new snapshot folder and as a
new DuckDB file under a temporary name, then swaps both in with one atomic rename each. A
reader sees the previous complete run or the new one, never a half-built state, and a reader
holding the old file open keeps reading the old snapshot: nothing ever locks the published
files.

An append-only mart (the membership history, one row per customer per build) is not copied
whole every build: each build adds one Parquet file of the rows not yet published under
`history/<mart>/`, and the published database reads the files of its own snapshot through a
view, so publishing costs the new rows only.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd

log = logging.getLogger(__name__)

PUBLISHED_DATABASE = "segmentation.duckdb"
CURRENT_SNAPSHOT = "current"
SNAPSHOTS = "snapshots"
STATUS_TABLE = "published_marts"
HISTORY = "history"
HISTORY_FILES_TABLE = "published_history_files"
SNAPSHOTS_KEPT = 2
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def publish_marts(marts: Mapping[str, duckdb.DuckDBPyRelation], publish_dir: Path | str,
                  run_id: str, append_only: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Write `marts` (name -> relation) to `publish_dir` and swap them in; one status row per mart.
    `append_only` names marts (-> their run id column) published one file of new runs per build."""
    if not marts:
        raise ValueError("marts: nothing to publish")
    append_only = dict(append_only or {})
    for name in [*marts, *append_only.values()]:
        if not _NAME.match(name):
            raise ValueError(f"marts: {name!r} is not a plain lower-case table or column name")
    if not set(append_only) <= set(marts):
        raise ValueError(f"append_only: {sorted(set(append_only) - set(marts))} are not among the marts")
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run_id: {run_id!r} must be letters, digits, '-' or '_'")
    publish_dir = Path(publish_dir)
    published_at = datetime.now(timezone.utc).replace(tzinfo=None)
    snapshot = publish_dir / SNAPSHOTS / f"{published_at:%Y%m%dT%H%M%S%f}_{run_id}"
    snapshot.mkdir(parents=True)

    copied = [name for name in marts if name not in append_only]
    for name in copied:
        marts[name].to_parquet(str(snapshot / f"{name}.parquet"))
    history_files = _append_history(publish_dir, snapshot.name, {
        name: (marts[name], column) for name, column in append_only.items()})
    row_counts = {name: _row_count([str(snapshot / f"{name}.parquet")]) for name in copied}
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
    status.to_parquet(snapshot / f"{STATUS_TABLE}.parquet", index=False)
    history_files.to_parquet(snapshot / f"{HISTORY_FILES_TABLE}.parquet", index=False)

    _write_database(snapshot, publish_dir / PUBLISHED_DATABASE, [*copied, STATUS_TABLE, HISTORY_FILES_TABLE],
                    history_files)
    _swap_symlink(publish_dir / CURRENT_SNAPSHOT, snapshot)
    _drop_old_snapshots(publish_dir / SNAPSHOTS, keep=snapshot)
    _drop_unlisted_history(publish_dir / HISTORY, history_files)
    log.info("published %d marts of run %s to %s", len(marts), run_id, publish_dir)
    return status


def _row_count(parquet_files: list[str]) -> int:
    """Rows in the Parquet files, from their footers."""
    if not parquet_files:
        return 0
    with duckdb.connect() as con:
        return con.execute("select count(*) from read_parquet(?)", [parquet_files]).fetchone()[0]


def _append_history(publish_dir: Path, file_stem: str,
                    append_only: Mapping[str, tuple[duckdb.DuckDBPyRelation, str]]) -> pd.DataFrame:
    """For each append-only mart, one new Parquet file under history/<mart>/ holding the runs
    that the published database does not list yet (every run the first time); the files of
    the new snapshot (mart, run_id, path relative to `publish_dir`, so the folder can move):
    the previous list plus the new files."""
    listed = _published_history_files(publish_dir / PUBLISHED_DATABASE)
    rows = [listed]
    for name, (relation, column) in append_only.items():
        published_runs = sorted(set(listed.loc[listed["mart"] == name, "run_id"]))
        if any(not _RUN_ID.match(run) for run in published_runs):
            raise ValueError(f"{HISTORY_FILES_TABLE}: run ids must be letters, digits, '-' or '_'")
        new_rows = relation
        if published_runs:
            new_rows = relation.filter(f"{column} not in ({', '.join(repr(r) for r in published_runs)})")
        runs = sorted(r[0] for r in new_rows.aggregate(f"{column}", f"{column}").fetchall())
        if not runs and published_runs:
            continue  # nothing new; the first publish writes a file even when empty, for the schema
        folder = publish_dir / HISTORY / name
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{file_stem}.parquet"
        partial = folder / f".{path.name}.partial"
        new_rows.to_parquet(str(partial))
        os.replace(partial, path)
        rows.append(pd.DataFrame({"mart": name, "run_id": runs,
                                  "path": path.relative_to(publish_dir).as_posix()}))
    return pd.concat(rows, ignore_index=True)


def _published_history_files(database: Path) -> pd.DataFrame:
    """The history files the published database reads (none before the first publish)."""
    empty = pd.DataFrame({"mart": pd.Series(dtype=str), "run_id": pd.Series(dtype=str),
                          "path": pd.Series(dtype=str)})
    if not database.exists():
        return empty
    with duckdb.connect(str(database), read_only=True) as con:
        tables = {row[0] for row in con.execute("show tables").fetchall()}
        if HISTORY_FILES_TABLE not in tables:
            return empty
        return con.execute(f"select mart, run_id, path from {HISTORY_FILES_TABLE}").df()


def _write_database(snapshot: Path, target: Path, tables: list[str], history_files: pd.DataFrame) -> None:
    """A new DuckDB file with one table per Parquet file and one view per append-only mart over
    its history files, renamed over `target` when complete."""
    partial = target.with_name(f".{target.name}.{snapshot.name}.partial")
    partial.unlink(missing_ok=True)
    with duckdb.connect(str(partial)) as con:
        for table in tables:
            con.execute(f"create table {table} as select * from read_parquet(?)",
                        [str(snapshot / f"{table}.parquet")])
        for mart, files in history_files.groupby("mart"):
            paths = ", ".join(_sql_literal(str((target.parent / path).resolve()))
                              for path in sorted(set(files["path"])))
            con.execute(f"create view {mart} as select * from read_parquet([{paths}])")
        con.execute("checkpoint")
    if partial.with_name(partial.name + ".wal").exists():
        raise RuntimeError(f"{partial}: DuckDB left a write-ahead log; the file is not complete")
    os.replace(partial, target)


def _swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` in one rename, so readers resolve either the old or the new."""
    staging = link.with_name(f".{link.name}.{target.name}")
    staging.unlink(missing_ok=True)
    staging.symlink_to(Path(SNAPSHOTS) / target.name, target_is_directory=True)
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
    for path in history.glob("*/*.parquet"):
        if path.relative_to(history.parent).as_posix() not in listed:
            path.unlink()


def _drop_old_snapshots(snapshots: Path, keep: Path) -> None:
    """Keep the newest snapshots; readers that opened an older file still hold its data."""
    ordered = sorted(p for p in snapshots.iterdir() if p.is_dir())
    for old in ordered[:-SNAPSHOTS_KEPT]:
        if old != keep:
            shutil.rmtree(old)
