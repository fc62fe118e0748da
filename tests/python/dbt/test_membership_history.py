"""The membership history kept as changes (int_segment_membership_changes, the view
fct_segment_memberships): every accepted build's customers as dim_customers had them, a build
writing rows for the changed customers only, the old table converted, and the check that
the changes add up to the build's segments."""

import shutil

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_daily_builds import demo_vars, planted_days

from conftest import ROOT, project_copy, run_dbt
from segmentation.demo.data import generate
from segmentation.published import connect_published

pytestmark = pytest.mark.xdist_group("membership_history")

# what the view gives of a customer, and the same from dim_customers with the feature hash of
# the default model features
VIEW = ("select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash "
        "from fct_segment_memberships where run_id = '{}'")
DIM = """
    select customer_id, segment_id, segment_name, distance_to_centroid, net_spending,
        md5(coalesce(cast(units_ordered as varchar), '') || '|' || coalesce(cast(return_rate as varchar), '')
            || '|' || coalesce(cast(net_spending as varchar), '')) as feature_hash
    from dim_customers"""
THIS_RUN = "select run_id from int_segment_run"
ROWS = ("select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, feature_hash "
        "from publish_membership_rows")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> pa.Table:
    out, _ = generate(300, 7, tmp_path_factory.mktemp("demo") / "order_lines.parquet")
    return pq.read_table(out)


def differences(db, first: str, second: str) -> tuple[int, int]:
    """Rows of `first` not in `second` and of `second` not in `first` (EXCEPT ALL)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return tuple(con.execute(f"select count(*) from ({a} except all {b})").fetchone()[0]
                     for a, b in [(first, second), (second, first)])


def test_the_view_gives_every_accepted_builds_customers_and_a_build_writes_only_changes(demo, tmp_path):
    """Day by day (fit, score, a score build rejected by a gate, score, fit, a build with nothing
    new, one with the segments renamed): after each build dim_customers (with the feature hash) is
    kept; at the end the view gives each accepted build exactly those rows, and no row of the
    rejected build. A score build with a day's lines writes rows for fewer customers than there
    are, the lines judged in the rejected build are compared in the next one, and a build with
    nothing new writes none but is listed; after a rename the build's rows (kept from the build
    before) carry the new names; a build failing after the rows' hooks changes nothing of them."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    fit = demo_vars(arriving / "day_*.parquet")
    score = {**fit, "segmentation_mode": "score"}
    workdir = tmp_path / "build"
    kept = {}  # run id -> dim_customers after it
    rejected = None

    def build(day, build_vars, accepted=True, rows_from_stored=True, project=ROOT):
        if day is not None:
            shutil.copy2(paths[day], arriving / paths[day].name)
        run = run_dbt(workdir, "build", vars=build_vars, check=accepted, project=project)
        run_id = run.query(THIS_RUN)[0][0]
        # the build's rows kept in a table (for the view's grain test and publishing): the last
        # accepted build's rows with this build's changes applied, unless that build was not
        # accepted (then written whole)
        compiled = (workdir / "target" / "compiled" / "segmentation" / "models" / "publish"
                    / "publish_membership_rows.sql").read_text()
        assert ("the pre-hook removed their stored rows" in compiled) == rows_from_stored, compiled
        assert run.query(f"select count(distinct run_id) = 1 and min(run_id) = '{run_id}' "
                         "from publish_membership_rows") == [(True,)]
        if accepted:
            assert "build outcome accepted" in run.output, run.output[-3000:]
            kept[run_id] = run.query(DIM + " order by customer_id")
            assert run.query(ROWS + " order by customer_id") == kept[run_id]
        else:
            assert "build outcome rejected: gate_unchanged_customers_keep_their_segment" in run.output, \
                run.output[-3000:]
        return run, run_id

    build(0, fit, rows_from_stored=False)
    run, day_2 = build(1, score)
    changed = run.query(f"select count(*) from int_segment_membership_changes where run_id = '{day_2}'")[0][0]
    customers = run.query("select count(*) from dim_customers")[0][0]
    assert 0 < changed < customers / 2, (changed, customers)
    # day 3 is read by a build the gate rejects: its lines were judged then, and the next build
    # (no new file) must still compare their customers
    strict = {**score, "segment_max_changed_share": -1, "segment_quality_gate_severity": "error"}
    _, rejected = build(2, strict, accepted=False)
    run, day_3 = build(None, score, rows_from_stored=False)
    assert run.query(f"select count(*) from int_segment_membership_changes "
                     f"where run_id = '{day_3}'") != [(0,)]
    build(3, fit)
    run, nothing_new = build(None, score)
    assert run.query(f"select count(*) from int_segment_membership_changes where run_id = '{nothing_new}'") \
        == [(0,)]
    assert run.query(f"select customers from int_segment_membership_runs where run_id = '{nothing_new}'") \
        == [(customers_now := run.query("select count(*) from dim_customers")[0][0],)]
    assert customers_now > 0
    # the naming rules give every segment another name: no customer changes, every row is renamed
    project = project_copy(tmp_path)
    rules = project / "seeds" / "segment_naming_rules.csv"
    header, *lines = rules.read_text().splitlines()
    rules.write_text("\n".join([header, *(line.replace(",", ",Renamed ", 2).replace(",Renamed ", ",", 1)
                                           for line in lines)]) + "\n")
    run, renamed = build(None, score, project=project)
    assert run.query(f"select count(*) from int_segment_membership_changes "
                     f"where run_id = '{renamed}'") == [(0,)]
    assert run.query("select bool_and(segment_name like 'Renamed %') "
                     "from publish_membership_rows") == [(True,)]
    # a build that fails after the table's hooks ran (every step applied: rows removed and added,
    # kept rows renamed and given the build's run) leaves the table as the build before left it;
    # the next build applies its changes to those rows
    # (a day of 20 new orders: 10 of new customers, 10 of customers who have rows)
    day_5 = pq.read_table(paths[3]).slice(0, 20)
    day_5_customers = day_5.column("customer_id").to_pylist()
    day_5 = day_5.set_column(day_5.schema.get_field_index("customer_id"), "customer_id",
                             pa.array([f"C6{i:07d}" if i < 10 else day_5_customers[i] for i in range(20)]))
    day_5 = day_5.set_column(day_5.schema.get_field_index("order_id"), "order_id",
                             pa.array([f"O6{i:07d}" for i in range(20)]))
    pq.write_table(day_5, arriving / "day_5.parquet")
    model = project / "models" / "publish" / "publish_membership_rows.sql"
    text = model.read_text()
    hooks = 'post_hook=["{{ rename_membership_rows() }}", "{{ stamp_membership_rows() }}"'
    assert text.count(hooks) == 1
    model.write_text(text.replace(hooks, hooks + ", \"select error('injected: fails after the hooks')\""))
    failed = run_dbt(workdir, "build", vars=score, check=False, project=project)
    assert failed.returncode != 0, failed.output[-3000:]
    assert "injected: fails after the hooks" in failed.output, failed.output[-3000:]
    assert failed.query("select count(*) from int_customers_featurized where customer_id like 'C6%'") \
        == [(10,)], "the failed build got as far as the new customers"
    assert failed.query(ROWS + " order by customer_id") == kept[renamed]
    assert failed.query("select count(*), min(run_id), max(run_id) from publish_membership_rows") \
        == [(len(kept[renamed]), renamed, renamed)]
    model.write_text(text)
    run, after_failure = build(None, score, project=project)
    assert run.query("select count(*) from publish_membership_rows where customer_id like 'C6%'") == [(10,)]
    # (customers with rows changed: the failed build had rows of theirs to remove too)
    assert run.query(f"select count(*) from int_segment_membership_changes "
                     f"where had_previous and run_id = '{after_failure}'") != [(0,)]

    db = run.db
    with duckdb.connect(str(db), read_only=True) as con:
        runs = [r for (r,) in con.execute("select distinct run_id from fct_segment_memberships").fetchall()]
        assert sorted(runs) == sorted(kept)
        assert rejected not in runs
        assert con.execute("select count(*) from int_segment_membership_changes where run_id = ?",
                           [rejected]).fetchone() == (0,)
        for run_id, rows in kept.items():
            view = con.execute(VIEW.format(run_id) + " order by customer_id").fetchall()
            assert view == rows, run_id
    # the published history, kept as changes too, gives the same rows; the day's score build
    # was published as its change rows
    with connect_published(workdir / "published") as published:
        listed = {run: (kind, file_rows, members) for run, kind, file_rows, members in published.execute(
            "select run_id, kind, file_rows, row_count from published_history_files").fetchall()}
        assert sorted(listed) == sorted(kept)
        assert listed[day_2] == ("changes", changed, customers)
        for run_id, rows in kept.items():
            assert published.execute(VIEW.format(run_id) + " order by customer_id").fetchall() == rows, run_id


def test_the_old_membership_table_is_converted_on_the_next_build(demo, tmp_path):
    """A warehouse whose fct_segment_memberships is still the table of every customer in every
    build (before the history was kept as changes): the next build writes that history's changes
    and then gives the same rows for every earlier build, and its own."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    fit = demo_vars(arriving / "day_*.parquet")
    score = {**fit, "segmentation_mode": "score"}
    workdir = tmp_path / "build"
    for day, build_vars in [(0, fit), (1, score), (2, fit)]:
        shutil.copy2(paths[day], arriving / paths[day].name)
        run = run_dbt(workdir, "build", vars=build_vars)
    # the old layout: the table with every build's rows (as the view gives them), a copy of it
    # to compare with, and no change rows
    with duckdb.connect(str(run.db)) as con:
        con.execute("create table memberships_before as from fct_segment_memberships")
        con.execute("create table old_memberships as from fct_segment_memberships")
        con.execute("drop view fct_segment_memberships")
        con.execute("drop table int_segment_membership_changes")
        con.execute("drop table int_segment_membership_runs")
        con.execute("alter table old_memberships rename to fct_segment_memberships")
        old_runs = [r for (r,) in con.execute("select distinct run_id from memberships_before").fetchall()]
        gone = con.execute("select count(distinct customer_id) from memberships_before "
                           "where customer_id not in (select customer_id from dim_customers)").fetchone()[0]
    assert len(old_runs) == 3 and gone > 0  # C88888888 is gone on day 3: a change row says so
    shutil.copy2(paths[3], arriving / paths[3].name)
    run = run_dbt(workdir, "build", vars=score)
    this_run = run.query(THIS_RUN)[0][0]
    assert differences(run.db, VIEW.format(this_run), DIM) == (0, 0)
    for old_run in old_runs:
        before = ("select customer_id, segment_id, segment_name, distance_to_centroid, net_spending, "
                  f"feature_hash from memberships_before where run_id = '{old_run}'")
        assert differences(run.db, VIEW.format(old_run), before) == (0, 0), old_run
    with duckdb.connect(str(run.db), read_only=True) as con:
        assert con.execute("select table_type from information_schema.tables "
                           "where table_name = 'fct_segment_memberships'").fetchall() == [("VIEW",)]
        assert con.execute("select count(*) from int_segment_membership_runs").fetchone() == (4,)
        assert con.execute("select count(*) from int_segment_membership_changes "
                           "where not is_member").fetchone()[0] >= gone


def test_the_changes_must_add_up_to_the_segments_and_compare_all_puts_them_right(demo, tmp_path):
    """The check that a build's change rows add up to its segments (the last accepted build's
    sizes and revenue, less the changed customers' previous rows, plus their new ones) fails
    when a change row is missing or carries another net spending, and rejects a daily build in
    which a customer changed segment without a line judged or a score computed (not compared).
    Built with var membership_changes_compare_all, the build compares everyone, writes that
    customer's row and only that one, and is accepted."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    fit = demo_vars(arriving / "day_*.parquet")
    score = {**fit, "segmentation_mode": "score"}
    workdir = tmp_path / "build"
    check = ["test", "--select", "assert_membership_changes_add_up_to_the_segments"]
    shutil.copy2(paths[0], arriving / paths[0].name)
    run_dbt(workdir, "build", vars=fit)
    shutil.copy2(paths[1], arriving / paths[1].name)
    run = run_dbt(workdir, "build", vars=score)
    this_run = run.query(THIS_RUN)[0][0]
    assert run_dbt(workdir, *check, vars=score).returncode == 0
    with duckdb.connect(str(run.db)) as con:
        new, changed = con.execute(
            "select min(customer_id) filter (where not had_previous), "
            "min(customer_id) filter (where had_previous) "
            "from int_segment_membership_changes where run_id = ?", [this_run]).fetchone()
        con.execute("create table kept_changes as from int_segment_membership_changes")
        con.execute("delete from int_segment_membership_changes where customer_id = ? and run_id = ?",
                    [new, this_run])
    failed = run_dbt(workdir, *check, vars=score, check=False)
    # its segment's customers and revenue differ
    assert failed.returncode != 0 and "FAIL 1" in failed.output, failed.output[-3000:]
    with duckdb.connect(str(run.db)) as con:
        con.execute("delete from int_segment_membership_changes")
        con.execute("insert into int_segment_membership_changes from kept_changes")
        con.execute("update int_segment_membership_changes set net_spending = net_spending + 1 "
                    "where customer_id = ? and run_id = ?", [changed, this_run])
    failed = run_dbt(workdir, *check, vars=score, check=False)
    # its segment's revenue differs
    assert failed.returncode != 0 and "FAIL 1" in failed.output, failed.output[-3000:]

    # a customer moved to another segment outside the lines and the scores (the stored score edited
    # by hand): a daily build does not compare them, and the check rejects it; with
    # membership_changes_compare_all the build compares everyone and writes that customer's row
    with duckdb.connect(str(run.db)) as con:
        con.execute("delete from int_segment_membership_changes")
        con.execute("insert into int_segment_membership_changes from kept_changes")
        segment = con.execute("select max(segment_id) from int_customers_scored").fetchone()[0]
        moved = con.execute("select min(customer_id) from int_customers_scored where segment_id < ?",
                            [segment]).fetchone()[0]
        con.execute("update int_customers_scored set segment_id = ? where customer_id = ?", [segment, moved])
    rejected = run_dbt(workdir, "build", vars=score, check=False)
    outcome = "build outcome rejected: assert_membership_changes_add_up_to_the_segments fail"
    assert outcome in rejected.output, rejected.output[-3000:]
    fixed = run_dbt(workdir, "build", vars={**score, "membership_changes_compare_all": True})
    fixed_run = fixed.query(THIS_RUN)[0][0]
    assert differences(fixed.db, VIEW.format(fixed_run), DIM) == (0, 0)
    rows = f"select customer_id, segment_id from int_segment_membership_changes where run_id = '{fixed_run}'"
    assert fixed.query(rows) == [(moved, segment)]
