"""The daily-build benchmark: a build from scratch on load files against the daily build that
adds one day's file to a warehouse built on the history.

For every size it splits the demo data into load files (one per calendar month before the last
day, one for the last day; cached beside the data) and times three `dbt build`s, each in its own
warehouse and work dir: from scratch on every file (fit mode), then, after an untimed build of
the history, the daily build with the day's file added, in score mode and in fit mode. It checks
that the daily builds give the scratch build's features and rejected lines, and writes the
"Daily builds" section of docs/benchmarks.md (segmentation/benchmark/daily_report.py).

    python -m segmentation.benchmark.daily --sizes 25000,1000000 --notebook-from build/bench/results.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from segmentation.benchmark.daily_report import write_daily_section
from segmentation.benchmark.results import AGREEMENT_QUERIES, DAILY_VARS, BuildResult, DailyResult
from segmentation.benchmark.scale import (
    add_run_arguments,
    ensure_data,
    run_notebook,
    run_pipeline,
    slowest_nodes,
    stage_times,
    waited_on,
)
from segmentation.cli.command_line import description

log = logging.getLogger(__name__)

LOAD_GLOB = "orders_*.parquet"
def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def split_loads(data: Path, out_dir: Path) -> list[Path]:
    """`data` split into load files in `out_dir`, in time order: one per calendar month of
    `ordered_at` before the last day in the data, and one for the last day. Each file is named
    by the first day it covers (`orders_<YYYY-MM-DD>.parquet`; a month's is its 1st), so names
    sort in time order: the pipeline reads files in name order, and with `orders_2025-12` for a
    month the day `orders_2025-12-31` would sort before it. Lines keep their order; each file is
    written with the source's Arrow schema (columns, types, nullability) by the writer the demo
    data uses. DuckDB selects one load at a time, so at most a month's lines are held."""
    schema = pq.read_schema(data)
    source = f"read_parquet({_sql_string(str(data))})"
    out_dir.mkdir(parents=True)
    files, written = [], 0
    with duckdb.connect() as con:
        total, last_day = con.execute(
            f"select count(*), cast(max(ordered_at) as date) from {source}").fetchone()
        months = [month for (month,) in con.execute(
            f"select distinct cast(date_trunc('month', ordered_at) as date) from {source} "
            f"where ordered_at < date '{last_day}' order by 1").fetchall()]
        bounds = [(month, min(_next_month(month), last_day)) for month in months] + [(last_day, None)]
        for first, end in bounds:
            until = f" and ordered_at < date '{end}'" if end else ""
            query = f"select * from {source} where ordered_at >= date '{first}'{until}"
            lines = con.sql(query).to_arrow_table()
            files.append(out_dir / f"orders_{first:%Y-%m-%d}.parquet")
            pq.write_table(lines.cast(schema), files[-1])
            written += lines.num_rows
    if written != total:
        raise ValueError(f"splitting {data} into loads kept {written:,} of its {total:,} lines "
                         "(lines without ordered_at belong to no load)")
    return files


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def ensure_loads(data: Path) -> list[Path]:
    """The load files of `data` (split_loads), made once into `loads/` beside it."""
    out_dir = data.with_name("loads")
    if not out_dir.exists():
        started = time.perf_counter()
        partial = data.with_name("partial_loads")
        shutil.rmtree(partial, ignore_errors=True)
        split_loads(data, partial)
        partial.rename(out_dir)
        log.info("split %s into %s in %.1fs", data, out_dir, time.perf_counter() - started)
    return sorted(out_dir.glob(LOAD_GLOB))


def timed_build(orders: Path, workdir: Path, extra_vars: dict | None = None) -> BuildResult:
    """`dbt build` on the files `orders` (a glob) matches, in the warehouse under `workdir`,
    with its stage times, peak RSS and the files and lines it read."""
    load_average = [os.getloadavg()[0]]
    wall, peak_mib, db = run_pipeline(orders, workdir, extra_vars)
    load_average.append(os.getloadavg()[0])
    target = workdir / "target"
    stages, pipeline = stage_times(target)
    invocation = json.loads((target / "run_results.json").read_text())["metadata"]["invocation_id"]
    with duckdb.connect(str(db), read_only=True) as con:
        files = [f for (f,) in con.execute(
            "select source_file from int_input_files where first_read_in_run = ?", [invocation]).fetchall()]
        lines = con.execute("select count(*) from read_parquet(?)", [files]).fetchone()[0] if files else 0
    log.info("%s: pipeline %.1fs (dbt wall %.1fs), peak RSS %.0f MiB, %d files / %d lines read",
             workdir.name, pipeline, wall, peak_mib, len(files), lines)
    return BuildResult(wall, pipeline, stages, peak_mib, len(files), lines, slowest_nodes(target),
                       load_average, waited_on(target))


def link_files(files: Sequence[Path], directory: Path) -> None:
    """Symbolic links to `files` in `directory`: the files a build's glob sees, added one by one."""
    directory.mkdir(parents=True, exist_ok=True)
    for file in files:
        (directory / file.name).symlink_to(file)


def registered_files(db: Path) -> list[tuple]:
    """The files a warehouse's registry holds, by name (not directory), size and time."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select parse_filename(source_file), size_bytes, modified_at "
                           "from int_input_files order by all").fetchall()


def differences(daily_db: Path, scratch_db: Path, temp_dir: Path) -> dict[str, int]:
    """Per AGREEMENT_QUERIES, the rows found in only one of the two warehouses (EXCEPT ALL both
    ways, both attached read-only): 0 everywhere when they agree row for row."""
    config = {"threads": int(os.environ.get("SEGMENTATION_DUCKDB_THREADS", "2")),
              "memory_limit": os.environ.get("SEGMENTATION_DUCKDB_MEMORY_LIMIT", "4GB"),
              "temp_directory": str(temp_dir)}
    found = {}
    with duckdb.connect(config=config) as con:
        con.execute(f"attach {_sql_string(str(daily_db))} as daily (read_only)")
        con.execute(f"attach {_sql_string(str(scratch_db))} as scratch (read_only)")
        for name, query in AGREEMENT_QUERIES.items():
            daily, scratch = query.format(w="daily.main"), query.format(w="scratch.main")
            found[name] = con.execute(
                f"select (select count(*) from ({daily} except all {scratch})) "
                f"+ (select count(*) from ({scratch} except all {daily}))").fetchone()[0]
    return found


def notebook_seconds(customers: int, data: Path, k: int, workdir: Path, saved: Path | None,
                     up_to: int) -> tuple[float | None, str]:
    """The notebook's time on this size's data and where it comes from: the main benchmark's
    results (`saved`, the same `make bench`) when they hold it, else a run here up to `up_to`
    customers."""
    if saved and saved.exists():
        main_run = json.loads(saved.read_text())
        for result in main_run["results"]:
            if result["customers"] == customers and result["notebook"]:
                source = f"the main benchmark's run (`{main_run['command']}`)"
                return result["notebook"]["total_seconds"], source
    if customers > up_to:
        return None, f"not run (more than --notebook-up-to {up_to:,} customers)"
    return run_notebook(data, k, workdir)["total_seconds"], "run by this benchmark on the same data"


def benchmark_size(customers: int, data_dir: Path, work_dir: Path, notebook_from: Path | None,
                   notebook_up_to: int) -> DailyResult:
    """Every daily-build measurement at one size."""
    result = DailyResult(customers)
    data, _ = ensure_data(customers, data_dir)
    loads = ensure_loads(data)
    history, day = loads[:-1], loads[-1]
    result.load_files = [f.name for f in loads]
    with duckdb.connect() as con:
        result.order_lines, result.day_lines = (
            con.execute("select count(*) from read_parquet(?)", [str(f)]).fetchone()[0] for f in (data, day))
    root = work_dir / "daily" / f"customers_{customers}"
    shutil.rmtree(root, ignore_errors=True)
    dirs = {"scratch": root / "scratch", "daily score": root / "daily_score", "daily fit": root / "daily_fit"}

    log.info("%d customers, %d lines in %d files: dbt build from scratch", customers,
             result.order_lines, len(loads))
    result.builds["scratch"] = timed_build(day.parent / LOAD_GLOB, dirs["scratch"])

    inputs = root / "inputs"
    link_files(history, inputs)
    log.info("%d customers: the history's build (untimed)", customers)
    run_pipeline(inputs / LOAD_GLOB, dirs["daily score"])
    shutil.copytree(dirs["daily score"], dirs["daily fit"], symlinks=True)
    link_files([day], inputs)
    for name, extra_vars in DAILY_VARS.items():
        log.info("%d customers: %s build with %s", customers, name, day.name)
        result.builds[name] = timed_build(inputs / LOAD_GLOB, dirs[name], extra_vars)

    dbs = {name: path / "segmentation.duckdb" for name, path in dirs.items()}
    registries = [registered_files(db) for db in dbs.values()]
    result.same_files = all(r == registries[0] for r in registries) and len(registries[0]) == len(loads)
    for name in DAILY_VARS:
        result.differences[name] = differences(dbs[name], dbs["scratch"], root / "compare_tmp")
    with duckdb.connect(str(dbs["scratch"]), read_only=True) as con:
        k = con.execute("select k from fct_segment_model_runs where is_latest").fetchone()[0]
    result.notebook_seconds, result.notebook_source = notebook_seconds(
        customers, data, k, root, notebook_from, notebook_up_to)
    return result


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m segmentation.benchmark.daily`."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    add_run_arguments(parser, results="daily_results.json",
                      section="the report whose Daily builds section is (re)written")
    parser.add_argument("--notebook-from", type=Path,
                        help="the main benchmark's results.json of the same run: its notebook times")
    parser.add_argument("--notebook-up-to", type=int, default=1_000_000,
                        help="without a notebook time from --notebook-from, run the notebook up to this size")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    saved_path = args.work_dir / "daily_results.json"
    if args.report_only:
        if not saved_path.exists():
            raise SystemExit(f"benchmark_daily: no earlier run to report: {saved_path} does not exist "
                             "(run the benchmark first, or point --work-dir at a run's folder)")
        saved = json.loads(saved_path.read_text())
        results = [DailyResult.from_dict(r) for r in saved["results"]]
        write_daily_section(results, args.out, saved["command"], saved["finished_at"])
        return
    command = args.command or " ".join(["python -m segmentation.benchmark.daily", *(argv or sys.argv[1:])])
    results = []
    for customers in (int(s) for s in args.sizes.split(",")):
        results.append(benchmark_size(customers, args.data_dir, args.work_dir, args.notebook_from,
                                      args.notebook_up_to))
        finished_at = datetime.now().isoformat(timespec="seconds")
        saved_path.write_text(json.dumps({"command": command, "finished_at": finished_at,
                                          "results": [asdict(r) for r in results]}, indent=1))
        write_daily_section(results, args.out, command, finished_at)
    disagreeing = [r.customers for r in results if not r.agrees]
    if disagreeing:
        raise SystemExit(f"daily builds disagree with the build from scratch at {disagreeing} customers: "
                         f"see the Daily builds section of {args.out}")


if __name__ == "__main__":
    main()
