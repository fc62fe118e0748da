"""Publish the public marts where BI tools can read them while dbt builds the next run.

DuckDB lets one process write a database file, so BI tools never open the warehouse file.
Each successful build writes the marts as Parquet files into a new snapshot folder and as a
new DuckDB file under a temporary name, then swaps both in with one atomic rename each. A
reader sees the previous complete run or the new one, never a half-built state, and a reader
holding the old file open keeps reading the old snapshot: nothing ever locks the published
files.
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
SNAPSHOTS_KEPT = 2
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def publish_marts(marts: Mapping[str, duckdb.DuckDBPyRelation], publish_dir: Path | str,
                  run_id: str) -> pd.DataFrame:
    """Write `marts` (name -> relation) to `publish_dir` and swap them in; one status row per mart."""
    if not marts:
        raise ValueError("marts: nothing to publish")
    for name in marts:
        if not _NAME.match(name):
            raise ValueError(f"marts: {name!r} is not a plain lower-case table name")
    if not _RUN_ID.match(run_id):
        raise ValueError(f"run_id: {run_id!r} must be letters, digits, '-' or '_'")
    publish_dir = Path(publish_dir)
    published_at = datetime.now(timezone.utc).replace(tzinfo=None)
    snapshot = publish_dir / SNAPSHOTS / f"{published_at:%Y%m%dT%H%M%S%f}_{run_id}"
    snapshot.mkdir(parents=True)

    for name, relation in marts.items():
        relation.to_parquet(str(snapshot / f"{name}.parquet"))
    status = pd.DataFrame({
        "mart": list(marts),
        "row_count": [_row_count(snapshot / f"{name}.parquet") for name in marts],
        "dbt_invocation_id": run_id,
        "published_at": published_at,
        "snapshot": str(snapshot.resolve()),
    })
    status.to_parquet(snapshot / f"{STATUS_TABLE}.parquet", index=False)

    _write_database(snapshot, publish_dir / PUBLISHED_DATABASE, [*marts, STATUS_TABLE])
    _swap_symlink(publish_dir / CURRENT_SNAPSHOT, snapshot)
    _drop_old_snapshots(publish_dir / SNAPSHOTS, keep=snapshot)
    log.info("published %d marts of run %s to %s", len(marts), run_id, publish_dir)
    return status


def _row_count(parquet: Path) -> int:
    with duckdb.connect() as con:
        return con.execute("select count(*) from read_parquet(?)", [str(parquet)]).fetchone()[0]


def _write_database(snapshot: Path, target: Path, tables: list[str]) -> None:
    """A new DuckDB file with one table per Parquet file, renamed over `target` when complete."""
    partial = target.with_name(f".{target.name}.{snapshot.name}.partial")
    partial.unlink(missing_ok=True)
    with duckdb.connect(str(partial)) as con:
        for table in tables:
            con.execute(f"create table {table} as select * from read_parquet(?)",
                        [str(snapshot / f"{table}.parquet")])
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


def _drop_old_snapshots(snapshots: Path, keep: Path) -> None:
    """Keep the newest snapshots; readers that opened an older file still hold its data."""
    ordered = sorted(p for p in snapshots.iterdir() if p.is_dir())
    for old in ordered[:-SNAPSHOTS_KEPT]:
        if old != keep:
            shutil.rmtree(old)
