"""Run dbt on the project's DuckDB database, one build at a time.

DuckDB lets one process write a database file; a second `dbt build` on the same file dies with
a lock traceback. This wrapper holds a lock file beside the database for the whole run, so a
second build fails at once with a message naming the build in progress (or, with --wait,
waits for it). The database itself is never opened by two writers.

    python -m segmentation.build [--wait] build --profiles-dir .
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

DEFAULT_DB = "segmentation.duckdb"
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later


class BuildInProgress(RuntimeError):
    """Another process is building into the same database file."""


def database_path() -> Path:
    """The database file dbt writes (profiles.yml: SEGMENTATION_DB_PATH, else segmentation.duckdb)."""
    return Path(os.environ.get("SEGMENTATION_DB_PATH", DEFAULT_DB)).resolve()


def acquire(db: Path, wait: bool = False) -> int:
    """Lock `<db>.lock` for this process and return its descriptor; raise BuildInProgress if held."""
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{db}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise BuildInProgress(f"database {db} is locked by another build (PID {holder}); wait for it "
                              "to finish, rerun with --wait, or set SEGMENTATION_DB_PATH to another file"
                              ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _check_not_open_elsewhere(db)
    return fd


def _check_not_open_elsewhere(db: Path) -> None:
    """A process outside this wrapper (dbt run directly, a notebook) may hold DuckDB's own lock."""
    if not db.exists():
        return
    try:
        duckdb.connect(str(db)).close()
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        raise BuildInProgress(f"database {db} is open for writing in another process: {error}") from None


def run(dbt_args: list[str], wait: bool = False) -> int:
    """`dbt <dbt_args>` while holding the database's build lock; dbt's exit code."""
    fd = acquire(database_path(), wait=wait)
    try:
        dbt = Path(sys.executable).with_name("dbt")
        return subprocess.run([str(dbt), *dbt_args], check=False).returncode
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wait", action="store_true", help="wait for a build in progress instead of failing")
    parser.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments for dbt, e.g. build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return run(args.dbt_args, wait=args.wait)
    except BuildInProgress as error:
        log.error("%s", error)
        return EXIT_LOCKED


if __name__ == "__main__":
    sys.exit(main())
