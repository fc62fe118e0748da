"""The fit lifecycle: a fit becomes the current model only when its whole build passed.

A build rejected by an error-severity gate, failed after its fit, or killed keeps its rows
only as a registry entry marked with its outcome: score builds, id matching, fit numbering
and transitions read accepted fits only, and no build leaves temporary relations behind.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_reruns import _kill_when

from conftest import DbtRun, project_copy, run_dbt
from segmentation.demo.data import generate

# k = 7 on the demo separates customers far worse than a silhouette of 0.9: the gate fails
REJECTED_BY_GATE = {"segment_count": 7, "segment_silhouette_floor": 0.9,
                    "segment_quality_gate_severity": "error"}
# a test failing at error severity after the fit was appended (dim_segment_profiles' gate)
FAILING_AFTER_FIT = {"segment_min_share": 0.3, "segment_quality_gate_severity": "error"}
TMP_RELATIONS = "select table_name from information_schema.tables where table_name like '%dbt_tmp%'"


def _vars(data: Path, **extra) -> dict:
    return {"orders_format": "canonical", "orders_path": str(data), **extra}


def _build(workdir: Path, vars: dict, check: bool = True) -> tuple[DbtRun, str]:
    """`dbt build` and its run id, read at once: every build of `workdir` shares one database."""
    run = run_dbt(workdir, "build", vars=vars, check=check)
    return run, run.query("select run_id from int_segment_run")[0][0]


def _registry(run: DbtRun) -> dict[str, tuple]:
    """run_id -> (segmentation_mode, model_run_id, k) of fct_segment_model_runs."""
    return {row[0]: row[1:] for row in run.query("select run_id, segmentation_mode, model_run_id, k "
                                                 "from fct_segment_model_runs")}


def _status(run: DbtRun) -> dict[str, tuple]:
    """run_id -> (status, status_reason) of fct_segment_model_runs."""
    rows = run.query("select run_id, status, status_reason from fct_segment_model_runs")
    return {row[0]: row[1:] for row in rows}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out, _ = generate(600, 3, tmp_path_factory.mktemp("lifecycle_data") / "orders.parquet")
    return out


@pytest.fixture(scope="module")
def gate_rejected(data, tmp_path_factory):
    """An accepted fit, a fit rejected by the silhouette gate at error severity, a score build."""
    workdir = tmp_path_factory.mktemp("gate_rejected")
    accepted = _build(workdir, _vars(data))
    rejected = _build(workdir, _vars(data, **REJECTED_BY_GATE), check=False)
    score = _build(workdir, _vars(data, segmentation_mode="score"))
    return accepted, rejected, score


@pytest.fixture(scope="module")
def failed_after_fit(data, tmp_path_factory):
    """An accepted fit, a fit whose build fails a test after the fit was stored, another fit;
    the temporary relations in the warehouse after each."""
    workdir = tmp_path_factory.mktemp("failed_after_fit")
    builds, leftovers = [], []
    for extra in ({}, FAILING_AFTER_FIT, {}):
        builds.append(_build(workdir, _vars(data, **extra), check=not extra))
        leftovers.append(builds[-1][0].query(TMP_RELATIONS))
    return builds, leftovers


def test_a_fit_rejected_by_a_gate_is_not_used_by_the_next_score_build(gate_rejected):
    (_, accepted_id), (rejected, rejected_id), (score, score_id) = gate_rejected
    assert rejected.returncode != 0 and "Failure in test gate_silhouette_floor" in rejected.output
    registry = _registry(score)
    # the score build applied the accepted fit: its k and its ids
    assert registry[score_id] == ("score", accepted_id, registry[accepted_id][2])
    assert registry[accepted_id][2] != 7
    members = {run: dict(score.query(f"select customer_id, segment_id from fct_segment_memberships "
                                     f"where run_id = '{run}'")) for run in (accepted_id, score_id)}
    assert members[score_id] == members[accepted_id]
    # the store shows only accepted fits
    fits = {row[0] for row in score.query("select distinct run_id from fct_segment_centroid_history")}
    assert fits == {accepted_id}
    # the rejected fit is listed, marked, with the failing gate as the reason
    statuses = _status(score)
    status, reason = statuses[rejected_id]
    assert status == "rejected" and "gate_silhouette_floor" in reason
    assert statuses[accepted_id][0] == "accepted" and statuses[score_id][0] == "current"
    # transitions compare with accepted builds: since the last build and since the last fit
    pairs = set(score.query(
        "select distinct comparison, from_run_id, to_run_id from fct_segment_transitions"))
    assert pairs == {("since_last_build", accepted_id, score_id), ("since_last_fit", accepted_id, score_id)}
    moved = score.query("select sum(customers) from fct_segment_transitions "
                        "where comparison = 'since_last_build' and from_segment_id = to_segment_id")
    assert moved[0][0] == len(members[score_id])


def test_a_fit_whose_build_failed_is_not_matched_by_the_next_fit(failed_after_fit):
    ((_, first_id), (failed, failed_id), (refit, refit_id)), _ = failed_after_fit
    assert failed.returncode != 0 and "Failure in test gate_min_segment_share" in failed.output
    # the failed build's fit was appended to the store, but the next fit does not see it
    stored = refit.query(f"select count(*) from int_segment_centroid_history where run_id = '{failed_id}'")
    assert stored[0][0] > 0
    assignment = refit.query("select distinct fit_number, id_assignment from fct_segment_centroid_history "
                             f"where run_id = '{refit_id}'")
    assert assignment == [(2, "matched 4 of 4 to fit 1")]
    status, reason = _status(refit)[failed_id]
    assert status == "rejected" and "gate_min_segment_share" in reason
    transitions = set(refit.query("select distinct comparison, from_run_id from fct_segment_transitions"))
    assert transitions == {("since_last_build", first_id), ("since_last_fit", first_id)}


def test_no_temporary_relations_after_passing_and_failing_builds(failed_after_fit):
    builds, leftovers = failed_after_fit
    assert [build.returncode == 0 for build, _ in builds] == [True, False, True]
    assert leftovers == [[], [], []]


def test_a_killed_builds_fit_is_not_used(data, tmp_path):
    _, accepted_id = _build(tmp_path, _vars(data))
    # killed once its fit is stored (the marts come after the model history)
    _kill_when(tmp_path, data, "START sql table model main.dim_segment_profiles")
    score, score_id = _build(tmp_path, _vars(data, segmentation_mode="score"))
    killed = [row[0] for row in score.query("select distinct run_id from int_segment_centroid_history")
              if row[0] != accepted_id]
    assert len(killed) == 1, "the killed build stored its fit"
    assert _registry(score)[score_id][1] == accepted_id
    status, reason = _status(score)[killed[0]]
    assert status == "failed" and "interrupted" in reason
    assert score.query(TMP_RELATIONS) == []



def test_a_retry_or_a_selection_without_the_run_record_stops_before_writing(data, tmp_path):
    """After a build that failed past its run records (a mart whose SQL was broken, then
    mended), `dbt retry` ran the failed and skipped nodes alone and published the failed build's
    marts (rc 0), with membership rows the retry's start had dropped as an unaccepted build's.
    Now the retry stops before it writes anything, with one line saying what to run; so does a
    --select that builds a model writing run records (publish_membership_rows, publish_marts)
    without int_segment_run. The next `dbt build` is accepted, publishes, and its marts equal a
    build from scratch."""
    project = project_copy(tmp_path)
    workdir, vars = tmp_path / "build", _vars(data)
    run_dbt(workdir, "build", vars=vars, project=project)
    mart = project / "models" / "marts" / "fct_segment_monthly_revenue.sql"
    sql = mart.read_text()
    mart.write_text(sql + "\nthis is not sql\n")
    failed = run_dbt(workdir, "build", vars=vars, project=project, check=False)
    assert failed.returncode != 0
    mart.write_text(sql)
    state = ("select (select count(*) from int_segment_membership_changes), "
             "(select list(run_id || ' ' || customers order by run_id) from "
             "(select run_id, count(*) as customers from publish_membership_rows group by run_id)), "
             "(select list(run_id || ' ' || outcome order by recorded_at) from segment_build_outcomes), "
             "(select run_id from int_segment_run)")
    before = failed.query(state)
    published = (workdir / "published" / "current").resolve()
    retried = run_dbt(workdir, "retry", vars=vars, project=project, check=False)
    selected = run_dbt(workdir, "build", "--select", "publish_membership_rows+", vars=vars, project=project,
                       check=False)
    retry_says = ("dbt retry cannot resume a segmentation build: a build's run records and what it "
                  "publishes come from one whole dbt build, and a retry runs only the nodes that failed or "
                  "were skipped. Run dbt build again")
    select_says = ("this command builds publish_marts, publish_membership_rows without int_segment_run, so "
                   "it would write rows under the run of an earlier build. A build's run records are written "
                   "by one whole dbt build: run dbt build (or add int_segment_run to the selection).")
    for run, message in [(retried, retry_says), (selected, select_says)]:
        assert run.returncode != 0
        assert message in run.output, run.output[-3000:]
        assert "Traceback" not in run.output
        assert run.query(state) == before
        assert (workdir / "published" / "current").resolve() == published
    rebuilt = run_dbt(workdir, "build", vars=vars, project=project)
    assert rebuilt.query("select outcome from segment_build_outcomes order by recorded_at desc limit 1") \
        == [("accepted",)]
    assert (workdir / "published" / "current").resolve() != published
    scratch = run_dbt(tmp_path / "scratch", "build", vars=vars, project=project)
    for mart_query in ("select * from dim_customers order by customer_id",
                       "select * exclude (run_id, run_at) from publish_membership_rows order by customer_id",
                       "select * from fct_segment_monthly_revenue order by all"):
        assert rebuilt.query(mart_query) == scratch.query(mart_query)


def test_a_fit_whose_gates_did_not_run_is_neither_published_nor_accepted(data, tmp_path):
    """`dbt run` runs no test, so a fit the silhouette gate rejects under `dbt build` (k = 7, floor
    0.9 at error severity) was published, 7 segments where BI reads them, while the registry said
    rejected; `dbt build --exclude resource_type:test` published it and recorded it accepted, so
    score builds would apply it. Now publish_marts stops (its pre-hook, one line naming the tests
    not run), the published snapshot stays the last accepted build's, and the outcome is not
    accepted; a score build applies the accepted fit."""
    workdir = tmp_path / "build"
    _, accepted_id = _build(workdir, _vars(data))
    published = (workdir / "published" / "current").resolve()
    gateless = _vars(data, **REJECTED_BY_GATE)
    for command in (["run"], ["build", "--exclude", "resource_type:test"]):
        run = run_dbt(workdir, *command, vars=gateless, check=False)
        assert run.returncode != 0, run.output[-3000:]
        said = [line for line in run.output.splitlines() if "not published: this command did not run" in line]
        assert said and "gate_silhouette_floor" in said[0], run.output[-3000:]
        assert "Traceback" not in run.output
        assert (workdir / "published" / "current").resolve() == published
        outcome = run.query("select outcome from segment_build_outcomes order by recorded_at desc limit 1")
        assert outcome != [("accepted",)]
    score, _ = _build(workdir, _vars(data, segmentation_mode="score"))
    assert score.query("select model_run_id from fct_segment_model_runs where is_latest") == [(accepted_id,)]
