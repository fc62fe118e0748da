"""Read the published marts: open the live run's DuckDB file, wherever the folder is mounted.

For notebooks and scripts. It needs only `duckdb` (1.1 or later), so a BI tool's Python or an
older client can use it with this file alone. Two things a plain `duckdb.connect` of
`published/segmentation.duckdb` gets wrong:

- `segmentation.duckdb` is a symlink into the live snapshot. DuckDB 1.x keeps one database
  instance per path in a process and hands it to every new connection while any connection to
  that path is open, so a notebook that holds a connection keeps seeing the old run after a
  build. Opening the snapshot's own file (the symlink resolved) gives each run its own path.
- The history view `fct_segment_memberships` names its Parquet files relative to the published
  folder, so that the folder reads wherever it is mounted; DuckDB resolves relative paths
  against the working directory, or against `file_search_path`, which this sets to the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

PUBLISHED_DATABASE = "segmentation.duckdb"


def live_database(path: str | os.PathLike) -> Path:
    """The live run's DuckDB file (`snapshots/<run>/segmentation.duckdb`) of the published folder
    `path`, or of its `segmentation.duckdb`."""
    path = Path(os.path.abspath(path))
    link = path / PUBLISHED_DATABASE if path.is_dir() else path
    resolved = Path(os.path.realpath(link))
    if not resolved.is_file():
        raise FileNotFoundError(f"{link}: no published run here (build first, or name the published folder)")
    return resolved


def connect_published(path: str | os.PathLike = "published") -> duckdb.DuckDBPyConnection:
    """A read-only connection to the live run of the published folder `path` (or of its
    `segmentation.duckdb`), with `file_search_path` set to the folder for the history view. It
    keeps reading that run however many builds follow; connect again for a newer one."""
    link = Path(os.path.abspath(path))
    folder = link if link.is_dir() else link.parent
    for _ in range(3):  # the run may be retired between resolving and opening (two builds since)
        database = live_database(link)
        try:
            con = duckdb.connect(str(database), read_only=True)
        except duckdb.IOException:
            if database.exists():
                raise
            continue
        con.execute("set file_search_path = '" + str(folder).replace("'", "''") + "'")
        return con
    raise FileNotFoundError(f"{link}: the published run changed three times while opening it; try again")
