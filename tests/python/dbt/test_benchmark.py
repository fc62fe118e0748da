"""The scale benchmark's harness at a tiny size, so `make bench` cannot rot."""

from __future__ import annotations

import json
import re

from segmentation.benchmark.results import STAGES
from segmentation.benchmark.scale import main


def test_benchmark_writes_the_report_at_a_tiny_size(tmp_path):
    out = tmp_path / "docs" / "benchmarks.md"
    main(["--sizes", "300", "--data-dir", str(tmp_path / "data"), "--work-dir", str(tmp_path / "work"),
          "--out", str(out), "--notebook-up-to", "300"])
    text = out.read_text()
    for stage in STAGES:
        assert f"| {stage} |" in text
    assert "| **ours ÷ notebook** |" in text and "## Targets" in text
    assert (out.parent / "benchmarks_time.png").read_bytes()[:4] == b"\x89PNG"
    [result] = json.loads((tmp_path / "work" / "results.json").read_text())["results"]
    assert result["customers"] == 300 and result["order_lines"] > 300
    assert result["dbt_peak_rss_mib"] > 50 and result["notebook"]["peak_rss_mib"] > 50
    assert 0 < result["pipeline_seconds"] < result["dbt_wall_seconds"]
    assert result["stage_seconds"]["sweep"] > 0 and result["stage_seconds"]["tests"] > 0
    assert 0.5 < result["ari"] <= 1 and result["notebook"]["k"] == result["chosen_k"]
    # a long build shows where it is: the sweep logs its sample and every k through dbt's logger
    dbt_log = (tmp_path / "work" / "customers_300" / "dbt_output.log").read_text()
    assert "segmentation: k sweep over k=1..10 on 300 of 300 sampled customers" in dbt_log
    assert "segmentation: k=10 inertia=" in dbt_log and "segmentation: silhouettes of k=1..10" in dbt_log
    assert "## Where the time goes" in text and re.search(r"- 300 customers: \w+ \d+\.\d, ", text)
    assert len(result["load_average"]) == 2
    # the report can be rewritten from the saved results alone
    out.unlink()
    main(["--report-only", "--work-dir", str(tmp_path / "work"), "--out", str(out)])
    assert out.read_text() == text
