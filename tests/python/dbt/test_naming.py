"""Segment names: the naming rules are checked before they name anything, and the default rules
give names that fit real data (lapsed one-time buyers are not newcomers).

Each broken rule set is a copy of the project with one seed edited, built in a tmp directory, so
the repository's files are never touched. Those builds select only the naming seeds, their tests
and the naming model: the check must stop the build before the naming model runs.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import DbtRun, project_copy, run_dbt

RULES = "segment_naming_rules.csv"
CONDITIONS = "segment_naming_conditions.csv"
NAMING_MODEL = "model.segmentation.int_segments_named"
Rows = list[dict[str, str]]



def _read(path: Path) -> tuple[list[str], Rows]:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


def _write(path: Path, columns: list[str], rows: Rows) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _edit(project: Path, seed: str, change: Callable[[Rows], Rows]) -> None:
    """Rewrite one seed of the copied project through `change`."""
    columns, rows = _read(project / "seeds" / seed)
    _write(project / "seeds" / seed, columns, change(rows))


def _build_naming(project: Path, workdir: Path) -> tuple[DbtRun, dict[str, str]]:
    """`dbt build` of the naming seeds, their tests and the naming model of `project`; the
    run and each node's status."""
    run = run_dbt(workdir, "build", "--select",
                  "segment_naming_rules segment_naming_conditions int_segments_named",
                  check=False, project=project)
    results = workdir / "target" / "run_results.json"
    statuses = ({r["unique_id"]: r["status"] for r in json.loads(results.read_text())["results"]}
                if results.exists() else {})
    return run, statuses


def _split_loyal_high_spenders(rows: Rows) -> Rows:
    """The issue's edit: one row of loyal_high_spenders renamed, as if the rule had a second row."""
    loyal = next(row for row in rows if row["rule_id"] == "loyal_high_spenders")
    return [*rows, {**loyal, "segment_name": "Regulars"}]


def _share_priority(rows: Rows) -> Rows:
    newcomers = next(row for row in rows if row["rule_id"] == "one_order_newcomers")
    return [{**row, "priority": newcomers["priority"]} if row["rule_id"] == "heavy_returners" else row
            for row in rows]


def _misspell_feature(rows: Rows) -> Rows:
    return [{**row, "feature": "nett_spending"} if row["feature"] == "net_spending" else row for row in rows]


def _drop_fallback(rows: Rows) -> Rows:
    return [row for row in rows if row["rule_id"] != "regulars"]


BROKEN_RULES = {
    "one rule's rows disagree": (RULES, _split_loyal_high_spenders,
                                 "rule loyal_high_spenders has 2 rows in segment_naming_rules that "
                                 "disagree on segment_name ('Loyal high spenders' / 'Regulars')"),
    "two rules share a priority": (RULES, _share_priority,
                                   "rules heavy_returners and one_order_newcomers share priority"),
    "unknown feature": (CONDITIONS, _misspell_feature,
                        "rule loyal_high_spenders names unknown feature 'nett_spending' "
                        "(known features: orders,"),
    "no fallback rule": (RULES, _drop_fallback, "no fallback rule: add a rule without conditions"),
}


@pytest.mark.parametrize("case", list(BROKEN_RULES))
def test_broken_naming_rules_stop_the_build_before_naming(case, tmp_path):
    seed, change, message = BROKEN_RULES[case]
    project = project_copy(tmp_path)
    _edit(project, seed, change)
    run, statuses = _build_naming(project, tmp_path / "build")
    assert run.returncode != 0
    assert "segment naming rules are invalid: " in run.output, run.output[-3000:]
    assert message in run.output, run.output[-3000:]
    # one line: the whole list of problems is on the line that names the first
    line = next(line for line in run.output.splitlines() if "segment naming rules are invalid" in line)
    assert message in line
    assert statuses.get(NAMING_MODEL) == "skipped", statuses


def test_every_problem_is_listed_in_one_message(tmp_path):
    """Several problems at once (including an old-layout rules seed): all are named together."""
    project = project_copy(tmp_path)
    columns, rules = _read(project / "seeds" / RULES)
    rules = [{**row, "feature": ""} for row in _drop_fallback(rules)]
    _write(project / "seeds" / RULES, [*columns, "feature"], rules)
    _edit(project, CONDITIONS, lambda rows: [*rows, {**rows[0], "rule_id": "ghost", "operator": "=="}])
    run, statuses = _build_naming(project, tmp_path / "build")
    assert run.returncode != 0
    line = next(line for line in run.output.splitlines() if "segment naming rules are invalid" in line)
    for problem in ("segment_naming_rules has condition columns (feature)",
                    "a condition (on return_rate) for rule ghost, which segment_naming_rules does not define",
                    "rule ghost, condition on return_rate: operator '==' is not one of >= <= > <",
                    "no fallback rule"):
        assert problem in line, line
    assert statuses.get(NAMING_MODEL) == "skipped", statuses


def test_the_default_rules_pass_the_check(tmp_path):
    """The shipped seeds are valid: the check passes (the naming model then runs, and fails
    only because this build did not make its inputs)."""
    run, statuses = _build_naming(project_copy(tmp_path), tmp_path / "build")
    assert "segment naming rules are invalid" not in run.output
    checks = {uid: status for uid, status in statuses.items() if "valid_naming_rules" in uid}
    assert list(checks.values()) == ["pass"], statuses


def test_online_retail_lapsed_one_time_buyers_are_not_newcomers(online_retail_build):
    """On the UCI data the one-order segment has not ordered for months: it is named lapsed,
    with a win-back action, and no segment called newcomers has a median recency over 90 days."""
    profiles = online_retail_build.query(
        "select segment_name, suggested_action, customers, median_orders, median_recency_days, "
        "median_tenure_days from dim_segment_profiles order by segment_id")
    one_time = [p for p in profiles if p[3] <= 1]
    assert one_time, profiles
    for name, action, _, _, recency, tenure in one_time:
        if recency > 90:
            assert name.startswith("Lapsed one-time buyers"), profiles
            assert action.startswith("Win back"), profiles
        if name.startswith("One-order newcomers"):
            assert tenure <= 90, profiles
    lapsed = sum(p[2] for p in profiles if p[0].startswith("Lapsed one-time buyers"))
    assert lapsed > 1_000, profiles
    newcomers = [p for p in profiles if p[0].startswith("One-order newcomers")]
    assert all(p[4] <= 90 for p in newcomers), profiles
