"""Run dbt on the project's DuckDB database, one build at a time.

DuckDB lets one process write a database file; a second `dbt build` on the same file dies with
a lock traceback. This wrapper holds a lock file beside the database for the whole run, so a
second build fails at once with a message naming the build in progress (or, with --wait,
waits for it). The database itself is never opened by two writers.

The publish folder belongs to one warehouse (segmentation/publish.py, which also locks it while
publishing, with or without this wrapper): a build whose marts it would refuse, because the
folder holds another warehouse's history or this warehouse was deleted since, is not started.

    python -m segmentation.cli.build [--wait] build --profiles-dir .
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from segmentation.cli.command_line import description
from segmentation.publish import OWNER, PublishRefused, not_the_owner

log = logging.getLogger(__name__)

DEFAULT_DB = "segmentation.duckdb"
# as in models/publish/_publish__models.yml (config publish_dir), where dbt reads it
DEFAULT_PUBLISH_DIR = "published"
EXIT_LOCKED = 75  # EX_TEMPFAIL: try again later
EXIT_REFUSED = 78  # EX_CONFIG: the settings must change


class BuildInProgress(RuntimeError):
    """Another process is building into the same database file."""


def database_path() -> Path:
    """The database file dbt writes (profiles.yml: SEGMENTATION_DB_PATH, else segmentation.duckdb)."""
    return Path(os.environ.get("SEGMENTATION_DB_PATH", DEFAULT_DB)).resolve()


def publish_path() -> Path:
    """The publish folder (SEGMENTATION_PUBLISH_DIR, else published/)."""
    return Path(os.environ.get("SEGMENTATION_PUBLISH_DIR", DEFAULT_PUBLISH_DIR)).resolve()


def check_publish_folder(db: Path, publish_dir: Path) -> None:
    """Raise PublishRefused when the folder records another warehouse than `db` (or `db` is gone,
    so the build would create a new one): the build could not publish, so it is not run."""
    owner_file = publish_dir / OWNER
    if not owner_file.exists():
        return
    owner = json.loads(owner_file.read_text())
    ours = _warehouse_id(db)
    if ours == owner.get("warehouse_id"):
        return
    raise PublishRefused(not_the_owner(publish_dir, owner, ours or "(not built yet)", str(db)))


def _warehouse_id(db: Path) -> str | None:
    """The id in the warehouse's `warehouse_identity`; None before its first build."""
    if not db.exists():
        return None
    with duckdb.connect(str(db), read_only=True) as con:
        try:
            row = con.execute("select warehouse_id from warehouse_identity").fetchall()
        except duckdb.CatalogException:
            return None
    return row[0][0] if row else None


def acquire(db: Path, wait: bool = False) -> int:
    """Lock `<db>.lock` for this process and return its descriptor; raise BuildInProgress if held."""
    db.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{db}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        if not wait:
            os.close(fd)
            raise BuildInProgress(f"database {db} is locked by another build (PID {holder}); wait for it "
                                  "to finish, rerun with --wait, or set SEGMENTATION_DB_PATH to another file"
                                  ) from None
        log.info("waiting for the build in progress on %s (PID %s, holding %s.lock) to finish; "
                 "this build starts when it does", db, holder, db)
        fcntl.flock(fd, fcntl.LOCK_EX)
        log.info("the build in progress on %s finished: starting", db)
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
        check_publish_folder(database_path(), publish_path())
        dbt = Path(sys.executable).with_name("dbt")
        return subprocess.run([str(dbt), *dbt_args], check=False).returncode
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m segmentation.cli.build`."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--wait", action="store_true",
                        help="when another build holds the database's lock (<database>.lock), say so and "
                             "wait for it to finish instead of failing")
    parser.add_argument("dbt_args", nargs=argparse.REMAINDER,
                        help="arguments for dbt, e.g. build --profiles-dir .")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return run(args.dbt_args, wait=args.wait)
    except BuildInProgress as error:
        log.error("%s", error)
        return EXIT_LOCKED
    except PublishRefused as error:
        log.error("%s", error)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
