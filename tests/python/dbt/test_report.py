"""The HTML report: built from the marts, opened in headless Chromium with the network cut off.

What the report says is checked against the marts it reads: the data period, the currency, the
lines not used by reason, the top customers of each segment, the movements between runs.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from conftest import ROOT, run_dbt
from segmentation.cli.report import TOP_CUSTOMERS, build_report, write_report
from segmentation.demo.data import generate

SCREENSHOT = ROOT / "docs" / "report.png"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  # WebGL (the 3-D scatter) on the CPU when there is no GPU
                  "--enable-unsafe-swiftshader"]
CHART_STATE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => ({
    id: div.id,
    svg: div.querySelectorAll('svg.main-svg').length,
    marks: div.querySelectorAll('.trace, .point, .hm, .sankey-node, .slice').length,
    gl: Array.from(div.querySelectorAll('canvas')).some(c => c.width > 0 && c.height > 0),
    three_d: (div.data || []).some(trace => trace.type === 'scatter3d'),
}))"""
# Where each chart's toolbar (modebar) is, and what it must not cover: the legend, a colour
# bar, the data area of every subplot, 3-D scene and Sankey.
TOOLBAR_STATE = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => {
    const box = el => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
    const boxes = sel => Array.from(div.querySelectorAll(sel)).map(box)
        .filter(([left, top, right, bottom]) => right > left && bottom > top);
    return {id: div.id, toolbar: boxes('.modebar'),
            covered: boxes('.legend, .colorbar, .nsewdrag, .sankey, .gl-container > div')};
})"""
TABLES = """() => Object.fromEntries(Array.from(document.querySelectorAll('table[id]')).map(table =>
    [table.id, Array.from(table.querySelectorAll('tbody tr'))
        .map(tr => Array.from(tr.cells).map(td => td.innerText.trim()))]))"""
HEADERS = """() => Array.from(document.querySelectorAll('th'))
    .map(th => th.innerText.replace(/\\s+/g, ' ').trim())"""
# money labels of the charts: axis titles, and the heatmap's column labels
CHART_LABELS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(div => [
    ...Object.values(div.layout.scene || {}).map(axis => axis && axis.title && axis.title.text),
    ...(div.data || []).filter(trace => trace.type === 'heatmap').flatMap(trace => trace.x),
].filter(Boolean).map(label => label.replace(/<br>/g, ' ')))"""
MONEY = re.compile(r"^(?!share).*(revenue|spending|order value|returned value)", re.IGNORECASE)  # not shares


@dataclass
class Rendered:
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    toolbars: list[dict] = field(default_factory=list)
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    headers: list[str] = field(default_factory=list)
    chart_labels: list[str] = field(default_factory=list)
    text: str = ""


def _chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it")
        pytest.skip("chromium not installed (`make test` installs it)")
    return path


def render(page_file: Path, screenshot: Path | None = None) -> Rendered:
    """Open `page_file` in headless Chromium with the network blocked; what it logged and drew."""
    seen = Rendered()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console",
                    lambda msg: seen.console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda err: seen.console_errors.append(str(err)))

            def only_local(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    seen.outside_requests.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(page_file.resolve().as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 0")
            page.wait_for_timeout(1500)  # let WebGL draw the 3-D scene
            seen.charts = page.evaluate(CHART_STATE)
            seen.toolbars = page.evaluate(TOOLBAR_STATE)
            seen.tables = page.evaluate(TABLES)
            seen.headers = page.evaluate(HEADERS)
            seen.chart_labels = page.evaluate(CHART_LABELS)
            seen.text = page.inner_text("body")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


@pytest.fixture(scope="module")
def demo_report(demo_build) -> Path:
    return write_report(demo_build.db, demo_build.db.parent / "report.html")


def _assert_charts_drawn(seen: Rendered, expected: int) -> None:
    assert not seen.console_errors, seen.console_errors
    assert not seen.outside_requests, f"the report needs the network: {seen.outside_requests}"
    assert len(seen.charts) == expected, seen.charts
    for chart in seen.charts:
        assert chart["svg"] > 0 and (chart["marks"] > 0 or chart["gl"]), f"empty chart: {chart}"
    scenes = [c for c in seen.charts if c["three_d"]]
    assert len(scenes) == 1 and scenes[0]["gl"], f"the 3-D scatter did not draw: {seen.charts}"
    _assert_toolbars_cover_nothing(seen)


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _assert_toolbars_cover_nothing(seen: Rendered) -> None:
    """Plotly's toolbar sits over the top right of the chart: it must not hide a legend or data."""
    assert len(seen.toolbars) == len(seen.charts), seen.toolbars
    for chart in seen.toolbars:
        assert chart["toolbar"] and chart["covered"], chart
        covered = [box for box in chart["covered"] for bar in chart["toolbar"] if _overlap(bar, box)]
        assert not covered, f"{chart['id']}: the toolbar {chart['toolbar']} covers {covered}"


def _latest_run(db: Path) -> tuple:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select cast(first_ordered_at as date), cast(last_ordered_at as date), currency, "
                           "input_lines, valid_lines from fct_segment_model_runs where is_latest").fetchone()


def _assert_header_and_money(seen: Rendered, db: Path) -> None:
    """The header names the data period and the currency; every money column names the currency."""
    first, last, currency, _, _ = _latest_run(db)
    assert f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" in seen.text
    assert f"Currency\n{currency}" in seen.text
    money = [label for label in seen.headers + seen.chart_labels if MONEY.search(label)]
    assert len(money) >= 4, (seen.headers, seen.chart_labels)  # segments, top customers, scatter, heatmap
    assert all(currency in label for label in money), money


def _assert_unused_lines(seen: Rendered, db: Path) -> None:
    """How many input lines were not used, and why: the rejected lines by reason."""
    _, _, _, input_lines, valid_lines = _latest_run(db)
    with duckdb.connect(str(db), read_only=True) as con:
        reasons = con.execute("select rejection_reason, count(*) from fct_rejected_order_lines "
                              "group by 1 order by 2 desc, 1").fetchall()
    assert sum(count for _, count in reasons) == input_lines - valid_lines
    assert f"{input_lines - valid_lines:,} of {input_lines:,} input lines" in seen.text
    shown = [(reason, int(count.replace(",", "")))
             for reason, count, _ in seen.tables.get("unused-lines", [])]
    assert shown == reasons


def _assert_top_customers(seen: Rendered, db: Path) -> None:
    """Each segment's top customers by net spending, as dim_customers ranks them."""
    with duckdb.connect(str(db), read_only=True) as con:
        expected = con.execute(f"""
            select segment_name, customer_id, net_spending from dim_customers
            qualify row_number() over (partition by segment_id order by net_spending desc, customer_id)
                <= {TOP_CUSTOMERS}
            order by segment_id, net_spending desc, customer_id""").fetchall()
    shown = [(row[0], row[2], row[4]) for row in seen.tables["top-customers"]]
    assert shown == [(name, customer, f"{spending:,.0f}") for name, customer, spending in expected]


def test_report_renders_in_headless_chromium(demo_build, demo_report):
    """No console errors, no network, every chart drawn and clear of the toolbar; the header,
    the money columns, the lines not used and the top customers as the marts hold them."""
    seen = render(demo_report)
    _assert_charts_drawn(seen, expected=4)  # shares, 3-D scatter, profile heatmap, elbow
    for name in ("Heavy returners", "Loyal high spenders", "One-order newcomers", "Regulars"):
        assert name in seen.text
    assert "4 (chosen by elbow)" in seen.text
    assert "No previous run" in seen.text
    _assert_header_and_money(seen, demo_build.db)
    _assert_unused_lines(seen, demo_build.db)
    _assert_top_customers(seen, demo_build.db)


def test_report_names_the_currency_it_is_given(demo_build, tmp_path):
    """The currency comes from the run registry (var currency), not from the report."""
    db = tmp_path / "segmentation.duckdb"
    shutil.copy(demo_build.db, db)
    with duckdb.connect(str(db)) as con:
        before = con.execute("select currency from fct_segment_model_runs where is_latest").fetchone()[0]
        con.execute("update fct_segment_model_runs set currency = 'EUR'")
    document = build_report(db)
    assert "EUR" in document and f"({before})" not in document


def test_a_run_log_stored_before_the_data_period_and_currency_gets_them(tmp_path):
    """A warehouse built before the run registry recorded the data period and the currency: the
    next build appends the columns (null on old runs) and the report shows the new run's."""
    orders, _ = generate(300, 7, tmp_path / "order_lines.parquet")
    orders_vars = {"orders_format": "demo", "orders_path": str(orders)}
    first = run_dbt(tmp_path / "build", "build", vars=orders_vars)
    with duckdb.connect(str(first.db)) as con:
        for column in ("first_ordered_at", "last_ordered_at", "currency"):
            con.execute(f"alter table int_segment_run_log drop column {column}")
    run_dbt(tmp_path / "build", "build", vars={**orders_vars, "currency": "EUR"})
    runs = first.query(
        "select currency, first_ordered_at is null from fct_segment_model_runs order by run_at")
    assert runs == [(None, True), ("EUR", False)]
    assert "EUR (every amount of money" in build_report(first.db)


def test_report_on_real_data_says_which_lines_were_not_used(online_retail_build, tmp_path):
    """On the UCI file (a quarter of its lines unused: guests, duplicates, non-products) the
    report lists the unused lines by reason, and the period and currency of the data."""
    seen = render(write_report(online_retail_build.db, tmp_path / "report.html"))
    _assert_charts_drawn(seen, expected=4)
    _assert_header_and_money(seen, online_retail_build.db)
    _assert_unused_lines(seen, online_retail_build.db)
    _assert_top_customers(seen, online_retail_build.db)


def _comparisons(db: Path) -> dict[str, tuple[str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {comparison: (from_run, to_run) for comparison, from_run, to_run in con.execute(
            "select distinct comparison, from_run_id, to_run_id from fct_segment_transitions").fetchall()}


def test_report_states_the_run_and_draws_the_movements(demo_runs, tmp_path):
    """After fit, fit, score, fit the report names the latest run and draws the movements since
    the last build (the score) and since the last fit; its screenshot is the README's picture."""
    db, run_ids, _ = demo_runs
    seen = render(write_report(db, tmp_path / "report.html"), SCREENSHOT)
    _assert_charts_drawn(seen, expected=6)  # and a Sankey per comparison
    assert run_ids[-1] in seen.text and "(fit build, scored with a new fit)" in seen.text
    assert "demo: " in seen.text and "order_lines.parquet" in seen.text
    assert "No previous run" not in seen.text
    comparisons = _comparisons(db)
    assert comparisons["since_last_build"] == (run_ids[-2], run_ids[-1])
    assert comparisons["since_last_fit"] == (run_ids[-3], run_ids[-1])
    for heading, (from_run, to_run) in (("Since the last fit", comparisons["since_last_fit"]),
                                        ("Since the last build", comparisons["since_last_build"])):
        assert f"{heading}: from run {from_run} to run {to_run}" in seen.text
    sankeys = [c for c in seen.charts if c["id"] in ("chart-movements-since_last_fit",
                                                     "chart-movements-since_last_build")]
    assert len(sankeys) == 2 and all(c["marks"] for c in sankeys), seen.charts
    _assert_header_and_money(seen, db)
    assert SCREENSHOT.stat().st_size > 50_000
