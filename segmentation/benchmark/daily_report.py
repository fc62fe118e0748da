"""The "Daily builds" section of docs/benchmarks.md, from segmentation/benchmark/daily.py's results.

The section sits between two markers (scale_report.DAILY_START, DAILY_END), so this benchmark
and the main one, which keeps the marked block when it rewrites the file, can each be re-run alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from segmentation.benchmark.results import (
    AGREEMENT_QUERIES,
    BUILDS,
    DAILY_VARS,
    STAGES,
    BuildResult,
    DailyResult,
)
from segmentation.benchmark.scale_report import DAILY_END, DAILY_START, MAX_NOTEBOOK_SHARE, _met, _row

log = logging.getLogger(__name__)

MAX_SHARE_OF_SCRATCH = 0.10  # a daily build in at most a tenth of the from-scratch build's wall time
REREAD_SHARE = 0.25  # above this share, some step still re-reads all history
MAX_DAILY_PEAK_RSS_MIB = 4 * 1024
SCRATCH_TARGET_CUSTOMERS = 10_000_000
NOTEBOOK_TARGET_CUSTOMERS = 1_000_000
WAIT_SHOWN = 0.5  # seconds: shorter nodes of a build's critical path are counted, not named


def _startup(build: BuildResult) -> str:
    """dbt's start-up (wall time less the span of the nodes' timestamps); negative only when the
    machine's clock stepped during the build, which inflates its stage seconds: said so."""
    seconds = f"{build.startup_seconds:.1f}"
    return seconds if build.startup_seconds >= 0 else \
        f"{seconds} (**the clock stepped during this build: its stage seconds are not reliable**)"


def _per_build(results: Sequence[DailyResult], cell: Callable[[BuildResult], str]) -> list[str]:
    """One cell per size: `cell` of each build, scratch / daily score / daily fit."""
    return [" / ".join(cell(r.builds[name]) for name in BUILDS) for r in results]


def _share(r: DailyResult, name: str, seconds: Callable[[BuildResult], float]) -> float:
    return seconds(r.builds[name]) / seconds(r.builds["scratch"])


def _shares(results: Sequence[DailyResult], seconds: Callable[[BuildResult], float]) -> list[str]:
    return ["- / " + " / ".join(f"{_share(r, name, seconds):.2f}" for name in DAILY_VARS) for r in results]


def _agreement(r: DailyResult) -> str:
    found = "; ".join(f"{name}: " + ", ".join(f"{n:,}" for n in r.differences[name].values())
                      for name in DAILY_VARS)
    return ("agree" if r.agrees else "**DISAGREE**") + f" ({found})"


def _load_names(names: Sequence[str]) -> str:
    """The first and last history files and the day's, as the method's example."""
    return f"`{names[0]}` ... `{names[-2]}`, then `{names[-1]}`"


def daily_section(results: Sequence[DailyResult], command: str, finished_at: str,
                  notes: str | None = None) -> str:
    """The section's Markdown, every number from `results`, then `notes` (the hand-written
    analysis of a run) when given."""
    cols = " | ".join(f"{r.customers:,} customers" for r in results)
    md = [
        "## Daily builds",
        "",
        f"Written by `segmentation/benchmark/daily.py` from a real run (`{command}`, finished "
        f"{finished_at}); `python -m segmentation.benchmark.daily --report-only` rewrites it.",
        "",
        "Each size's demo file is split into load files: one per calendar month of history before "
        "the last day in the data, and the last day's lines, each named by the first day it "
        f"covers ({_load_names(results[0].load_files)}), so that names sort in time order. Three "
        "`dbt build`s, each in its own warehouse, with `orders_path` a glob of a directory's "
        "`orders_*.parquet`:",
        "",
        "- *scratch*: all the files at once, fit mode; what the daily builds are compared with;",
        "- *daily score*: a warehouse built on the history files alone (untimed), then the day's "
        "file added and `dbt build --vars '{segmentation_mode: score}'`;",
        "- *daily fit*: a copy of that warehouse, the day's file added, a plain `dbt build` (fit "
        "mode, the default).",
        "",
        "Stage seconds are dbt nodes' execution times summed per stage, as in the table above.",
        "",
        f"| | {cols} |",
        "|" + "|".join(["---"] * (len(results) + 1)) + "|",
        _row("order lines (all files)", (f"{r.order_lines:,}" for r in results)),
        _row("load files: history months + the day", (f"{len(r.load_files) - 1} + 1" for r in results)),
        _row("lines in the day's file",
             (f"{r.day_lines:,} ({r.day_lines / r.order_lines:.2%})" for r in results)),
        _row("**seconds per stage: scratch / daily score / daily fit**", ("" for _ in results)),
    ]
    for stage in STAGES:
        md.append(_row(stage, _per_build(
            results, lambda b, stage=stage: f"{b.stage_seconds.get(stage, 0.0):.1f}")))
    md += [
        _row("**pipeline**", _per_build(results, lambda b: f"{b.pipeline_seconds:.1f}")),
        _row("dbt start-up", _per_build(results, _startup)),
        _row("**dbt wall time**", _per_build(results, lambda b: f"{b.dbt_wall_seconds:.1f}")),
        _row("peak RSS of dbt (MiB)", _per_build(results, lambda b: f"{b.peak_rss_mib:,.0f}")),
        _row("files read by the build", _per_build(results, lambda b: f"{b.files_read:,}")),
        _row("lines read by the build (of those files)", _per_build(results, lambda b: f"{b.lines_read:,}")),
        _row("machine load (1 min) before → after",
             _per_build(results, lambda b: "→".join(f"{load:.1f}" for load in b.load_average))),
        _row("**daily ÷ scratch, dbt wall time**", _shares(results, lambda b: b.dbt_wall_seconds)),
        _row("daily ÷ scratch, pipeline", _shares(results, lambda b: b.pipeline_seconds)),
        _row("notebook (s), and where its time comes from",
             (f"{r.notebook_seconds:.1f}: {r.notebook_source}" if r.notebook_seconds is not None
              else r.notebook_source for r in results)),
        _row("daily ÷ notebook, pipeline: - / score / fit",
             ("- / " + " / ".join(f"{r.builds[name].pipeline_seconds / r.notebook_seconds:.2f}"
                                  for name in DAILY_VARS) if r.notebook_seconds else "-" for r in results)),
        _row("the same files registered by all three builds (name, size, time)",
             ("yes" if r.same_files else "**NO**" for r in results)),
        _row("daily results equal scratch's: rows in one only (" + ", ".join(AGREEMENT_QUERIES) + ")",
             (_agreement(r) for r in results)),
        "",
        "The agreement check attaches the warehouses read-only and counts, with `EXCEPT ALL` both "
        "ways, the rows of each comparison found in only one of them: `int_customers_featurized` "
        "whole; the rejected lines by file name, line number and reason; and per file, its lines "
        "and valid lines. A score build keeps the history's model, so only the features and lines "
        "are compared, not the segments.",
        "",
        "### Where the daily time goes",
        "",
        "The slowest dbt nodes of the daily builds (seconds):",
        "",
    ]
    md += [f"- {r.customers:,} customers, {name}: "
           + ", ".join(f"{node} {seconds:.1f}" for node, seconds in r.builds[name].slowest_nodes)
           for r in results for name in DAILY_VARS]
    waits = [_waited_on(r.customers, name, r.builds[name]) for r in results for name in DAILY_VARS
             if r.builds[name].waited_on]
    if waits:
        md += ["", "What each daily build waited on: its critical path, the chain from the node that "
               f"ended last back through the node it waited for that ended last (under `dbt build` a node "
               f"waits for its parents and their tests), first to last; nodes under {WAIT_SHOWN} s are "
               "counted, not named (seconds):", "", *waits]
    md += ["", "### Targets (daily builds)", "", *_targets(results)]
    if notes:
        md += ["", notes.strip()]
    return "\n".join(md)


def _waited_on(customers: int, name: str, build: BuildResult) -> str:
    """One build's critical path as a list item: its nodes of WAIT_SHOWN seconds or more."""
    shown = [f"{node} {seconds:.1f}" for node, seconds in build.waited_on if seconds >= WAIT_SHOWN]
    short = [seconds for _, seconds in build.waited_on if seconds < WAIT_SHOWN]
    total = sum(seconds for _, seconds in build.waited_on)
    return (f"- {customers:,} customers, {name}: {len(build.waited_on)} nodes, {total:.1f} s of its "
            f"{build.pipeline_seconds:.1f} s pipeline: " + " → ".join(shown)
            + (f"; {len(short)} shorter nodes, {sum(short):.1f} s in all" if short else ""))


def _targets(results: Sequence[DailyResult]) -> list[str]:
    rows = []
    big = [r for r in results if r.customers == SCRATCH_TARGET_CUSTOMERS]
    if big:
        r = big[0]
        scratch = r.builds["scratch"].dbt_wall_seconds
        cells = []
        for name in DAILY_VARS:
            share = _share(r, name, lambda b: b.dbt_wall_seconds)
            reread = "; above 25%: some step still re-reads all history" if share > REREAD_SHARE else ""
            cells.append(f"{name} {share:.1%} ({r.builds[name].dbt_wall_seconds:.1f} s of {scratch:.1f} s), "
                         f"{_met(share <= MAX_SHARE_OF_SCRATCH)}{reread}")
        rows.append(f"- {r.customers:,} customers, the daily build in at most 10% of the from-scratch "
                    "build's wall time (dbt wall time, same run): " + "; ".join(cells) + ".")
        rows.append(f"- {r.customers:,} customers, peak RSS of the daily build under 4 GiB: "
                    + "; ".join(f"{name} {r.builds[name].peak_rss_mib:,.0f} MiB, "
                                f"{_met(r.builds[name].peak_rss_mib < MAX_DAILY_PEAK_RSS_MIB)}"
                                for name in DAILY_VARS) + ".")
    else:
        rows.append(f"- {SCRATCH_TARGET_CUSTOMERS:,} customers against the build from scratch: "
                    "not run in this benchmark.")
    million = [r for r in results if r.customers == NOTEBOOK_TARGET_CUSTOMERS]
    if million and million[0].notebook_seconds:
        r = million[0]
        cells = []
        for name in DAILY_VARS:
            build = r.builds[name]
            share = build.pipeline_seconds / r.notebook_seconds
            cells.append(f"{name} {share:.2f} of it ({build.pipeline_seconds:.1f} s of "
                         f"{r.notebook_seconds:.1f} s), {_met(share <= MAX_NOTEBOOK_SHARE)}; with dbt's "
                         f"start-up {build.dbt_wall_seconds / r.notebook_seconds:.2f}")
        rows.append(f"- {r.customers:,} customers, the daily build in at most a fifth of the notebook's "
                    "time (our pipeline against the notebook's steps, both without process start-up, "
                    f"as in the comparison above; the notebook: {r.notebook_source}): "
                    + "; ".join(cells) + "." + _floor(results, r.notebook_seconds * MAX_NOTEBOOK_SHARE))
    elif million:
        rows.append(f"- {NOTEBOOK_TARGET_CUSTOMERS:,} customers against the notebook: no notebook time "
                    f"({million[0].notebook_source}).")
    else:
        rows.append(f"- {NOTEBOOK_TARGET_CUSTOMERS:,} customers against the notebook: "
                    "not run in this benchmark.")
    for r in results:
        rows.append(f"- {r.customers:,} customers, the daily builds give the scratch build's results: "
                    + ("yes" if r.agrees else "**NO**") + (
                        "" if r.same_files else " (the builds did not register the same files)") + ".")
    return rows


def _floor(results: Sequence[DailyResult], target_seconds: float) -> str:
    """What the same daily builds cost on the smallest size run, against the 1M target: the
    project's nodes cost that much on little data, so a pipeline over it is out of reach of any
    change to how data is stored."""
    smaller = [r for r in results if r.customers < NOTEBOOK_TARGET_CUSTOMERS]
    if not smaller:
        return ""
    r = min(smaller, key=lambda result: result.customers)
    seconds = [r.builds[name].pipeline_seconds for name in DAILY_VARS]
    took = " and ".join(f"{s:.1f} s ({name})" for s, name in zip(seconds, DAILY_VARS, strict=True))
    if min(seconds) > target_seconds:
        return (f" Out of reach of this project's dbt DAG: the same daily builds on {r.customers:,} "
                f"customers take {took} of pipeline, more than the target of {target_seconds:.1f} s, "
                "on far less data.")
    return (f" The same daily builds on {r.customers:,} customers take {took} of pipeline, under the "
            f"target of {target_seconds:.1f} s.")


def with_daily_section(text: str, section: str) -> str:
    """`text` with its marked daily section replaced by `section`, or `section` appended."""
    block = f"{DAILY_START}\n{section}\n{DAILY_END}"
    if DAILY_START in text and DAILY_END in text:
        before, rest = text.split(DAILY_START, 1)
        return before + block + rest.split(DAILY_END, 1)[1]
    return (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"


def write_daily_section(results: Sequence[DailyResult], out: Path, command: str, finished_at: str) -> None:
    """The daily section written into `out` (Markdown), the rest of the file kept, with the
    hand-written analysis `<out>_daily_notes.md` (docs/benchmarks_daily_notes.md) appended to it
    when that file exists."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = out.read_text() if out.exists() else ""
    notes = out.with_name(out.stem + "_daily_notes.md")
    section = daily_section(results, command, finished_at, notes.read_text() if notes.exists() else None)
    out.write_text(with_daily_section(text, section))
    log.info("wrote the Daily builds section of %s", out)
