"""The Superset dashboards: built on the demo build's published folder, served by Superset, and
opened in headless Chromium with the network cut off."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import sync_playwright
from test_report import CHROMIUM_FLAGS, _chromium

from conftest import ROOT

SCREENSHOT = ROOT / "docs" / "dashboard.png"
SUPERSET_BIN = ROOT / ".venv-superset" / "bin"
# Superset's prebuilt frontend shows a usage pixel in its menu bar; it can only be left out when
# building the frontend (SCARF_ANALYTICS=false). The test answers it locally and allows nothing else.
PIXEL_HOST = "apachesuperset.gateway.scarf.sh"


def _superset_python() -> Path:
    python = SUPERSET_BIN / "python"
    if not python.exists():
        if os.environ.get("CI"):
            pytest.fail("Superset is missing: `make test` installs it (make install-dashboard)")
        pytest.skip("Superset not installed (`make install-dashboard`)")
    return python


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(demo_build, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`make dashboard` on the demo build, then Superset serving it: (its URL, the published folder)."""
    python = _superset_python()
    published = demo_build.db.parent / "published"
    home = tmp_path_factory.mktemp("dashboard")
    env = {**os.environ, "SUPERSET_CONFIG_PATH": str(ROOT / "dashboard" / "superset_config.py"),
           "SEGMENTATION_DASHBOARD_HOME": str(home)}
    built = subprocess.run([str(python), str(ROOT / "dashboard" / "build_dashboard.py"),
                            "--published", str(published)], cwd=ROOT, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-4000:]
    port = _free_port()
    log = (home / "server.log").open("w")
    server = subprocess.Popen([str(SUPERSET_BIN / "superset"), "run", "-h", "127.0.0.1", "-p", str(port),
                               "--with-threads"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError as err:
                if server.poll() is not None or time.monotonic() > deadline:
                    started = (home / "server.log").read_text()[-4000:]
                    raise AssertionError(f"Superset did not start:\n{started}") from err
                time.sleep(1)
        yield url, published
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _expected(published: Path) -> dict[str, list[str]]:
    """Per dashboard, values queried from the published marts that must appear on it."""
    with duckdb.connect(str(published / "segmentation.duckdb"), read_only=True) as con:
        def one(sql: str) -> str:
            return str(con.execute(sql).fetchone()[0])

        segments = con.execute(
            "select segment_id, segment_name, customers from dim_segment_profiles").fetchall()
        expected = {"segments": [str(customers) for _, _, customers in segments]
                    + [name for _, name, _ in segments]}
        for segment_id, name, customers in segments:
            top = one(f"select customer_id from dim_customers where segment_id = {segment_id} "
                      "order by net_spending desc limit 1")
            # the profile is long form: the last declared feature shows (every one does)
            feature = one("select feature from dim_segment_feature_profiles "
                          f"where segment_id = {segment_id} order by feature_position desc limit 1")
            expected[f"segment-{segment_id}"] = [name, str(customers), top, feature, "overall_median_value"]
        expected["movements"] = [one("select run_id from fct_segment_history where is_latest_run limit 1")]
        expected["choosing-k"] = [one("select sample_size from fct_segment_k_sweep where is_chosen")]
        expected["rejected-lines"] = [one("select input_lines from fct_segment_model_runs where is_latest")]
    return expected


def _money(published: Path) -> tuple[str, list[float]]:
    """The latest run's currency and every segment's net revenue."""
    with duckdb.connect(str(published / "segmentation.duckdb"), read_only=True) as con:
        currency = con.execute("select currency from fct_segment_model_runs where is_latest").fetchone()[0]
        rows = con.execute("select net_revenue from dim_segment_profiles").fetchall()
        revenue = [float(value) for value, in rows]
    return currency, revenue


# A screenshot of the painted segments dashboard is well over this; one of its empty grid (the
# full-page capture can catch the charts while they are laid out again) is about 30 KB.
PAINTED_BYTES = 50_000


def _screenshot_once_painted(page, path: Path, tries: int = 10) -> None:
    """A full-page screenshot, taken again (up to `tries` times, 3 s apart) while it is no
    bigger than an empty grid's; the test then asserts the last one's size."""
    for _ in range(tries):
        page.screenshot(path=str(path), full_page=True)
        if path.stat().st_size > PAINTED_BYTES:
            return
        page.wait_for_timeout(3_000)


def test_every_dashboard_renders_its_data(dashboard):
    """Each dashboard shows numbers queried from the marts, with no console error and no request
    leaving the machine; the segments dashboard is the picture in docs/bi_tools.md."""
    url, published = dashboard
    expected = _expected(published)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            outside: list[str] = []
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda err: errors.append(str(err)))

            def only_local(route):
                if route.request.url.startswith(url):
                    route.continue_()
                elif PIXEL_HOST in route.request.url:
                    route.fulfill(status=204)
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            login = page.request.post(f"{url}/login/", form={"username": "admin", "password": "admin"})
            assert login.ok and "/login" not in login.url, login.url
            for slug, values in expected.items():
                errors.clear()
                page.goto(f"{url}/superset/dashboard/{slug}/")
                for value in values:
                    page.wait_for_function("v => document.body.innerText.includes(v)", arg=value,
                                           timeout=90_000)
                page.wait_for_load_state("networkidle")
                assert not page.locator(".loading").count(), f"{slug}: a chart is still loading"
                text = page.inner_text("body")
                assert "Unexpected error" not in text and "Data error" not in text, f"{slug}: {text[:2000]}"
                assert not errors, f"{slug}: {errors}"
                if slug == "segments":
                    # money in the run's currency (var currency, GBP by default: shown as £)
                    currency, revenue = _money(published)
                    assert currency == "GBP"
                    for value in revenue:
                        assert re.search(rf"£\s?{re.escape(f'{value:,.2f}')}", text), (value, text[:3000])
                    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                    _screenshot_once_painted(page, SCREENSHOT)
        finally:
            browser.close()
    assert not outside, f"the dashboards need the network: {outside}"
    assert SCREENSHOT.stat().st_size > PAINTED_BYTES
