"""The daily-build benchmark without dbt: the split into load files and the report section."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentation.benchmark.daily import ensure_loads, main
from segmentation.benchmark.daily_report import daily_section, write_daily_section
from segmentation.benchmark.results import AGREEMENT_QUERIES, BuildResult, DailyResult, SizeResult
from segmentation.benchmark.scale import stage_times, waited_on
from segmentation.benchmark.scale_report import DAILY_END, DAILY_START, daily_section_of, write_report
from segmentation.schema import CANONICAL_ORDER_LINE

# Lines out of time order, so the test sees that each file keeps the source's order; the last
# day in the data is 2025-03-31.
ORDERED_AT = [datetime(2025, 3, 31, 8), datetime(2025, 1, 5), datetime(2025, 3, 30, 23, 59, 59),
              datetime(2025, 2, 28, 12), datetime(2025, 1, 1), datetime(2025, 3, 31, 23),
              datetime(2025, 3, 1), datetime(2025, 2, 1)]


def order_lines(ordered_at: list) -> pa.Table:
    n = len(ordered_at)
    return pa.table({
        "order_id": [f"O{i}" for i in range(1, n + 1)],
        "customer_id": [f"C{i % 3}" for i in range(n)],
        "ordered_at": ordered_at,
        "product_id": [f"P{i % 2}" for i in range(n)],
        "quantity": [i + 1 for i in range(n)],
        "unit_price": [Decimal("1.25")] * n,
        "returned_quantity": [0] * n,
    }, schema=CANONICAL_ORDER_LINE)


def test_loads_are_the_months_before_the_last_day_then_that_day_in_name_order(tmp_path):
    source = tmp_path / "order_lines.parquet"
    pq.write_table(order_lines(ORDERED_AT), source)
    files = ensure_loads(source)
    names = [f.name for f in files]
    assert names == ["orders_2025-01-01.parquet", "orders_2025-02-01.parquet",
                     "orders_2025-03-01.parquet", "orders_2025-03-31.parquet"]
    assert names == sorted(names) and all(f.parent == tmp_path / "loads" for f in files)
    parts = [pq.read_table(f) for f in files]
    assert all(part.schema.equals(pq.read_schema(source)) for part in parts)
    # each file its lines in the source's order (March's stops before the last day)
    assert [part["order_id"].to_pylist() for part in parts] == [
        ["O2", "O5"], ["O4", "O8"], ["O3", "O7"], ["O1", "O6"]]
    union = pa.concat_tables(parts).to_pylist()
    assert sorted(union, key=lambda line: line["order_id"]) == pq.read_table(source).to_pylist()
    # made once: a second call finds the files and writes nothing
    modified = [f.stat().st_mtime_ns for f in files]
    assert ensure_loads(source) == files and [f.stat().st_mtime_ns for f in files] == modified


def test_a_line_without_ordered_at_stops_the_split(tmp_path):
    source = tmp_path / "order_lines.parquet"
    pq.write_table(order_lines([*ORDERED_AT, None]), source)
    with pytest.raises(ValueError, match="kept 8 of its 9 lines"):
        ensure_loads(source)
    assert not (tmp_path / "loads").exists()


def build(wall: float, pipeline: float, peak_rss_mib: float = 1000, files: int = 1,
          lines: int = 100) -> BuildResult:
    return BuildResult(wall, pipeline, {"load": pipeline / 2, "tests": pipeline / 2}, peak_rss_mib,
                       files, lines, [["int_order_lines_validated", pipeline / 2]], [1.0, 1.5])


def daily(customers: int, scratch: BuildResult, score: BuildResult, fit: BuildResult,
          notebook_seconds: float | None = None, features_differing: int = 0) -> DailyResult:
    agreeing = dict.fromkeys(AGREEMENT_QUERIES, 0)
    fit_found = {**agreeing, "int_customers_featurized": features_differing}
    months = [f"orders_{year}-{month:02}-01.parquet" for year in (2024, 2025) for month in range(1, 13)]
    loads = [*months, "orders_2025-12-31.parquet"]
    return DailyResult(customers, order_lines=customers * 13, load_files=loads, day_lines=customers // 40,
                       builds={"scratch": scratch, "daily score": score, "daily fit": fit}, same_files=True,
                       differences={"daily score": agreeing, "daily fit": fit_found},
                       notebook_seconds=notebook_seconds, notebook_source="the main benchmark's run")


def test_the_section_says_met_or_not_met_from_the_numbers():
    results = [
        daily(25_000, build(20, 12), build(15, 6), build(25, 16), notebook_seconds=1.0, features_differing=3),
        daily(1_000_000, build(40, 32), build(8, 3), build(14, 6), notebook_seconds=20.0),
        daily(10_000_000, build(300, 290, 4600, 25, 130_000_000), build(24, 17, 3000),
              build(90, 83, 5000)),
    ]
    text = daily_section(results, "make bench", "2026-12-01T10:00:00")
    assert text.startswith("## Daily builds")
    assert ("(`orders_2024-01-01.parquet` ... `orders_2025-12-01.parquet`, then `orders_2025-12-31.parquet`)"
            in text and "| load files: history months + the day | 24 + 1 | 24 + 1 | 24 + 1 |" in text)
    assert "| load | 6.0 / 3.0 / 8.0 | 16.0 / 1.5 / 3.0 | 145.0 / 8.5 / 41.5 |" in text
    assert "| **dbt wall time** | 20.0 / 15.0 / 25.0 | 40.0 / 8.0 / 14.0 | 300.0 / 24.0 / 90.0 |" in text
    assert ("| **daily ÷ scratch, dbt wall time** | - / 0.75 / 1.25 | - / 0.20 / 0.35 | - / 0.08 / 0.30 |"
            in text)
    targets = text.split("### Targets (daily builds)")[1]
    assert ("daily score 8.0% (24.0 s of 300.0 s), **met**; daily fit 30.0% (90.0 s of 300.0 s), "
            "**not met**; above 25%: some step still re-reads all history.") in targets
    assert "daily score 3,000 MiB, **met**; daily fit 5,000 MiB, **not met**." in targets
    assert "daily score 0.15 of it (3.0 s of 20.0 s), **met**" in targets
    assert "daily fit 0.30 of it (6.0 s of 20.0 s), **not met**" in targets
    # the smallest size's daily builds (6 and 16 s of pipeline) already exceed the 4 s target
    assert ("Out of reach of this project's dbt DAG: the same daily builds on 25,000 customers take "
            "6.0 s (daily score) and 16.0 s (daily fit) of pipeline, more than the target of 4.0 s, "
            "on far less data.") in targets
    quick = [daily(25_000, build(20, 12), build(3.5, 2), build(25, 3), notebook_seconds=1.0), *results[1:]]
    quick_text = daily_section(quick, "make bench", "2026-12-01T10:00:00")
    assert ("The same daily builds on 25,000 customers take 2.0 s (daily score) and 3.0 s (daily fit) of "
            "pipeline, under the target of 4.0 s.") in quick_text and "Out of reach" not in quick_text
    assert "- 25,000 customers, the daily builds give the scratch build's results: **NO**." in targets
    assert "- 1,000,000 customers, the daily builds give the scratch build's results: yes." in targets
    assert "**DISAGREE** (daily score: 0, 0, 0; daily fit: 3, 0, 0)" in text

    assert "| dbt start-up | 8.0 / 9.0 / 9.0 |" in text
    assert "clock stepped" not in text

    small = daily_section(results[:1], "make bench", "2026-12-01T10:00:00")
    assert "- 10,000,000 customers against the build from scratch: not run in this benchmark." in small
    assert "- 1,000,000 customers against the notebook: not run in this benchmark." in small


def test_report_only_rewrites_the_section_from_the_saved_results(tmp_path):
    results = [daily(25_000, build(20, 12), build(15, 6), build(25, 16), notebook_seconds=1.0)]
    finished_at = "2026-12-01T10:00:00"
    (tmp_path / "daily_results.json").write_text(json.dumps(
        {"command": "make bench", "finished_at": finished_at, "results": [asdict(r) for r in results]}))
    out = tmp_path / "benchmarks.md"
    main(["--report-only", "--work-dir", str(tmp_path), "--out", str(out)])
    section = daily_section(results, "make bench", finished_at)
    assert out.read_text() == f"{DAILY_START}\n{section}\n{DAILY_END}\n"


def test_the_section_is_replaced_alone_and_kept_by_the_main_report(tmp_path):
    out = tmp_path / "benchmarks.md"
    one = [daily(25_000, build(20, 12), build(15, 6), build(25, 16))]
    two = [daily(50_000, build(20, 12), build(15, 6), build(25, 16))]
    out.write_text("# Benchmarks\n\nthe main report\n")
    write_daily_section(one, out, "first", "2026-12-01T10:00:00")
    write_daily_section(two, out, "second", "2026-12-01T11:00:00")
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nthe main report\n\n" + DAILY_START + "\n## Daily builds")
    assert text.count(DAILY_START) == 1 and text.endswith(DAILY_END + "\n")
    assert "50,000 customers" in text and "25,000 customers" not in text

    main_run = SizeResult(300, order_lines=4_000, dbt_wall_seconds=10.0, pipeline_seconds=5.0,
                          dbt_peak_rss_mib=300.0, bare_aggregation_seconds=0.1, chosen_k=4, sample_size=300,
                          ari=0.9, inertia_model_space=1.0, inertia_full_fit_model_space=1.0)
    write_report([main_run], out, "make bench")
    rewritten = out.read_text()
    assert "## Wall time per stage (seconds)" in rewritten and "the main report" not in rewritten
    assert daily_section_of(rewritten) == daily_section_of(text)
    assert rewritten.count(DAILY_START) == 1


def test_the_hand_written_daily_notes_follow_the_targets_inside_the_section(tmp_path):
    out = tmp_path / "benchmarks.md"
    results = [daily(25_000, build(20, 12), build(15, 6), build(25, 16))]
    write_daily_section(results, out, "make bench", "2026-12-01T10:00:00")
    assert "Why the daily" not in out.read_text()
    (tmp_path / "benchmarks_daily_notes.md").write_text("### Why the daily targets are missed\n\nmeasured\n")
    write_daily_section(results, out, "make bench", "2026-12-01T10:00:00")
    section = daily_section_of(out.read_text())
    assert section.index("### Targets (daily builds)") < section.index("### Why the daily targets are missed")
    assert section.endswith("measured\n" + DAILY_END)


def test_a_node_span_longer_than_the_wall_time_is_called_a_clock_step():
    """dbt's node timestamps are wall-clock; the harness's wall time is monotonic. A span longer
    than the wall time means the clock stepped during the build, and the report says so."""
    stepped = daily(10_000_000, build(410.4, 440.2), build(116, 102), build(118, 107))
    text = daily_section([stepped], "make bench", "2026-12-01T10:00:00")
    assert ("| dbt start-up | -29.8 (**the clock stepped during this build: its stage seconds are not "
            "reliable**) / 14.0 / 11.0 |") in text


def node_result(unique_id: str, started: float, ended: float) -> dict:
    """A run_results.json entry that compiled at `started` and executed until `ended` (seconds)."""
    def at(seconds: float) -> str:
        return f"2026-12-05T03:00:{seconds:09.6f}Z"
    return {"unique_id": unique_id, "execution_time": ended - started - 0.1,
            "timing": [{"name": "compile", "started_at": at(started), "completed_at": at(started + 0.1)},
                       {"name": "execute", "started_at": at(started + 0.1), "completed_at": at(ended)}]}


def test_the_critical_path_follows_what_each_node_waited_for_tests_of_parents_included(tmp_path):
    """stg -> wide (its test long) -> mart, beside a long model that ends before the mart starts
    but that the mart does not read; an on-run-end hook ends last. The mart waited for the test
    of its parent, which waited for its model, which waited for stg."""
    def node(kind: str, name: str, *parents: str) -> tuple[str, dict]:
        depends_on = {"nodes": [f"model.p.{parent}" for parent in parents]}
        return f"{kind}.p.{name}", {"resource_type": kind, "depends_on": depends_on}
    manifest = dict([node("model", "stg"), node("model", "wide", "stg"), node("test", "unique_wide", "wide"),
                     node("model", "lonely", "stg"), node("model", "mart", "wide"),
                     node("operation", "on-run-end-0")])
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": manifest}))
    results = [node_result("model.p.stg", 0, 1), node_result("model.p.wide", 1, 3),
               node_result("model.p.lonely", 1, 8), node_result("test.p.unique_wide", 3, 7.5),
               node_result("model.p.mart", 8, 9), node_result("operation.p.on-run-end-0", 9, 9.5)]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    assert waited_on(tmp_path) == [("stg", 0.9), ("wide", 1.9), ("unique_wide", 4.4), ("mart", 0.9)]


def test_stage_seconds_sum_each_stages_nodes_and_the_pipeline_spans_every_node_that_ran(tmp_path):
    """Stages by model name, by folder, tests and hooks; an exposure (nothing runs) and a skipped
    node (no timings) add nothing; the span runs from the first start to the last end, hooks
    included."""
    def node(kind: str, name: str, folder: str = "marts") -> tuple[str, dict]:
        return f"{kind}.p.{name}", {"resource_type": kind, "name": name, "depends_on": {"nodes": []},
                                    "original_file_path": f"models/{folder}/{name}.sql"}
    manifest = dict([node("model", "int_order_lines_validated", "intermediate"),
                     node("model", "dim_customers"), node("model", "stg_orders", "staging"),
                     node("test", "unique_dim_customers_id"), node("model", "fct_skipped"),
                     node("operation", "on-run-end-0")])
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": manifest}))
    results = [node_result("operation.p.on-run-end-0", 0, 0.5), node_result("model.p.stg_orders", 1, 2),
               node_result("model.p.int_order_lines_validated", 2, 5),
               node_result("model.p.dim_customers", 5, 6),
               node_result("test.p.unique_dim_customers_id", 6, 6.5),
               {"unique_id": "model.p.fct_skipped", "execution_time": 0, "timing": []},
               {"unique_id": "exposure.p.dashboard", "execution_time": 0, "timing": []}]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": results}))
    stages, pipeline = stage_times(tmp_path)
    assert {stage: round(seconds, 2) for stage, seconds in stages.items() if seconds} == {
        "hooks": 0.4, "load": 0.9 + 2.9, "marts": 0.9, "tests": 0.4}
    assert pipeline == 6.5


def test_the_section_names_the_critical_paths_long_nodes_and_counts_the_others():
    waiting = build(20, 6)
    waiting.waited_on = [["stg", 0.2], ["int_order_lines_validated", 2.0], ["unique_x", 0.1],
                         ["publish_marts", 1.5]]
    text = daily_section([daily(1_000_000, build(40, 32), waiting, build(14, 6), notebook_seconds=20.0)],
                         "make bench", "2026-12-01T10:00:00")
    assert ("- 1,000,000 customers, daily score: 4 nodes, 3.8 s of its 6.0 s pipeline: "
            "int_order_lines_validated 2.0 → publish_marts 1.5; 2 shorter nodes, 0.3 s in all") in text
    assert "1,000,000 customers, daily fit:" not in text.split("What each daily build waited on")[1]
