"""The HTML report: built from the marts, opened in headless Chromium with the network cut off."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from conftest import ROOT
from segmentation.report import write_report

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


@dataclass
class Rendered:
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
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


def test_report_renders_in_headless_chromium(demo_report):
    """No console errors, no network, every chart drawn; the screenshot is the README's picture."""
    seen = render(demo_report, SCREENSHOT)
    _assert_charts_drawn(seen, expected=4)  # shares, 3-D scatter, profile heatmap, elbow
    for name in ("Heavy returners", "Loyal high spenders", "One-order newcomers", "Regulars"):
        assert name in seen.text
    assert "4 (chosen by elbow)" in seen.text
    assert "No previous run" in seen.text
    assert SCREENSHOT.stat().st_size > 50_000


def test_report_states_the_run_and_draws_the_transitions(demo_runs, tmp_path):
    """After several builds the report names the latest run and draws the transitions."""
    db, run_ids, _ = demo_runs
    seen = render(write_report(db, tmp_path / "report.html"))
    _assert_charts_drawn(seen, expected=5)
    assert run_ids[-1] in seen.text and "(fit build, scored with a new fit)" in seen.text
    assert "demo: " in seen.text and "order_lines.parquet" in seen.text
    assert "No previous run" not in seen.text
    assert f"from their segment in run {run_ids[-2]} to their segment in run {run_ids[-1]}" in seen.text
    assert any(c["marks"] and c["id"] == "chart-5" for c in seen.charts), seen.charts
