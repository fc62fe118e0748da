"""The command-line tools behave like tools: every flag says what it does, and a missing input is
one line, not a traceback."""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from conftest import ROOT

TOOLS = ["cli.build", "cli.summary", "cli.report", "demo.data", "benchmark.scale", "benchmark.daily"]
# The name each benchmark gives itself in its messages
BENCHMARKS = {"benchmark.scale": "benchmark", "benchmark.daily": "benchmark_daily"}


@pytest.mark.parametrize("tool", TOOLS)
def test_every_flag_has_help_text(tool):
    parser = importlib.import_module(f"segmentation.{tool}").parser()
    assert parser.description
    undocumented = [action.option_strings or action.dest for action in parser._actions
                    if not action.help or action.help == argparse.SUPPRESS]
    assert undocumented == []


@pytest.mark.parametrize("tool", BENCHMARKS)
def test_report_only_without_an_earlier_run_says_so_in_one_line(tool, tmp_path):
    run = subprocess.run([sys.executable, "-m", f"segmentation.{tool}", "--report-only",
                          "--work-dir", str(tmp_path / "none"), "--out", str(tmp_path / "out.md")],
                         cwd=ROOT, capture_output=True, text=True)
    saved = tmp_path / "none" / ("daily_results.json" if tool == "benchmark.daily" else "results.json")
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"{BENCHMARKS[tool]}: no earlier run to report: {saved} does not exist (run the benchmark first, "
        "or point --work-dir at a run's folder)"]
    assert not (tmp_path / "out.md").exists()
