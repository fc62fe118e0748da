"""Runs over time: stable ids, the run registry, score mode, transitions and quality gates."""

from __future__ import annotations

import shutil
import subprocess
import sys

import duckdb
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from conftest import OLD_NAMES, run_dbt


def _frame(db, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def _memberships(db, run_id):
    return _frame(db, f"select customer_id, segment_id, feature_hash from fct_segment_memberships "
                      f"where run_id = '{run_id}'").set_index("customer_id").sort_index()


def test_registry_has_a_row_per_build(demo_runs):
    db, run_ids, _ = demo_runs
    registry = _frame(db, "select * from fct_segment_model_runs order by run_at")
    assert registry["segmentation_mode"].tolist() == ["fit", "fit", "score", "fit"]
    assert registry["is_latest"].tolist() == [False, False, False, True]
    # the registry is built during the build: earlier builds are accepted, this one is current
    assert registry["status"].tolist() == ["accepted", "accepted", "accepted", "current"]
    assert registry["model_run_id"].tolist() == [run_ids[0], run_ids[1], run_ids[1], run_ids[3]]
    fit = registry.iloc[0]
    assert fit["k"] == 4 and fit["chosen_by"] == "elbow" and fit["sample_size"] == 25_000
    assert fit["transforms"] == "units_ordered:log1p, return_rate:none, net_spending:log1p"
    assert "scikit-learn" in fit["library_versions"] and fit["input_lines"] == fit["valid_lines"] > 0
    assert registry.loc[2, "k"] == 4 and registry.loc[2, "customers"] > registry.loc[1, "customers"]
    fits = _frame(db, "select distinct run_id from fct_segment_centroid_history")["run_id"]
    assert sorted(fits) == sorted([run_ids[0], run_ids[1], run_ids[3]])


def test_same_data_same_ids_and_centroids(demo_runs):
    db, run_ids, _ = demo_runs
    first, second = _memberships(db, run_ids[0]), _memberships(db, run_ids[1])
    assert first.index.equals(second.index)
    assert (first["segment_id"] == second["segment_id"]).all()
    centroids = _frame(db, "select run_id, segment_id, feature, centroid_model_space "
                           "from fct_segment_centroid_history")
    wide = centroids.pivot_table(index=["segment_id", "feature"], columns="run_id",
                                 values="centroid_model_space")
    assert (wide[run_ids[0]] == wide[run_ids[1]]).all()


def test_a_month_later_unchanged_customers_keep_their_segment(demo_runs):
    db, run_ids, _ = demo_runs
    before, after = _memberships(db, run_ids[1]), _memberships(db, run_ids[3])
    both = before.join(after, lsuffix="_before", rsuffix="_after", how="inner")
    unchanged = both[both["feature_hash_before"] == both["feature_hash_after"]]
    assert len(unchanged) > 0.8 * len(before)
    kept = (unchanged["segment_id_before"] == unchanged["segment_id_after"]).mean()
    assert kept >= 0.97, f"only {kept:.1%} of unchanged customers kept their segment id"

    # A naive refit numbers clusters arbitrarily: with other seeds, sklearn's own labels would
    # have renumbered the segments.
    training = _frame(db, "select * from int_segment_training_set order by customer_id")
    X = training.set_index("customer_id").to_numpy()
    stable = after["segment_id"].reindex(training["customer_id"]).to_numpy()
    naive_kept = [(KMeans(4, n_init=10, random_state=seed).fit(X).labels_ + 1 == stable).mean()
                  for seed in (1, 2, 3, 4, 5)]
    assert min(naive_kept) < 0.97, naive_kept


def test_score_mode_applies_the_stored_model_without_sklearn(demo_runs):
    """New customers get exactly the nearest stored centroid, computed here independently."""
    db, run_ids, blocker = demo_runs
    probe = subprocess.run([sys.executable, "-c", "import sklearn"], capture_output=True, text=True,
                           env={"PYTHONPATH": str(blocker)})
    assert "scikit-learn was imported in score mode" in probe.stderr, "the import blocker works"

    model = _frame(db, f"select * from fct_segment_centroid_history where run_id = '{run_ids[1]}'")
    scored = _memberships(db, run_ids[2])
    assert scored.index.size > _memberships(db, run_ids[1]).index.size  # new customers were scored
    features = model.drop_duplicates("feature").sort_values("feature_position")
    month_two = _frame(db, "select customer_id, units_ordered, return_rate, net_spending "
                           "from int_customers_featurized").set_index("customer_id")
    z = []
    for f in features.itertuples():
        x = month_two[f.feature].astype(float).clip(f.clip_lower, f.clip_upper)
        if f.transform == "log1p":
            x = np.sign(x) * np.log1p(np.abs(x))
        z.append((x - f.center) / f.scale)
    Z = np.column_stack(z)
    centroids = model.pivot(index="segment_id", columns="feature", values="centroid_model_space")[
        features["feature"].tolist()]
    nearest = centroids.index.to_numpy()[
        np.argmin(((Z[:, None, :] - centroids.to_numpy()[None]) ** 2).sum(-1), axis=1)]
    expected = pd.Series(nearest, index=month_two.index)
    assert (scored["segment_id"] == expected.reindex(scored.index)).all()


def test_transitions_since_the_last_build_and_the_last_fit(demo_runs):
    db, run_ids, _ = demo_runs
    all_transitions = _frame(db, "select * from fct_segment_transitions")
    pairs = set(all_transitions[["comparison", "from_run_id", "to_run_id"]].itertuples(index=False,
                                                                                     name=None))
    # the last build was the score build; the last fit the one whose model it applied
    assert pairs == {("since_last_build", run_ids[2], run_ids[3]), ("since_last_fit", run_ids[1], run_ids[3])}
    latest = _memberships(db, run_ids[3])
    stayed = {}
    for comparison, transitions in all_transitions.groupby("comparison"):
        assert transitions["customers"].sum() == len(latest)
        same = transitions["from_segment_id"] == transitions["to_segment_id"]
        stayed[comparison] = transitions[same]["customers"].sum() / len(latest)
    # the same data, scored then refitted; since the last fit the month's new orders moved some
    assert stayed["since_last_build"] >= 0.97 and stayed["since_last_fit"] >= 0.9, stayed


def _transitions_match_memberships(db) -> set[str]:
    """Checks each comparison's rows of fct_segment_transitions against the moves of the
    memberships of its two builds, computed here: per (from segment and name, to segment and
    name) the customers and their net spending, exact (the latest build's; the earlier one's for
    a customer gone). Returns the from builds."""
    with duckdb.connect(str(db), read_only=True) as con:
        transitions = con.execute(
            "select comparison, from_run_id, to_run_id, from_segment_id, from_segment_name, to_segment_id, "
            "to_segment_name, customers, net_revenue from fct_segment_transitions").fetchall()
        runs = {run for row in transitions for run in row[1:3]}
        members = {run: {customer: rest for customer, *rest in con.execute(
            "select customer_id, segment_id, segment_name, net_spending from fct_segment_memberships "
            "where run_id = ?", [run]).fetchall()} for run in runs}
    for comparison, from_run, to_run in {row[:3] for row in transitions}:
        before, after = members[from_run], members[to_run]
        expected: dict[tuple, list] = {}
        for customer in before.keys() | after.keys():
            was, now = before.get(customer, [None] * 3), after.get(customer, [None] * 3)
            move = expected.setdefault((*was[:2], *now[:2]), [0, 0])
            move[0] += 1
            move[1] += now[2] if customer in after else was[2]
        found = {tuple(row[3:7]): [row[7], row[8]] for row in transitions if row[0] == comparison}
        assert found == expected, comparison
    return {row[1] for row in transitions}


def test_transitions_count_every_move_between_the_compared_builds_memberships(demo_runs, tmp_path):
    """The two comparisons start at different builds here, so both are counted in one model run;
    then, on a copy, with the latest build's segments renamed (the names each build gave its
    segments, which the membership view shows too): each side keeps its build's names."""
    db, run_ids, _ = demo_runs
    assert _transitions_match_memberships(db) == {run_ids[1], run_ids[2]}

    workdir = tmp_path / "copy"
    workdir.mkdir()
    shutil.copy(db, workdir / "segmentation.duckdb")
    with duckdb.connect(str(workdir / "segmentation.duckdb")) as con:
        con.execute("update int_segment_run_segments set segment_name = 'Renamed ' || segment_name "
                    "where run_id = ?", [run_ids[3]])
    run_dbt(workdir, "run", "--select", "fct_segment_transitions")
    _transitions_match_memberships(workdir / "segmentation.duckdb")
    with duckdb.connect(str(workdir / "segmentation.duckdb"), read_only=True) as con:
        names = con.execute("select distinct from_segment_name like 'Renamed %', "
                            "to_segment_name like 'Renamed %' from fct_segment_transitions "
                            "where from_segment_id is not null and to_segment_id is not null").fetchall()
    assert names == [(False, True)]


def test_the_unchanged_customers_gate_counts_the_last_two_builds(demo_runs, tmp_path):
    """The gate counts, among the customers with the same feature hash in the latest build and
    the last accepted one before it, those in another segment: computed here from the
    memberships, then read from the gate's failure row (a share above -1 always fails)."""
    db, run_ids, _ = demo_runs
    before, after = _memberships(db, run_ids[2]), _memberships(db, run_ids[3])
    both = before.join(after, lsuffix="_before", rsuffix="_after", how="inner")
    unchanged = both[both["feature_hash_before"] == both["feature_hash_after"]]
    expected = (len(unchanged), int((unchanged["segment_id_before"] != unchanged["segment_id_after"]).sum()))
    # since the last fit (run 1) the month's orders changed features: that comparison differs
    since_fit = after.join(_memberships(db, run_ids[1]), rsuffix="_fit", how="inner")
    assert (since_fit["feature_hash"] == since_fit["feature_hash_fit"]).sum() != expected[0]

    workdir = tmp_path / "copy"
    workdir.mkdir()
    shutil.copy(db, workdir / "segmentation.duckdb")
    gate = "gate_unchanged_customers_keep_their_segment"
    failed = run_dbt(workdir, "test", "--select", gate, "--store-failures", check=False,
                     vars={"segment_max_changed_share": -1, "segment_quality_gate_severity": "error"})
    assert failed.returncode != 0 and f"Failure in test {gate}" in failed.output
    with duckdb.connect(str(workdir / "segmentation.duckdb"), read_only=True) as con:
        found = con.execute(f"select customers, moved from dbt_test__audit.{gate}").fetchall()
    assert found == [expected]


def test_segment_history_records_every_build(demo_runs):
    db, run_ids, _ = demo_runs
    history = _frame(db, "select * from fct_segment_history order by run_at, segment_id")
    assert history.groupby("run_id").size().to_dict() == {r: 4 for r in run_ids}
    assert history[history["is_latest_run"]]["run_id"].unique().tolist() == [run_ids[3]]
    names = history.groupby("segment_id")["segment_name"].nunique()
    assert (names == 1).all(), "on this data no segment changed its name"


def test_quality_gates_fail_the_build_when_set_to_error(demo_data, tmp_path):
    run = run_dbt(tmp_path, "build", check=False,
                  vars={"orders_format": "demo", "orders_path": str(demo_data), "segment_min_share": 0.3,
                        "segment_quality_gate_severity": "error"})
    assert run.returncode != 0
    assert "Failure in test gate_min_segment_share" in run.output


def test_score_mode_needs_a_stored_model(demo_data, tmp_path):
    run = run_dbt(tmp_path, "build", check=False,
                  vars={"orders_format": "demo", "orders_path": str(demo_data), "segmentation_mode": "score"})
    assert run.returncode != 0
    assert "segmentation_mode score needs a stored model" in run.output


def test_membership_uniqueness_checks_this_builds_rows(tmp_path):
    """The uniqueness test of the membership history's change rows reads only the rows of the
    build's own run, so it does not grow with the history, and still fails on a duplicate
    customer within that run."""
    from segmentation.demo.data import generate

    data, _ = generate(600, 7, tmp_path / "orders.parquet")
    vars = {"orders_format": "demo", "orders_path": str(data)}
    run = run_dbt(tmp_path / "build", "build", vars=vars)
    select = ["test", "--select", "int_segment_membership_changes,test_name:unique_combination_of_columns"]
    with duckdb.connect(str(run.db)) as con:
        run_id = con.execute("select run_id from int_segment_run").fetchone()[0]
        # a duplicate in an earlier, accepted run (appended and checked by its own build) is not
        # re-read; accepted, so the hooks' clean-up of unaccepted runs' rows keeps it
        con.execute("insert into segment_build_outcomes select 'an-earlier-run', run_at, "
                    "segmentation_mode, 'accepted', 'test', run_at from segment_build_outcomes limit 1")
        con.execute("insert into int_segment_membership_changes select 'an-earlier-run', * exclude (run_id) "
                    "from int_segment_membership_changes where run_id = ? limit 1", [run_id])
        con.execute("insert into int_segment_membership_changes select 'an-earlier-run', * exclude (run_id) "
                    "from int_segment_membership_changes where run_id = ? limit 1", [run_id])
    checked = run_dbt(tmp_path / "build", *select, vars=vars).output
    assert "PASS unique_combination_of_columns_int_segment_membership_changes" in checked
    assert "FAIL" not in checked
    with duckdb.connect(str(run.db), read_only=True) as con:
        assert con.execute("select count(*) from int_segment_membership_changes "
                           "where run_id = 'an-earlier-run'").fetchone()[0] == 2
    with duckdb.connect(str(run.db)) as con:
        con.execute("insert into int_segment_membership_changes select * from int_segment_membership_changes "
                    "where run_id = ? limit 1", [run_id])
    failed = run_dbt(tmp_path / "build", *select, vars=vars, check=False)
    assert failed.returncode != 0 and "FAIL 1" in failed.output


def test_validated_lines_uniqueness_finds_exactly_the_repeated_lines(tmp_path):
    """The uniqueness test of the validated lines (the latest build's rows, grouped first by a hash
    of source_file and source_line_number on DuckDB) passes on lines that share a number in two
    files, and counts exactly the repeated (file, line) pairs, a null file included."""
    from segmentation.demo.data import generate

    data, _ = generate(200, 7, tmp_path / "orders.parquet")
    vars = {"orders_format": "demo", "orders_path": str(data)}
    run = run_dbt(tmp_path / "build", "build", "--select", "+int_order_lines_validated",
                  "--indirect-selection", "cautious", vars=vars)
    select = ["test", "--select", "int_order_lines_validated,test_name:unique_combination_of_columns"]

    def insert(source_file: str | None, line_number: int) -> None:
        with duckdb.connect(str(run.db)) as con:
            con.execute("insert into int_order_lines_validated select * replace (? as source_file, "
                        "? as source_line_number) from int_order_lines_validated limit 1",
                        [source_file, line_number])

    insert("another_file.parquet", 1)  # line 1 of another file: no repeat
    assert "PASS unique_combination_of_columns_int_order_lines_validated" in run_dbt(
        tmp_path / "build", *select, vars=vars).output
    insert(str(data), 2)  # line 2 of the file, twice
    insert(None, 5)
    insert(None, 5)  # a null file's line 5, twice
    insert(None, 6)
    failed = run_dbt(tmp_path / "build", *select, vars=vars, check=False)
    assert failed.returncode != 0 and "FAIL 2" in failed.output, failed.output[-3000:]


def test_a_warehouse_of_the_old_mart_names_keeps_them_as_views_of_the_new(demo_runs):
    """A build over a warehouse whose old-named marts are tables (as before the dim_/fct_ rule)
    makes them views of the renamed marts, with every build's history in them."""
    db, run_ids, _ = demo_runs
    with duckdb.connect(str(db), read_only=True) as con:
        kinds = dict(con.execute("select table_name, table_type from information_schema.tables "
                                 "where table_name in ?", [OLD_NAMES]).fetchall())
        assert kinds == {name: "VIEW" for name in OLD_NAMES}
        runs = con.execute("select run_id from segment_model_runs order by run_at").fetchall()
        assert [row[0] for row in runs] == run_ids
        for old, sql in con.execute("select view_name, sql from duckdb_views() where view_name in ?",
                                    [OLD_NAMES]).fetchall():
            assert f"_{old}" in sql  # select * from <dim_|fct_><old name>
