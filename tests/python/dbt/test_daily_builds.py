"""Daily builds (issue 12): every input line names the file it came from and its line within
that file, so a glob of day files gives the answer the files concatenated in name order give.

Each case is 300 demo customers (seed 7) split into files; docs/reliability.md lists them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import ROOT, dbt_command, project_copy, run_dbt
from segmentation.demo.data import generate

# Staging, validation and their tests: what reading the files decides, without the segmentation.
VALIDATE = ("build", "--select", "+fct_rejected_order_lines", "--indirect-selection", "cautious")
# ... and the registry of the files read (int_input_files).
REGISTER = ("build", "--select", "+fct_rejected_order_lines", "int_input_files",
            "--indirect-selection", "cautious")
# ... and the customer features (int_customer_order_totals, int_customers_featurized) and the
# customers' monthly totals.
FEATURES = ("build", "--select", "+fct_rejected_order_lines", "int_input_files", "+int_customers_featurized",
            "int_customer_monthly_totals", "--indirect-selection", "cautious")
COLUMNS = ("select column_name, data_type from information_schema.columns "
           "where table_name = '{}' order by ordinal_position")
REGISTRY = ("select source_file, size_bytes, modified_at, first_read_in_run, first_read_at "
            "from int_input_files order by source_file")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> pa.Table:
    out, _ = generate(300, 7, tmp_path_factory.mktemp("demo") / "order_lines.parquet")
    return pq.read_table(out)


def demo_vars(path, **more) -> dict:
    return {"orders_format": "canonical", "orders_path": str(path), **more}


def day_files(demo: pa.Table, directory) -> list:
    """The demo split into day_1 (lines 1-1000), day_2 (lines 1001-2000) and day_3 (the rest),
    with day_2's first line a copy of day_1's line 10 (a cross-file duplicate)."""
    directory.mkdir()
    day_2 = pa.concat_tables([demo.slice(9, 1), demo.slice(1000, 1000)])
    parts = [demo.slice(0, 1000), day_2, demo.slice(2000)]
    paths = [directory / f"day_{number}.parquet" for number in (1, 2, 3)]
    for part, path in zip(parts, paths, strict=True):
        pq.write_table(part, path)
    return paths


def test_each_line_names_its_file_and_its_line_within_it(demo, tmp_path):
    """A glob: source_file is each file's own path and source_line_number counts from 1 in each
    file, in staging, validation and fct_rejected_order_lines."""
    paths = day_files(demo, tmp_path / "days")
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(tmp_path / "days" / "day_*.parquet"))
    counted = run.query("select source_file, count(*), min(source_line_number), max(source_line_number) "
                        "from int_order_lines_validated group by 1 order by 1")
    assert counted == [(str(paths[0]), 1000, 1, 1000), (str(paths[1]), 1001, 1, 1001),
                       (str(paths[2]), demo.num_rows - 2000, 1, demo.num_rows - 2000)]
    assert run.query("select count(*) from staging.stg_canonical__order_lines "
                     "where source_file is null") == [(0,)]
    assert run.query("select order_id from int_order_lines_validated "
                     f"where source_file = '{paths[1]}' and source_line_number = 2") \
        == [(demo["order_id"][1000].as_py(),)]


def test_a_cross_file_duplicate_is_the_later_files_copy(demo, tmp_path):
    """day_2's line 1 copies day_1's line 10: day_2's copy is the duplicate, although its line
    number is smaller, as in the files concatenated in name order (one file)."""
    paths = day_files(demo, tmp_path / "days")
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(tmp_path / "days" / "day_*.parquet"))
    duplicates = run.query("select source_file, source_line_number from fct_rejected_order_lines "
                           "where rejection_reason = 'duplicate line'")
    assert (str(paths[1]), 1) in duplicates
    assert (str(paths[0]), 10) not in duplicates
    whole = tmp_path / "whole.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(path) for path in paths]), whole)
    once = run_dbt(tmp_path / "once", *VALIDATE, vars=demo_vars(whole))
    reasons = "select rejection_reason, count(*) from fct_rejected_order_lines group by 1 order by 1"
    assert run.query(reasons) == once.query(reasons)
    assert once.query("select source_line_number from fct_rejected_order_lines "
                      "where rejection_reason = 'duplicate line'") == [(1001,)]
    assert once.query("select distinct source_file from int_order_lines_validated") == [(str(whole),)]


def test_a_table_input_has_no_source_file(demo, tmp_path):
    """var orders_table without a loaded_at column: lines are numbered in the table, source_file
    is null, and every build reads the whole table (the second one too, after rows were added)."""
    database = tmp_path / "build" / "segmentation.duckdb"
    database.parent.mkdir()
    with duckdb.connect(str(database)) as con:
        con.register("demo", demo.slice(0, 500))
        con.execute("create schema raw; create table raw.order_lines as select * from demo")
    table = {"orders_format": "canonical", "orders_table": "raw.order_lines"}
    run = run_dbt(tmp_path / "build", *REGISTER, vars=table)
    assert run.query("select count(*), count(source_file), max(source_line_number) "
                     "from int_order_lines_validated") == [(500, 0, 500)]
    # no files: the registry holds no rows
    assert run.query("select count(*) from int_input_files") == [(0,)]
    with duckdb.connect(str(database)) as con:
        con.register("more", demo.slice(500, 100))
        con.execute("insert into raw.order_lines select * from more")
    again = run_dbt(tmp_path / "build", *REGISTER, vars=table)
    assert again.query("select count(*), count(source_file), max(source_line_number) "
                       "from staging.stg_canonical__order_lines") == [(600, 0, 600)]
    assert again.query("select count(*), count(distinct source_line_number) "
                       "from int_order_lines_validated") == [(600, 600)]


def test_the_gate_example_names_the_line_and_its_file(demo, tmp_path):
    """The rejected-share gate quotes the top reason's first line in input order: day_2's
    line 1 (every day_2 quantity is unparseable), named with its file, as written there."""
    header = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "unit_price",
              "returned_quantity"]
    (tmp_path / "days").mkdir()
    for number, part in ((1, demo.slice(0, 1000)), (2, demo.slice(1000, 500))):
        rows = [[str(value) for value in values]
                for values in zip(*(part[name].to_pylist() for name in header), strict=True)]
        if number == 2:
            rows = [row[:4] + ["x"] + row[5:] for row in rows]
        text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
        (tmp_path / "days" / f"day_{number}.csv").write_text(text)
    run = run_dbt(tmp_path / "build", *VALIDATE, check=False,
                  vars=demo_vars(tmp_path / "days" / "day_*.csv"))
    assert run.returncode != 0
    first = demo["order_id"][1000].as_py()
    assert (f"Example, input line 1 of {tmp_path / 'days' / 'day_2.csv'} (unparseable value in quantity): "
            f"order_id='{first}'") in run.output, run.output[-3000:]


@pytest.mark.parametrize("limit, changed, reason", [
    ("max_rejected_line_share", "unit_price = -unit_price", "negative unit_price"),
    ("max_missing_customer_share", "customer_id = null", "missing customer_id"),
])
def test_the_gate_example_of_a_table_input_is_its_line_in_the_table(demo, tmp_path, limit, changed, reason):
    """A table input without loaded_at has no source_file: the gate's example is the top reason's
    first line numbered in the table, quoted as the table holds it, for broken lines and for
    guest orders alike."""
    database = tmp_path / "build" / "segmentation.duckdb"
    database.parent.mkdir()
    with duckdb.connect(str(database)) as con:
        con.register("demo", demo.slice(0, 500))
        con.execute("create schema raw; create table raw.order_lines as select * from demo")
        con.execute(f"update raw.order_lines set {changed} where order_id >= (select min(order_id) "
                    "from (select order_id from raw.order_lines order by order_id desc limit 300))")
    table = {"orders_format": "canonical", "orders_table": "raw.order_lines", limit: 0.2}
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=table, check=False)
    assert run.returncode != 0
    first, order_id = run.query(
        "select source_line_number, order_id from int_order_lines_validated "
        f"where rejection_reason = '{reason}' order by source_line_number limit 1")[0]
    assert run.query("select count(source_file) from int_order_lines_validated") == [(0,)]
    assert f"Example, input line {first} ({reason}): order_id='{order_id}'" in run.output, run.output[-3000:]


def invocation_id(workdir) -> str:
    """The invocation id of the last dbt command run in `workdir` (its run_results.json)."""
    return json.loads((workdir / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]


def stat_of(path) -> tuple[int, int]:
    """A file's size and modification time in microseconds, as the registry records them."""
    found = os.stat(path)
    return found.st_size, found.st_mtime_ns // 1000


def registered(run) -> dict:
    """The registry as {file name: (size, mtime in microseconds, first run)}."""
    rows = run.query("select source_file, size_bytes, epoch_us(modified_at), first_read_in_run "
                     "from int_input_files")
    return {os.path.basename(file): (size, mtime, first) for file, size, mtime, first in rows}


def test_each_file_read_is_registered_once_with_the_run_that_first_read_it(demo, tmp_path):
    """Each file a build read is registered with its size and mtime and the run that read it; a
    new day file is added by the next build, under that build's run, and the files registered
    before keep their rows as they were."""
    paths = day_files(demo, tmp_path / "days")
    day_3 = tmp_path / "day_3.parquet"
    shutil.move(paths[2], day_3)
    workdir = tmp_path / "build"
    days = demo_vars(tmp_path / "days" / "day_*.parquet")
    first = run_dbt(workdir, *REGISTER, vars=days)
    first_run = invocation_id(workdir)
    assert registered(first) == {"day_1.parquet": (*stat_of(paths[0]), first_run),
                                 "day_2.parquet": (*stat_of(paths[1]), first_run)}
    assert first.query("select count(*), count(distinct source_file) from int_input_files "
                       "where first_read_at is not null") == [(2, 2)]
    before = first.query(REGISTRY)

    shutil.move(day_3, paths[2])
    second = run_dbt(workdir, *REGISTER, vars=days)
    second_run = invocation_id(workdir)
    assert second_run != first_run
    assert second.query(REGISTRY)[:2] == before
    assert registered(second)["day_3.parquet"] == (*stat_of(paths[2]), second_run)


def test_the_registry_run_without_validation_registers_nothing(demo, tmp_path):
    """`dbt run --select int_input_files` alone, with a new file there: the file is not
    registered (its lines were not stored), so the next build reads it and equals a build from
    scratch (before, the file was registered and never read: its lines were missing, and day_1's
    order that it shares stayed valid)."""
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=2)
    run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    shutil.copy2(paths[2], arriving / paths[2].name)
    alone = run_dbt(tmp_path / "daily", "run", "--select", "int_input_files", vars=glob)
    assert alone.query("select source_file from int_input_files order by 1") \
        == [(str(arriving / path.name),) for path in paths[:2]]
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query(REGISTRY.replace("first_read_in_run, first_read_at", "1")) \
        == scratch.query(REGISTRY.replace("first_read_in_run, first_read_at", "1"))


def test_a_registered_file_changed_or_gone_stops_the_build(demo, tmp_path):
    """A registered file rewritten (other size; same size, other mtime) or deleted stops the next
    build before it writes anything, with one line naming the file; --full-refresh rebuilds
    from the files as they are and registers them anew."""
    paths = day_files(demo, tmp_path / "days")
    workdir = tmp_path / "build"
    days = demo_vars(tmp_path / "days" / "day_*.parquet")
    built = run_dbt(workdir, *REGISTER, vars=days)
    state = ("select (select count(*) from int_order_lines_validated), "
             "(select count(*) from fct_rejected_order_lines), "
             "(select count(*) from segment_build_outcomes)")
    before = built.query(state), built.query(REGISTRY)

    def refused(*args: str) -> str:
        run = run_dbt(workdir, *args, vars=days, check=False)
        assert run.returncode != 0, run.output[-3000:]
        assert "Traceback" not in run.output, run.output[-3000:]
        assert (run.query(state), run.query(REGISTRY)) == before
        return run.output

    # day_2 rewritten with other lines: another size
    original = paths[1].read_bytes()
    original_times = os.stat(paths[1])
    pq.write_table(demo.slice(1000, 900), paths[1])
    size = (f"input file changed since a build read it: '{paths[1]}' "
            f"(size {len(original):,} -> {paths[1].stat().st_size:,} bytes). Restore it")
    assert size in refused(*REGISTER)
    assert "dbt build --full-refresh" in refused(*REGISTER)
    assert size in refused("run", "--select", "int_input_files")

    # the same bytes back, with another mtime: the same size, modified since
    paths[1].write_bytes(original)
    os.utime(paths[1], ns=(original_times.st_atime_ns, original_times.st_mtime_ns + 5_000_000_000))
    output = refused(*REGISTER)
    assert f"input file changed since a build read it: '{paths[1]}' (modified " in output, output[-3000:]
    # restored as it was (its mtime too): builds
    os.utime(paths[1], ns=(original_times.st_atime_ns, original_times.st_mtime_ns))

    # day_1 deleted, day_3 rewritten: the first named, the other counted
    paths[0].unlink()
    pq.write_table(demo.slice(2000, 500), paths[2])
    output = refused(*REGISTER)
    assert (f"input file gone since a build read it: '{paths[0]}' "
            "(and 1 more registered file changed or gone). Restore it") in output, output[-3000:]

    rebuilt = run_dbt(workdir, *REGISTER, "--full-refresh", vars=days)
    assert sorted(registered(rebuilt)) == ["day_2.parquet", "day_3.parquet"]
    assert registered(rebuilt)["day_3.parquet"][:2] == stat_of(paths[2])
    assert rebuilt.query("select count(*) from int_order_lines_validated") == [(1001 + 500,)]


def test_lines_of_a_file_no_build_registered_stop_the_build_once_the_file_is_gone(demo, tmp_path):
    """A build can store a file's lines without registering the file: it failed after validation
    (here the rejected-share gate: day_3 is day_1 three times over, all duplicates), or it did not
    select int_input_files. The file is then removed. Its stored lines are not the input any
    more, so the next build stops before writing anything, naming the file, instead of keeping
    them (they would be in the features and the rejected lines, unlike a build from scratch);
    --full-refresh builds from the files there are. A file stored that way and still there is
    read again as a new file: the build equals a build from scratch."""
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=2)
    workdir = tmp_path / "daily"
    run_dbt(workdir, *FEATURES, vars=glob)
    stored = "select distinct source_file from int_order_lines_validated order by 1"

    # a build that fails after validation stored day_3's lines
    bad = arriving / "day_3.parquet"
    pq.write_table(pa.concat_tables([pq.read_table(paths[0])] * 3), bad)
    failed = run_dbt(workdir, *FEATURES, vars=glob, check=False)
    assert failed.returncode != 0 and "max_rejected_line_share" in failed.output, failed.output[-3000:]
    # the gate's example is the first such line in input order, as from scratch: day_2's line 1,
    # which this build does not read again (it reads day_3 only), given as stored
    first = pq.read_table(paths[1]).slice(0, 1).to_pylist()[0]
    assert (f"Example, input line 1 of {arriving / 'day_2.parquet'} (duplicate line): as an earlier build "
            f"stored it, order_id='{first['order_id']}', customer_id='{first['customer_id']}'"
            in failed.output), failed.output[-3000:]
    assert failed.query(stored)[-1] == (str(bad),)
    assert (str(bad),) not in failed.query("select source_file from int_input_files")
    narrowed = run_dbt(workdir, *FEATURES, vars=demo_vars(arriving / "day_[12].parquet"), check=False)
    assert (f"input file no longer matched by var orders_path: '{bad}' (a build stored its lines but did "
            "not register it") in narrowed.output, narrowed.output[-3000:]
    bad.unlink()
    state = ("select (select count(*) from int_order_lines_validated), "
             "(select count(*) from segment_build_outcomes)")
    before = failed.query(state)
    refused = run_dbt(workdir, *FEATURES, vars=glob, check=False)
    assert refused.returncode != 0
    assert "Traceback" not in refused.output
    assert (f"input file gone since a build read it: '{bad}' (a build stored its lines but did not "
            "register it: it failed, or did not select int_input_files). Restore it, or rebuild "
            "from the files as they are now: dbt build --full-refresh") in refused.output, \
        refused.output[-3000:]
    assert refused.query(state) == before
    rebuilt = run_dbt(workdir, *FEATURES, "--full-refresh", vars=glob)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob)
    assert rebuilt.query(VALIDATED) == scratch.query(VALIDATED)
    assert rebuilt.query(FEATURED) == scratch.query(FEATURED)

    # a build that stores day_3's lines without the registry, day_3 still there: read again
    shutil.copy2(paths[2], arriving / paths[2].name)
    run_dbt(workdir, *VALIDATE, vars=glob)
    assert (str(arriving / paths[2].name),) not in rebuilt.query("select source_file from int_input_files")
    daily = run_dbt(workdir, *FEATURES, vars=glob)
    scratch = run_dbt(tmp_path / "scratch_3", *FEATURES, vars=glob)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query(MONTHLY) == scratch.query(MONTHLY)


def demo_csv(part: pa.Table, path, encoding: str) -> None:
    """`part` as a canonical CSV in `encoding`."""
    header = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "unit_price",
              "returned_quantity"]
    rows = zip(*(part[name].to_pylist() for name in header), strict=True)
    text = "\n".join(",".join(str(value) for value in row) for row in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))


@pytest.mark.parametrize("layout", ["literal path with glob characters", "directory of parts",
                                    "windows-1252 glob read through copies"])
def test_files_are_registered_and_guarded_under_the_name_they_were_read_by(demo, tmp_path, layout):
    """The registry names each file as source_file does (the original, not a UTF-8 copy), and the
    guard finds it again: a changed mtime stops the next build naming that file as changed."""
    more = {}
    if layout == "literal path with glob characters":
        files = [tmp_path / "orders[12].parquet"]
        pq.write_table(demo, files[0])
        pq.write_table(demo.slice(0, 100), tmp_path / "orders1.parquet")  # the glob would read it
        orders_path = files[0]
    elif layout == "directory of parts":
        orders_path = tmp_path / "orders.parquet"
        orders_path.mkdir()
        files = [orders_path / "part-00000.parquet", orders_path / "part-00001.parquet"]
        pq.write_table(demo.slice(0, 2000), files[0])
        pq.write_table(demo.slice(2000), files[1])
    else:
        files = [tmp_path / "orders_1.csv", tmp_path / "orders_2.csv"]
        demo_csv(demo.slice(0, 2000), files[0], "cp1252")
        demo_csv(demo.slice(2000), files[1], "cp1252")
        orders_path = tmp_path / "orders_*.csv"
        more = {"orders_encoding": "windows-1252"}
    workdir = tmp_path / "build"
    run = run_dbt(workdir, *REGISTER, vars=demo_vars(orders_path, **more))
    assert run.query("select source_file, size_bytes, epoch_us(modified_at) from int_input_files "
                     "order by 1") == [(str(file), *stat_of(file)) for file in files]
    assert run.query("select count(*) from int_input_files where source_file not in "
                     "(select source_file from int_order_lines_validated)") == [(0,)]
    stat = os.stat(files[-1])
    os.utime(files[-1], ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    refused = run_dbt(workdir, *REGISTER, vars=demo_vars(orders_path, **more), check=False)
    assert f"input file changed since a build read it: '{files[-1]}' (modified " in refused.output, \
        refused.output[-3000:]


def test_pointing_orders_path_at_other_files_is_not_a_gone_file(demo, tmp_path):
    """Registered files the current orders_path does not match are not checked: a user who moves
    to another data set is not stopped by the old files being deleted. That build reads every
    file (as from scratch): the registry and the validated lines then hold the new files only."""
    old = day_files(demo, tmp_path / "old")
    new = day_files(demo, tmp_path / "new")
    workdir = tmp_path / "build"
    run_dbt(workdir, *REGISTER, vars=demo_vars(tmp_path / "old" / "day_*.parquet"))
    for path in old:
        path.unlink()
    run = run_dbt(workdir, *REGISTER, vars=demo_vars(tmp_path / "new" / "day_*.parquet"))
    assert run.query("select source_file from int_input_files order by 1") == [(str(path),) for path in new]
    assert run.query("select distinct source_file from int_order_lines_validated order by 1") \
        == [(str(path),) for path in new]


# --- Daily builds read only new files, and give what a build from scratch gives --------------
VALIDATED = ("select source_file, source_line_number, order_id, customer_id, ordered_at, product_id, "
             "quantity, unit_price, returned_quantity, is_return_line, line_value, rejection_reason, "
             "is_valid from int_order_lines_validated order by source_file, source_line_number")


FEATURED = "select * exclude (totals_as_of) from int_customer_order_totals natural join " \
    "int_customers_featurized order by customer_id"
MONTHLY = "select customer_id, order_month, net_value from int_customer_monthly_totals order by 1, 2"
# The marts of a whole build (none holds a run id or a build time).
MARTS = ("select * from dim_customers order by customer_id",
         "select * from dim_segment_profiles order by segment_id",
         "select * from fct_rejected_order_lines order by source_file, source_line_number",
         "select * from fct_segment_monthly_revenue order by segment_id, order_month")


def planted_days(demo: pa.Table, directory) -> list:
    """The demo in four day files by line order (planted_parts)."""
    directory.mkdir()
    paths = [directory / f"day_{number}.parquet" for number in (1, 2, 3, 4)]
    for part, path in zip(planted_parts(demo), paths, strict=True):
        pq.write_table(part, path)
    return paths


def planted_exports(demo: pa.Table, tmp_path, arrived: int) -> tuple[list, object, dict]:
    """The four planted day files under tmp_path/all, an exports folder holding the first
    `arrived` of them, and the vars of a glob of that folder."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    for path in paths[:arrived]:
        shutil.copy2(path, arriving / path.name)
    return paths, arriving, demo_vars(arriving / "day_*.parquet")


def planted_parts(demo: pa.Table) -> list[pa.Table]:
    """The demo in four parts by line order, with lines planted across parts: part 2 repeats a
    part 1 line (the later copy is the duplicate); part 3 gives a part 1 order id to another
    customer (every line of that order is rejected, part 1's included); part 4 repeats that line,
    and holds a copy of a part 2 line that part 2 itself holds twice. Customer C88888888 buys once
    in part 1 (its last line), and part 3 gives that order to another customer too: C88888888 has
    features until part 3, none after."""
    n = demo.num_rows
    cut = [0, n // 4, n // 2, 3 * n // 4, n]
    parts = [demo.slice(cut[i], cut[i + 1] - cut[i]) for i in range(4)]
    order_of_day_1 = demo.slice(5, 1)
    other_customer = order_of_day_1.set_column(1, "customer_id", pa.array(["C99999999"]))
    single = demo.slice(7, 1).set_column(0, "order_id", pa.array(["O88888888"]))
    parts[0] = pa.concat_tables([parts[0], single.set_column(1, "customer_id", pa.array(["C88888888"]))])
    other_customer = pa.concat_tables([other_customer,
                                       single.set_column(1, "customer_id", pa.array(["C77777777"]))])
    parts[1] = pa.concat_tables([demo.slice(9, 1), parts[1], parts[1].slice(3, 1)])
    parts[2] = pa.concat_tables([parts[2], other_customer])
    parts[3] = pa.concat_tables([other_customer, parts[1].slice(4, 1), parts[3]])
    return parts


def test_day_by_day_builds_equal_a_build_from_scratch(demo, tmp_path):
    """Each build reads only the day file it has not read; after each, the validated lines (every
    column, every verdict) and the customer features (every customer, every digit) equal a
    from-scratch build's on the same files; the last day's whole build gives the same marts."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    glob = demo_vars(arriving / "day_*.parquet")
    customer_seen = []
    for day, path in enumerate(paths, start=1):
        shutil.copy2(path, arriving / path.name)
        command = FEATURES if day < len(paths) else ("build",)
        daily = run_dbt(tmp_path / "daily", *command, vars=glob)
        staged = daily.query("select distinct source_file from staging.stg_canonical__order_lines")
        assert staged == [(str(arriving / path.name),)], f"day {day} staged {staged}"
        scratch = run_dbt(tmp_path / f"scratch_{day}", *command, vars=glob)
        assert daily.query(VALIDATED) == scratch.query(VALIDATED), f"day {day}"
        assert daily.query(FEATURED) == scratch.query(FEATURED), f"day {day}"
        assert daily.query(MONTHLY) == scratch.query(MONTHLY), f"day {day}"
        customer_seen.append(daily.query("select count(*) from int_customers_featurized "
                                         "where customer_id = 'C88888888'")[0][0])
        # the touched lines' table has the validated lines' columns, also when it lists them
        # itself (empty, in a first build)
        assert daily.query(COLUMNS.format("int_order_lines_of_touched_customers")) \
            == daily.query(COLUMNS.format("int_order_lines_validated")), f"day {day}"
    assert customer_seen == [1, 1, 0, 0]
    for mart in MARTS:
        assert daily.query(mart) == scratch.query(mart), mart
    verdict = ("select rejection_reason from int_order_lines_validated "
               "where source_file like '%{}' and source_line_number = {}")
    assert daily.query(verdict.format("day_1.parquet", 6)) == [("order_id used by more than one customer",)]
    assert daily.query(verdict.format("day_2.parquet", 1)) == [("duplicate line",)]


def test_a_build_of_part_of_the_dag_does_not_use_an_earlier_builds_touched_lines(demo, tmp_path):
    """A daily build reads its touched customers' stored lines before validation
    (int_order_lines_of_touched_customers), and validation and the sums use them only when the
    same command built them: a build that leaves them out (they are an earlier build's) judges
    the new file against the whole stored table, and the next build, whose sums must also add
    the customers that build judged, sums them from all their lines. Both equal a build from
    scratch (day_3 gives a day_1 order to another customer, whom the day_2 build did not touch)."""
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=2)
    run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    shutil.copy2(paths[2], arriving / paths[2].name)
    daily = run_dbt(tmp_path / "daily", "build", "--select", "+int_order_lines_validated", "int_input_files",
                    "--exclude", "int_order_lines_of_touched_customers", "int_touched_customers",
                    "--indirect-selection", "cautious", vars=glob)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    assert daily.query("select count(*) from int_order_lines_of_touched_customers") == [(0,)]
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query(MONTHLY) == scratch.query(MONTHLY)


@pytest.mark.parametrize("command", [
    (*FEATURES, "--exclude", "stg_canonical__order_lines"),
    ("run", "--select", "int_order_lines_validated", "int_touched_customers"),
], ids=["build excluding staging", "run of the models reading staging"])
def test_a_model_reading_staging_is_not_built_without_it(demo, tmp_path, command):
    """Staging is a view that names the files the build that created it read (a daily build:
    the files no build had read then). A command that builds a model reading it without
    rebuilding it read those files again and not the new one: validation judged day_2's lines
    again, which cleared day_1's verdicts that depend on them (3 rejected lines, then 0), and left
    day_3 unread. Such a command stops before writing, in one line naming the staging model; the
    next whole build reads day_3 and equals a build from scratch."""
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=1)
    run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    shutil.copy2(paths[1], arriving / paths[1].name)
    built = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    before = built.query(VALIDATED), built.query(REGISTRY), built.query(FEATURED)
    shutil.copy2(paths[2], arriving / paths[2].name)
    stopped = run_dbt(tmp_path / "daily", *command, vars=glob, check=False)
    assert stopped.returncode != 0, stopped.output[-3000:]
    assert "Traceback" not in stopped.output, stopped.output[-3000:]
    assert "without stg_canonical__order_lines" in stopped.output, stopped.output[-3000:]
    assert (stopped.query(VALIDATED), stopped.query(REGISTRY), stopped.query(FEATURED)) == before
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)


def test_a_line_rejected_as_in_the_future_is_judged_again_once_its_time_has_come(demo, tmp_path):
    """`ordered_at in the future` is the one verdict that time alone changes: a build from
    scratch once that time has passed accepts the line. day_1 ends with five lines dated 45 s
    after the first build starts: a new customer's only order, the first copy of a line day_2
    repeats, an existing day_1 order given to another customer, a copy of the first of them, and a
    line with quantity 0. The next daily build, with no new file, and the one after it, reading day_2,
    each equal a build from scratch on the same files at that time: the new customer has features,
    the shared order's lines are all rejected, the copies are the later ones, the quantity 0 line
    is rejected for its quantity."""
    directory = tmp_path / "all"
    directory.mkdir()
    arriving = tmp_path / "exports"
    arriving.mkdir()
    glob = demo_vars(arriving / "day_*.parquet")
    started = datetime.now()
    due = started + timedelta(seconds=45)
    ordered_at = demo.schema.field("ordered_at").type

    def dated(line: pa.Table, **values) -> pa.Table:
        line = line.set_column(2, "ordered_at", pa.array([due], ordered_at))
        for name, value in values.items():
            index = line.schema.get_field_index(name)
            line = line.set_column(index, name, pa.array([value], line.schema.field(name).type))
        return line

    new_customer = dated(demo.slice(20, 1), order_id="O66666666", customer_id="C66666666")
    first_copy = dated(demo.slice(1000, 1), order_id="O55555555", customer_id="C55555555")
    day_1 = pa.concat_tables([
        demo.slice(0, 1000),
        new_customer,
        first_copy,
        dated(demo.slice(5, 1), customer_id="C99999999"),
        new_customer,
        dated(demo.slice(40, 1), quantity=0),
    ])
    day_2 = pa.concat_tables([demo.slice(1000, 1000), first_copy])
    paths = [directory / "day_1.parquet", directory / "day_2.parquet"]
    pq.write_table(day_1, paths[0])
    pq.write_table(day_2, paths[1])

    shutil.copy2(paths[0], arriving / paths[0].name)
    run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    future = ("select source_line_number from int_order_lines_validated "
              "where rejection_reason = 'ordered_at in the future' order by 1")
    verdicts = ("select source_line_number, rejection_reason from int_order_lines_validated "
                "where source_file like '%day_1.parquet' and source_line_number > 1000 order by 1")
    time.sleep(max(0.0, (due - datetime.now()).total_seconds() + 1))
    for step, arrived in enumerate([None, paths[1]], start=1):
        if arrived is not None:
            shutil.copy2(arrived, arriving / arrived.name)
        daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
        scratch = run_dbt(tmp_path / f"scratch_{step}", *FEATURES, vars=glob)
        assert daily.query(future) == [], f"step {step}"
        assert daily.query(VALIDATED) == scratch.query(VALIDATED), f"step {step}"
        assert daily.query(FEATURED) == scratch.query(FEATURED), f"step {step}"
        assert daily.query(MONTHLY) == scratch.query(MONTHLY), f"step {step}"
    assert daily.query(verdicts) == [
        (1001, None), (1002, None),
        (1003, "order_id used by more than one customer"),
        (1004, "duplicate line"),
        (1005, "quantity not positive"),
    ]
    assert daily.query("select rejection_reason from int_order_lines_validated "
                       "where source_file like '%day_1.parquet' and source_line_number = 6") \
        == [("order_id used by more than one customer",)]
    assert daily.query("select rejection_reason from int_order_lines_validated "
                       "where source_file like '%day_2.parquet' and source_line_number = 1001") \
        == [("duplicate line",)]
    assert daily.query("select count(*) from int_customers_featurized "
                       "where customer_id = 'C66666666'") == [(1,)]


def uci_month_files(source, directory) -> list:
    """The UCI file as four loads by month (history to August 2011, September, October, November
    to December), with lines planted across them: September repeats the first history line (a
    duplicate) and returns product ZZPLANT for customer 12347 before any purchase of it, which
    November brings (the return is valid once November is read); October gives history invoice
    536365 to customer 99999 (every line of it is rejected, history's included)."""
    import pyarrow.compute as pc

    table = pq.read_table(source)
    month = pc.strftime(table["InvoiceDate"], format="%Y-%m")
    loads = {"2011_08": pc.less_equal(month, "2011-08"), "2011_09": pc.equal(month, "2011-09"),
             "2011_10": pc.equal(month, "2011-10"), "2011_12": pc.greater_equal(month, "2011-11")}
    parts = {name: table.filter(mask) for name, mask in loads.items()}

    def line(**values) -> pa.Table:
        row = {**table.slice(0, 1).to_pylist()[0], **values}
        return pa.Table.from_pylist([row], schema=table.schema)

    september = parts["2011_09"]["InvoiceDate"][0].as_py()
    november = parts["2011_12"]["InvoiceDate"][0].as_py()
    parts["2011_09"] = pa.concat_tables([parts["2011_09"], table.slice(0, 1),
                                         line(InvoiceNo="C900001", StockCode="ZZPLANT", Quantity=-1,
                                              CustomerID=12347, InvoiceDate=september)])
    parts["2011_10"] = pa.concat_tables([parts["2011_10"], line(CustomerID=99999)])
    parts["2011_12"] = pa.concat_tables([parts["2011_12"], line(InvoiceNo="900002", StockCode="ZZPLANT",
                                                                Quantity=2, CustomerID=12347,
                                                                InvoiceDate=november)])
    directory.mkdir()
    paths = []
    for name, part in parts.items():
        paths.append(directory / f"orders_{name}.parquet")
        pq.write_table(part, paths[-1])
    return paths


def test_uci_month_by_month_equals_a_build_from_scratch(online_retail_data, tmp_path):
    """The UCI layout, a load at a time: cancellations of earlier purchases, a return whose
    purchase arrives two loads later, an old invoice given to another customer, a cross-load
    duplicate; at the end the validated lines equal a from-scratch build's."""
    paths = uci_month_files(online_retail_data, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    glob = {"orders_format": "online_retail", "orders_path": str(arriving / "orders_*.parquet")}
    verdict = ("select rejection_reason from int_order_lines_validated "
               "where order_id = 'C900001' and product_id = 'ZZPLANT'")
    for path in paths:
        shutil.copy2(path, arriving / path.name)
        daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
        if path.name == "orders_2011_09.parquet":
            assert daily.query(verdict) == [("return without a purchase of the product by the customer",)]
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query(MONTHLY) == scratch.query(MONTHLY)
    assert daily.query(verdict) == [(None,)]
    assert daily.query("select count(*), count(distinct rejection_reason) from int_order_lines_validated "
                       "where order_id = '536365'") == [(9, 1)]


def test_pointing_orders_path_at_fewer_files_builds_from_scratch(demo, tmp_path):
    """After a daily build of four files, orders_path is narrowed to the first two: the lines of
    the others are gone from the validated lines and their verdicts, as from scratch (day_1's
    order given to another customer on day_3 is valid again)."""
    paths = planted_days(demo, tmp_path / "days")
    run_dbt(tmp_path / "daily", *REGISTER, vars=demo_vars(tmp_path / "days" / "day_*.parquet"))
    narrowed = demo_vars(tmp_path / "days" / "day_[12].parquet")
    daily = run_dbt(tmp_path / "daily", *REGISTER, vars=narrowed)
    scratch = run_dbt(tmp_path / "scratch", *REGISTER, vars=narrowed)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query("select source_file from int_input_files order by 1") == [(str(p),) for p in paths[:2]]
    assert daily.query("select rejection_reason from int_order_lines_validated "
                       "where source_file like '%day_1.parquet' and source_line_number = 6") == [(None,)]


def test_validated_lines_stored_by_an_older_version_ask_for_a_full_refresh(demo, tmp_path):
    """A warehouse built before daily builds has no line_fingerprint: the build says what to do."""
    glob = demo_vars(tmp_path / "days" / "day_*.parquet")
    day_files(demo, tmp_path / "days")
    first = run_dbt(tmp_path / "build", *REGISTER, vars=glob)
    with duckdb.connect(str(first.db)) as con:
        con.execute("alter table int_order_lines_validated drop column line_fingerprint")
        con.execute("drop table int_input_files")
    run = run_dbt(tmp_path / "build", *REGISTER, vars=glob, check=False)
    assert run.returncode != 0
    assert "were stored by an older version of this project (no line_fingerprint): run dbt build " \
           "--full-refresh once" in run.output, run.output[-3000:]
    run_dbt(tmp_path / "build", *REGISTER, "--full-refresh", vars=glob)


def test_a_build_under_other_input_rules_reads_every_file_again(demo, tmp_path):
    """Each registered file records the rules its lines were judged under: a registry without
    them (an older version) or under other ones (here orders_encoding changed, for ASCII CSV files
    that read the same either way) makes the build read every file again, as from scratch; the
    build after it is daily again."""
    days = tmp_path / "days"
    days.mkdir()
    workdir = tmp_path / "build"
    utf8, latin1 = demo_vars(days / "day_*.csv"), demo_vars(days / "day_*.csv", orders_encoding="latin-1")
    staged = "select distinct source_file from staging.stg_canonical__order_lines order by 1"

    def arrives(number: int, part: pa.Table, vars: dict):
        demo_csv(part, days / f"day_{number}.csv", "ascii")
        return run_dbt(workdir, *REGISTER, vars=vars)

    first = arrives(1, demo.slice(0, 1000), utf8)
    with duckdb.connect(str(first.db)) as con:
        con.execute("alter table int_input_files drop column read_with_rules")
    older = arrives(2, demo.slice(1000, 1000), utf8)
    assert older.query(staged) == [(str(days / f"day_{n}.csv"),) for n in (1, 2)]
    assert older.query("select count(read_with_rules) from int_input_files") == [(2,)]
    other_rules = arrives(3, demo.slice(2000, 1000), latin1)
    assert other_rules.query(staged) == [(str(days / f"day_{n}.csv"),) for n in (1, 2, 3)]
    daily = arrives(4, demo.slice(3000), latin1)
    assert daily.query(staged) == [(str(days / "day_4.csv"),)]


def test_lines_fingerprinted_by_another_duckdb_are_judged_again(demo, tmp_path):
    """A line's fingerprint (line_fingerprint, by which duplicates are found) is DuckDB's hash(),
    which other DuckDB versions compute differently (duckdb/duckdb#17596: 1.2.2 and 1.3.0 differ).
    Here day_1 is stored as another DuckDB would have left it (each fingerprint changed, the
    registry naming that version), then day_2 arrives repeating a day_1 line: the build reads
    every file again, as from scratch, so day_2's copy is the duplicate (before, both lines were
    valid: no stored fingerprint matched the new line's); the build after it is daily again."""
    days = tmp_path / "days"
    days.mkdir()
    glob = demo_vars(days / "day_*.parquet")
    pq.write_table(demo.slice(0, 1000), days / "day_1.parquet")
    first = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    with duckdb.connect(str(first.db)) as con:
        con.execute("update int_order_lines_validated set line_fingerprint = xor(line_fingerprint, 1)")
        columns = [row[0] for row in con.execute("describe int_input_files").fetchall()]
        if "read_with_duckdb" in columns:
            con.execute("update int_input_files set read_with_duckdb = '1.2.2'")
    pq.write_table(pa.concat_tables([demo.slice(9, 1), demo.slice(1000, 1000)]), days / "day_2.parquet")
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob)
    assert daily.query("select rejection_reason from int_order_lines_validated "
                       "where source_file like '%day_2.parquet' and source_line_number = 1") \
        == [("duplicate line",)]
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    staged = "select distinct source_file from staging.stg_canonical__order_lines order by 1"
    assert daily.query(staged) == [(str(days / f"day_{n}.parquet"),) for n in (1, 2)]
    version = duckdb.connect().execute("select library_version from pragma_version()").fetchone()[0]
    assert daily.query("select distinct read_with_duckdb from int_input_files") == [(version,)]
    pq.write_table(demo.slice(2000), days / "day_3.parquet")
    after = run_dbt(tmp_path / "daily", *FEATURES, vars=glob)
    assert after.query(staged) == [(str(days / "day_3.parquet"),)]


def test_revenue_reconciliation_fails_on_a_wrong_sum(demo, tmp_path):
    """assert_customer_revenue_reconciles checks the customers summed in the latest build against
    their lines, and dim_customers against the sums: a sum or a customer's spending off by one
    fails it, naming the equation."""
    part = tmp_path / "orders.parquet"
    pq.write_table(demo, part)
    built = run_dbt(tmp_path / "build", "build", vars=demo_vars(part))
    reconcile = ("test", "--select", "assert_customer_revenue_reconciles")
    run_dbt(tmp_path / "build", *reconcile, vars=demo_vars(part))
    for table, column, equation in (
            ("int_customer_order_totals", "gross_spending",
             "gross value of valid lines = gross spending summed for their customers"),
            ("dim_customers", "net_spending", "customers summed: net spending = customers net spending")):
        with duckdb.connect(str(built.db)) as con:
            customer = con.execute(f"select min(customer_id) from {table}").fetchone()[0]
            con.execute(f"update {table} set {column} = {column} + 1 where customer_id = ?", [customer])
        failed = run_dbt(tmp_path / "build", *reconcile, "--store-failures", vars=demo_vars(part),
                         check=False)
        assert failed.returncode != 0, failed.output[-2000:]
        with duckdb.connect(str(built.db), read_only=True) as con:
            schema = con.execute("select table_schema from information_schema.tables "
                                 "where table_name = 'assert_customer_revenue_reconciles'").fetchone()[0]
            found = con.execute(f"select equation from {schema}.assert_customer_revenue_reconciles")\
                .fetchall()
        assert (equation,) in found, found
        with duckdb.connect(str(built.db)) as con:
            con.execute(f"update {table} set {column} = {column} - 1 where customer_id = ?", [customer])


# --- A table input that grows: each loaded_at is one load, read as a file is ------------------
TABLE = {"orders_format": "canonical", "orders_table": "raw.order_lines"}
STAGED = "select distinct source_file from staging.stg_canonical__order_lines order by 1"


def test_revenue_reconciliation_of_a_daily_build_checks_the_customers_it_summed(demo, tmp_path):
    """After a daily build (some customers' sums kept) the test looks up the lines of the
    customers summed in that build only (the others were checked when summed): a sum of one of
    them off by one fails it, as does one of their valid lines changed by one."""
    days = tmp_path / "days"
    paths = day_files(demo, days)
    for path in paths[2:]:
        path.rename(tmp_path / path.name)
    glob = demo_vars(days / "day_*.parquet")
    run_dbt(tmp_path / "build", *FEATURES, vars=glob)
    (tmp_path / paths[2].name).rename(paths[2])
    daily = run_dbt(tmp_path / "build", "build", vars=glob)
    reconcile = ("test", "--select", "assert_customer_revenue_reconciles")
    latest = "(select max(totals_as_of) from int_customer_order_totals)"
    with duckdb.connect(str(daily.db), read_only=True) as con:
        summed, kept = con.execute(
            f"select count(*) filter (where totals_as_of = {latest}), "
            f"count(*) filter (where totals_as_of < {latest}) from int_customer_order_totals").fetchone()
        customer = con.execute("select min(customer_id) from int_customer_order_totals "
                               f"where totals_as_of = {latest}").fetchone()[0]
    assert summed > 0 and kept > 0, (summed, kept)
    run_dbt(tmp_path / "build", *reconcile, vars=glob)
    for change in ("update int_customer_order_totals set gross_spending = gross_spending + 1 "
                   "where customer_id = ?",
                   "update int_order_lines_validated set unit_price = unit_price + 1 where customer_id = ? "
                   "and is_valid and source_line_number = (select min(source_line_number) from "
                   "int_order_lines_validated where customer_id = ? and is_valid "
                   "and source_file like '%day_3%')"):
        with duckdb.connect(str(daily.db)) as con:
            con.execute("checkpoint")
            con.execute("create or replace table backup as select * from int_customer_order_totals")
            con.execute("create or replace table backup_lines as select * from int_order_lines_validated")
            con.execute(change, [customer] * change.count("?"))
        failed = run_dbt(tmp_path / "build", *reconcile, vars=glob, check=False)
        assert failed.returncode != 0, failed.output[-2000:]
        assert "assert_customer_revenue_reconciles" in failed.output
        with duckdb.connect(str(daily.db)) as con:
            con.execute("create or replace table int_customer_order_totals as select * from backup")
            con.execute("create or replace table int_order_lines_validated as select * from backup_lines")
            con.execute("drop table backup; drop table backup_lines")


def load_name(loaded_at: datetime) -> str:
    """A load's source_file: the table and its loaded_at, ISO to the microsecond."""
    return f"raw.order_lines@{loaded_at:%Y-%m-%dT%H:%M:%S.%f}"


def insert_load(database, part: pa.Table, loaded_at: datetime | None) -> None:
    """Appends `part` to raw.order_lines in `database` (made on first use) with that loaded_at."""
    database.parent.mkdir(parents=True, exist_ok=True)
    load = part.append_column("loaded_at", pa.array([loaded_at] * part.num_rows, pa.timestamp("us")))
    with duckdb.connect(str(database)) as con:
        con.register("load", load)
        con.execute("create schema if not exists raw")
        con.execute("create table if not exists raw.order_lines as select * from load where false")
        con.execute("insert into raw.order_lines select * from load")


def copy_of_table(database, workdir):
    """A new warehouse in `workdir` holding `database`'s raw.order_lines, its rows in another
    physical order (a load's lines are numbered by their values, not by where they lie)."""
    workdir.mkdir()
    with duckdb.connect(str(workdir / "segmentation.duckdb")) as con:
        con.execute(f"attach '{database}' as grown (read_only)")
        con.execute("create schema raw")
        con.execute("create table raw.order_lines as select * from grown.raw.order_lines as line "
                    "order by hash(line) desc")
        con.execute("detach grown")


def test_a_table_growing_load_by_load_equals_a_build_from_scratch(demo, tmp_path, monkeypatch):
    """raw.order_lines grows by loads (loaded_at): day 1, day 2 (a copy of a day 1 line), day 3
    (a day 1 order id given to another customer), then a late load dated between day 1 and day 2
    holding a copy of a day 2 line. Each build stages only the new load; after each, the validated
    lines and the customer features equal a from-scratch build on the same table (its rows in
    another order). loaded_at is not part of the line: a copy in another load is a duplicate,
    and input order is loads by loaded_at, so the late load's copy is kept and day 2's is not.
    As with files, the builds after the first run with DuckDB's lower memory_limit."""
    monkeypatch.delenv("SEGMENTATION_DUCKDB_MEMORY_LIMIT", raising=False)
    log = tmp_path / "daily" / "logs" / "dbt.log"
    lowered = []
    parts = planted_parts(demo)
    days = [datetime(2025, 12, 1), datetime(2025, 12, 2), datetime(2025, 12, 3), datetime(2025, 12, 1, 12)]
    copied = parts[1].slice(20, 1)
    loads = [parts[0], parts[1], pa.concat_tables([parts[2], parts[3]]), copied]
    database = tmp_path / "daily" / "segmentation.duckdb"
    customer_seen = []
    for day, (load, loaded_at) in enumerate(zip(loads, days, strict=True), start=1):
        insert_load(database, load, loaded_at)
        before = log.read_text() if log.exists() else ""
        daily = run_dbt(tmp_path / "daily", *FEATURES, vars=TABLE)
        lowered.append("set memory_limit = '3GB'" in log.read_text()[len(before):])
        assert daily.query(STAGED) == [(load_name(loaded_at),)], f"day {day}"
        customer_seen.append(daily.query("select count(*) from int_customers_featurized "
                                         "where customer_id = 'C88888888'")[0][0])
        # the touched lines' table has the validated lines' columns, also when it lists them
        # itself (empty, in a first build)
        assert daily.query(COLUMNS.format("int_order_lines_of_touched_customers")) \
            == daily.query(COLUMNS.format("int_order_lines_validated")), f"day {day}"
        if day > 1:
            copy_of_table(database, tmp_path / f"scratch_{day}")
            scratch = run_dbt(tmp_path / f"scratch_{day}", *FEATURES, vars=TABLE)
            assert daily.query(VALIDATED) == scratch.query(VALIDATED), f"day {day}"
            assert daily.query(FEATURED) == scratch.query(FEATURED), f"day {day}"
            assert daily.query(MONTHLY) == scratch.query(MONTHLY), f"day {day}"
    assert customer_seen == [1, 1, 0, 0]
    assert lowered == [False, True, True, True]
    assert daily.query("select source_file, size_bytes, modified_at from int_input_files order by 1") \
        == [(load_name(at), load.num_rows, at) for at, load in sorted(zip(days, loads, strict=True))]

    def verdicts(line: pa.Table, loaded_at: datetime) -> list:
        row = line.to_pylist()[0]
        return daily.query("select rejection_reason from int_order_lines_validated "
                           f"where source_file = '{load_name(loaded_at)}' and order_id = '{row['order_id']}' "
                           f"and product_id = '{row['product_id']}' and quantity = {row['quantity']}")
    assert verdicts(demo.slice(9, 1), days[1]) == [("duplicate line",)]
    assert verdicts(demo.slice(9, 1), days[0]) == [(None,)]
    assert verdicts(copied, days[1]) == [("duplicate line",)]
    assert verdicts(copied, days[3]) == [(None,)]
    assert verdicts(demo.slice(5, 1), days[0]) == [("order_id used by more than one customer",)]


def test_a_changed_load_or_rows_without_loaded_at_stop_the_build(demo, tmp_path):
    """A registered load whose row count changed (a row inserted with its loaded_at) or whose rows
    are gone stops the next build before it writes anything, with one line naming the load; rows
    without a loaded_at stop every build, --full-refresh included, with one line counting them;
    --full-refresh on the table as it is then rebuilds the registry."""
    workdir = tmp_path / "build"
    database = workdir / "segmentation.duckdb"
    days = [datetime(2025, 12, 1), datetime(2025, 12, 2)]
    insert_load(database, demo.slice(0, 1000), days[0])
    insert_load(database, demo.slice(1000, 500), days[1])
    built = run_dbt(workdir, *REGISTER, vars=TABLE)
    assert built.query("select source_file, size_bytes, modified_at from int_input_files order by 1") \
        == [(load_name(days[0]), 1000, days[0]), (load_name(days[1]), 500, days[1])]
    state = ("select (select count(*) from int_order_lines_validated), "
             "(select count(*) from fct_rejected_order_lines), "
             "(select count(*) from segment_build_outcomes)")
    before = built.query(state), built.query(REGISTRY)

    def refused(*args: str) -> str:
        run = run_dbt(workdir, *REGISTER, *args, vars=TABLE, check=False)
        assert run.returncode != 0, run.output[-3000:]
        assert "Traceback" not in run.output, run.output[-3000:]
        assert (run.query(state), run.query(REGISTRY)) == before
        return run.output

    def execute(sql: str) -> None:
        with duckdb.connect(str(database)) as con:
            con.execute(sql)

    insert_load(database, demo.slice(2000, 1), days[0])
    output = refused()
    assert (f"input load changed since a build read it: '{load_name(days[0])}' (rows 1,000 -> 1,001). "
            "Restore it as it was (the same rows with that loaded_at), or rebuild from the table as it "
            "is now: dbt build --full-refresh") in output, output[-3000:]
    execute("delete from raw.order_lines where rowid = (select max(rowid) from raw.order_lines)")
    execute(f"delete from raw.order_lines where loaded_at = '{days[1]}'")
    insert_load(database, demo.slice(2000, 1), days[0])
    output = refused()
    assert (f"input load changed since a build read it: '{load_name(days[0])}' (rows 1,000 -> 1,001; "
            "and 1 more registered load changed or gone). Restore it") in output, output[-3000:]
    execute("delete from raw.order_lines where rowid = (select max(rowid) from raw.order_lines)")
    output = refused()
    assert f"input load gone since a build read it: '{load_name(days[1])}'. Restore it" in output, \
        output[-3000:]

    insert_load(database, demo.slice(2000, 2), None)
    message = ("2 rows of table raw.order_lines have no loaded_at: set it to when each row was loaded "
               "(the rows of one load share one value), or drop the column loaded_at to read the whole "
               "table on every build")
    assert message in refused(), message
    assert message in refused("--full-refresh")
    execute("delete from raw.order_lines where loaded_at is null")
    rebuilt = run_dbt(workdir, *REGISTER, "--full-refresh", vars=TABLE)
    assert rebuilt.query("select source_file, size_bytes from int_input_files") \
        == [(load_name(days[0]), 1000)]
    assert rebuilt.query("select count(*) from int_order_lines_validated") == [(1000,)]


def test_a_load_no_build_registered_stops_the_build_once_its_rows_are_gone(demo, tmp_path):
    """As for files (test_lines_of_a_file_no_build_registered_stop_the_build_once_the_file_is_gone):
    a load stored by a build that failed after validation (the gate: the load repeats day 1's
    lines), then deleted from the table, stops the next build, naming the load; --full-refresh
    builds from the table as it is, as a build from scratch does."""
    workdir = tmp_path / "build"
    database = workdir / "segmentation.duckdb"
    days = [datetime(2025, 12, 1), datetime(2025, 12, 2)]
    insert_load(database, demo.slice(0, 1000), days[0])
    run_dbt(workdir, *FEATURES, vars=TABLE)
    insert_load(database, pa.concat_tables([demo.slice(0, 1000)] * 2), days[1])
    failed = run_dbt(workdir, *FEATURES, vars=TABLE, check=False)
    assert failed.returncode != 0 and "max_rejected_line_share" in failed.output, failed.output[-3000:]
    assert failed.query("select distinct source_file from int_order_lines_validated order by 1") \
        == [(load_name(days[0]),), (load_name(days[1]),)]
    with duckdb.connect(str(database)) as con:
        con.execute(f"delete from raw.order_lines where loaded_at = '{days[1]}'")
    refused = run_dbt(workdir, *FEATURES, vars=TABLE, check=False)
    assert refused.returncode != 0 and "Traceback" not in refused.output
    assert (f"input load gone since a build read it: '{load_name(days[1])}' (a build stored its lines but "
            "did not register it: it failed, or did not select int_input_files). Restore its rows, or "
            "rebuild from the table as it is now: dbt build --full-refresh") in refused.output, \
        refused.output[-3000:]
    rebuilt = run_dbt(workdir, *FEATURES, "--full-refresh", vars=TABLE)
    assert rebuilt.query("select distinct source_file from int_order_lines_validated") \
        == [(load_name(days[0]),)]
    assert rebuilt.query("select count(*) from int_order_lines_validated") == [(1000,)]


def test_the_registry_run_without_validation_registers_no_load(demo, tmp_path):
    """As for files (test_the_registry_run_without_validation_registers_nothing): a new load in
    the table, `dbt run --select int_input_files` alone registers nothing, and the next build
    reads the load."""
    workdir = tmp_path / "build"
    database = workdir / "segmentation.duckdb"
    days = [datetime(2025, 12, 1), datetime(2025, 12, 2)]
    insert_load(database, demo.slice(0, 1000), days[0])
    run_dbt(workdir, *REGISTER, vars=TABLE)
    insert_load(database, demo.slice(1000, 500), days[1])
    alone = run_dbt(workdir, "run", "--select", "int_input_files", vars=TABLE)
    assert alone.query("select source_file from int_input_files") == [(load_name(days[0]),)]
    daily = run_dbt(workdir, *REGISTER, vars=TABLE)
    assert daily.query("select source_file, count(*) from int_order_lines_validated group by 1 order by 1") \
        == [(load_name(days[0]), 1000), (load_name(days[1]), 500)]


def test_a_file_with_a_loaded_at_column_reads_it_as_any_other_column(demo, tmp_path):
    """loaded_at means a load only in a DuckDB table input: in a file it is one more column, so
    two lines that differ only there are two lines, and source_file is the file."""
    part = demo.slice(0, 500)
    part = pa.concat_tables([part, part.slice(9, 1)])
    stamps = [datetime(2025, 12, 1)] * 500 + [datetime(2025, 12, 2)]
    path = tmp_path / "orders.parquet"
    pq.write_table(part.append_column("loaded_at", pa.array(stamps, pa.timestamp("us"))), path)
    run = run_dbt(tmp_path / "build", *REGISTER, vars=demo_vars(path))
    assert run.query("select source_line_number, rejection_reason from int_order_lines_validated "
                     "where source_line_number in (10, 501) order by 1") == [(10, None), (501, None)]
    assert run.query("select distinct source_file from int_order_lines_validated") == [(str(path),)]


def uci_lines(part: pa.Table) -> pa.Table:
    """Demo lines in the UCI "Online Retail" layout, each a purchase."""
    return pa.table({"InvoiceNo": part["order_id"], "StockCode": part["product_id"],
                     "Quantity": part["quantity"], "InvoiceDate": part["ordered_at"],
                     "UnitPrice": part["unit_price"], "CustomerID": part["customer_id"]})


def test_uci_table_returns_across_loads_equal_a_build_from_scratch(demo, tmp_path):
    """The UCI layout as a growing table: load 2 cancels a load 1 purchase (valid: the purchase is
    stored) and returns product ZZPLANT, which that customer has not bought (rejected); a late
    load dated before load 2 brings the purchase, and the return is then valid. Each build stages
    only its load, and the validated lines and features equal a from-scratch build's."""
    half = demo.num_rows // 2
    first, second = uci_lines(demo.slice(0, half)), uci_lines(demo.slice(half))
    bought = first.slice(0, 1).to_pylist()[0]
    second = pa.concat_tables([second, pa.Table.from_pylist(
        [{**bought, "InvoiceNo": "C900001", "Quantity": -1},
         {**bought, "InvoiceNo": "C900002", "StockCode": "ZZPLANT", "Quantity": -1}], schema=first.schema)])
    late = pa.Table.from_pylist([{**bought, "InvoiceNo": "900003", "StockCode": "ZZPLANT", "Quantity": 2}],
                                schema=first.schema)
    days = [datetime(2025, 12, 1), datetime(2025, 12, 3), datetime(2025, 12, 2)]
    table = {**TABLE, "orders_format": "online_retail"}
    database = tmp_path / "daily" / "segmentation.duckdb"
    reasons = []
    for day, (load, loaded_at) in enumerate(zip([first, second, late], days, strict=True), start=1):
        insert_load(database, load, loaded_at)
        daily = run_dbt(tmp_path / "daily", *FEATURES, vars=table)
        assert daily.query("select distinct source_file from staging.stg_online_retail__order_lines") \
            == [(load_name(loaded_at),)], f"load {day}"
        reasons.append(daily.query("select order_id, rejection_reason from int_order_lines_validated "
                                   "where order_id like 'C9%' order by 1"))
        if day > 1:
            copy_of_table(database, tmp_path / f"scratch_{day}")
            scratch = run_dbt(tmp_path / f"scratch_{day}", *FEATURES, vars=table)
            assert daily.query(VALIDATED) == scratch.query(VALIDATED), f"load {day}"
            assert daily.query(FEATURED) == scratch.query(FEATURED), f"load {day}"
            assert daily.query(MONTHLY) == scratch.query(MONTHLY), f"load {day}"
    assert reasons == [[], [("C900001", None),
                            ("C900002", "return without a purchase of the product by the customer")],
                       [("C900001", None), ("C900002", None)]]


@pytest.mark.parametrize("sql_type, first, second, names", [
    ("date", "2025-12-01", "2025-12-02",
     ["raw.order_lines@2025-12-01T00:00:00.000000", "raw.order_lines@2025-12-02T00:00:00.000000"]),
    ("timestamptz", "2025-12-01 23:30:00+01", "2025-12-01 23:30:00-05",
     ["raw.order_lines@2025-12-01T22:30:00.000000", "raw.order_lines@2025-12-02T04:30:00.000000"]),
])
def test_a_loaded_at_date_or_time_with_zone_names_each_load_in_utc(demo, tmp_path, sql_type, first, second,
                                                                   names):
    """loaded_at may be a date or a timestamp with time zone: each distinct value is one load,
    named by its time in UTC, and the second build reads only the second load."""
    database = tmp_path / "build" / "segmentation.duckdb"

    def load(part: pa.Table, loaded_at: str) -> None:
        value = first if loaded_at == "first" else second
        database.parent.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(database)) as con:
            con.register("part", part)
            con.execute("create schema if not exists raw")
            con.execute(f"create table if not exists raw.order_lines as "
                        f"select *, cast(null as {sql_type}) as loaded_at from part where false")
            con.execute(f"insert into raw.order_lines select *, cast('{value}' as {sql_type}) from part")

    load(demo.slice(0, 600), "first")
    first_build = run_dbt(tmp_path / "build", *REGISTER, vars=TABLE)
    assert first_build.query(STAGED) == [(names[0],)]
    load(demo.slice(600, 400), "second")
    second_build = run_dbt(tmp_path / "build", *REGISTER, vars=TABLE)
    assert second_build.query(STAGED) == [(names[1],)]
    assert second_build.query("select source_file, size_bytes from int_input_files order by 1") \
        == [(names[0], 600), (names[1], 400)]


def test_a_loaded_at_that_is_not_a_time_stops_the_build_by_name(demo, tmp_path):
    """loaded_at as text (or a number) is not read as a load time: one line naming the column,
    its type and what to do."""
    database = tmp_path / "build" / "segmentation.duckdb"
    database.parent.mkdir(parents=True)
    with duckdb.connect(str(database)) as con:
        con.register("part", demo.slice(0, 100))
        con.execute("create schema raw")
        con.execute("create table raw.order_lines as select *, '2025-12-01' as loaded_at from part")
    run = run_dbt(tmp_path / "build", *REGISTER, vars=TABLE, check=False)
    assert run.returncode != 0
    assert "Traceback" not in run.output, run.output[-3000:]
    message = ("column loaded_at of table raw.order_lines is varchar: it must be a date or timestamp, "
               "when the row's load arrived (rename it to read the whole table on every build)")
    assert message in run.output, run.output[-3000:]


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_orders_table_stops_the_build_instead_of_reading_orders_path(demo, tmp_path, blank):
    """orders_table: '' (an unset environment variable in --vars, say) names no table: one line, and
    nothing is read from orders_path."""
    path = tmp_path / "orders.parquet"
    pq.write_table(demo.slice(0, 100), path)
    run = run_dbt(tmp_path / "build", *REGISTER, vars=demo_vars(path, orders_table=blank), check=False)
    assert run.returncode != 0
    assert "Traceback" not in run.output, run.output[-3000:]
    assert (f"var orders_table is '{blank}', which names no table: set it to <schema>.<table>, or leave it "
            "unset (null) to read orders_path") in run.output, run.output[-3000:]
    with duckdb.connect(str(run.db)) as con:
        tables = con.execute("select table_name from information_schema.tables").fetchall()
    assert ("int_order_lines_validated",) not in tables


SCORES = ("select customer_id, segment_id, distance_to_centroid, model_run_id, scoring_spec, units_ordered, "
          "return_rate, net_spending from int_customers_scored order by customer_id")


# Rows of the latest build's membership history whose hash is not that of the customer's model
# features (the defaults) in dim_customers.
STALE_HASHES = """
    select count(*)
    from fct_segment_memberships as memberships
    inner join dim_customers as customers on memberships.customer_id = customers.customer_id
    where memberships.run_id = (select run_id from int_segment_run)
        and memberships.feature_hash <> md5(coalesce(cast(customers.units_ordered as varchar), '') || '|'
            || coalesce(cast(customers.return_rate as varchar), '') || '|'
            || coalesce(cast(customers.net_spending as varchar), ''))"""


def tamper_score(db, customer_id: str) -> None:
    """Move one stored distance by 1000: a score the next build keeps stays moved."""
    with duckdb.connect(str(db)) as con:
        con.execute("update int_customers_scored set distance_to_centroid = distance_to_centroid + 1000 "
                    "where customer_id = ?", [customer_id])


def test_a_daily_score_build_scores_only_changed_customers_and_equals_scoring_everyone(demo, tmp_path):
    """int_customers_scored under daily builds: a score build keeps the stored score of a customer
    whose model features did not change (a stored distance moved by hand stays moved), removes a
    customer gone from the features (C88888888: its only order goes to two customers on day 3),
    and otherwise equals scoring every customer again (--full-refresh of the model); a fit build
    scores everyone again with its model (the moved distance is gone) into a new table, without
    deleting the stored scores first, and a build on scores stored by an older version scores
    everyone again."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    glob = demo_vars(arriving / "day_*.parquet")
    score = {**glob, "segmentation_mode": "score"}
    # a customer of days 1-2 only, none of the planted ones (planted_parts)
    later = set(pq.read_table(paths[2])["customer_id"].to_pylist()) | set(
        pq.read_table(paths[3])["customer_id"].to_pylist()) | {"C88888888"}
    workdir = tmp_path / "daily"
    for path in paths[:2]:
        shutil.copy2(path, arriving / path.name)
    built = run_dbt(workdir, "build", vars=glob)
    steady = max(c for (c,) in built.query("select customer_id from int_customers_scored") if c not in later)
    assert built.query("select count(*) from int_customers_scored where customer_id = 'C88888888'") == [(1,)]

    def distance(run) -> float:
        return run.query("select distance_to_centroid from int_customers_scored "
                         f"where customer_id = '{steady}'")[0][0]

    log = workdir / "logs" / "dbt.log"

    def deletes_scores(build) -> tuple:
        """`build`'s run, and whether it deleted stored scores: the pre-hook of the incremental
        path (its statement in dbt's log)."""
        before = log.read_text()
        run = build()
        written = log.read_text()[len(before):]
        return run, re.search(r'delete from \S*"int_customers_scored"', written) is not None

    # day 3, score mode: the steady customer's score is kept, everyone else's equals scoring again
    original = distance(built)
    tamper_score(built.db, steady)
    moved = distance(built)
    shutil.copy2(paths[2], arriving / paths[2].name)
    daily, deleted = deletes_scores(lambda: run_dbt(workdir, "build", vars=score))
    assert deleted  # the incremental path: stale scores deleted, the others kept
    assert distance(daily) == moved
    assert daily.query("select count(*) from int_customers_scored where customer_id = 'C88888888'") == [(0,)]
    assert daily.query("select count(*) from int_customers_scored") \
        == daily.query("select count(*) from int_customers_featurized")
    kept = daily.query(SCORES)
    rescored = run_dbt(workdir, "build", "--select", "int_customers_scored", "--full-refresh", vars=score)
    assert distance(rescored) == original
    assert [row for row in kept if row[0] != steady] \
        == [row for row in rescored.query(SCORES) if row[0] != steady]
    # the membership history's hash is the customer's model features as dim_customers shows them
    assert daily.query(STALE_HASHES) == [(0,)]

    # day 4, fit mode: a new model scores every customer again, into a new table: no score is
    # kept, so the incremental path (delete every row, then append) would only cost time
    tamper_score(built.db, steady)
    shutil.copy2(paths[3], arriving / paths[3].name)
    fitted, deleted = deletes_scores(lambda: run_dbt(workdir, "build", vars=glob))
    assert not deleted
    refit = fitted.query(SCORES)
    assert {row[3] for row in refit} == {fitted.query("select run_id from int_segment_run")[0][0]}
    assert fitted.query(STALE_HASHES) == [(0,)]
    assert refit == run_dbt(workdir, "build", "--select", "int_customers_scored", "--full-refresh",
                            vars=glob).query(SCORES)

    # scores stored by an older version (no model features kept with them): everyone scored again
    with duckdb.connect(str(fitted.db)) as con:
        con.execute("create or replace table int_customers_scored as select customer_id, segment_id, "
                    "distance_to_centroid + 1000 as distance_to_centroid from int_customers_scored")
    upgraded = run_dbt(workdir, "build", vars=score)
    assert upgraded.query(SCORES) == refit

    # the uniqueness test checks the rows the latest build scored: one scored twice fails it
    with duckdb.connect(str(upgraded.db)) as con:
        con.execute("insert into int_customers_scored select * from int_customers_scored "
                    f"where customer_id = '{steady}'")
    checked = run_dbt(workdir, "test", "--select", "int_customers_scored", vars=score, check=False)
    assert checked.returncode != 0
    assert "FAIL 1 unique_combination_of_columns_int_customers_scored_customer_id" in checked.output, \
        checked.output[-3000:]


def test_a_daily_build_lowers_duckdbs_memory_limit_unless_the_user_set_it(demo, tmp_path, monkeypatch):
    """A build on a warehouse that has read files before runs with memory_limit 3GB (macro
    set_build_memory_limit, an on-run-start hook); a first build, a --full-refresh, any build
    under SEGMENTATION_DUCKDB_MEMORY_LIMIT and one with a profile of another limit keep the
    profile's limit. The hook reads the registry, not the orders path: a build of a selection
    that reads no orders, its files elsewhere now, succeeds. Told from the hook's statement in
    dbt's log, one invocation at a time."""
    monkeypatch.delenv("SEGMENTATION_DUCKDB_MEMORY_LIMIT", raising=False)
    paths = day_files(demo, tmp_path / "days")
    day_3 = tmp_path / "day_3.parquet"
    shutil.move(paths[2], day_3)
    workdir = tmp_path / "build"
    days = demo_vars(tmp_path / "days" / "day_*.parquet")
    log = workdir / "logs" / "dbt.log"

    def lowered(*args: str, env: dict | None = None, vars: dict = days) -> bool:
        before = log.read_text() if log.exists() else ""
        run_dbt(workdir, *(args or REGISTER), vars=vars, env=env)
        return "set memory_limit = '3GB'" in log.read_text()[len(before):]

    assert not lowered()  # the first build reads every file
    shutil.move(day_3, paths[2])
    assert lowered()  # day_3 alone
    assert lowered()  # nothing new: still a daily build
    assert not lowered(*REGISTER, "--full-refresh")
    assert not lowered(env={"SEGMENTATION_DUCKDB_MEMORY_LIMIT": "2GB"})
    assert lowered("build", "--select", "non_product_stock_codes",
                   vars=demo_vars(tmp_path / "elsewhere" / "orders_*.parquet"))
    # a profile of the user's own with another limit is left as it is
    profiles = tmp_path / "own_profile"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text((ROOT / "profiles.yml").read_text().replace("'4GB'", "'8GB'"))
    cmd, env = dbt_command(workdir, *REGISTER, vars=days)
    cmd[cmd.index("--profiles-dir") + 1] = str(profiles)
    before = log.read_text()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    assert "'8GB'" in (profiles / "profiles.yml").read_text()
    assert "set memory_limit = '3GB'" not in log.read_text()[len(before):]


def test_files_arriving_out_of_name_order_are_judged_in_name_order(demo, tmp_path):
    """Input order is name order, not arrival order: day_2 and day_4 are read first, then day_1
    and day_3 arrive, each sorting before a file already read. The planted copies (part 2 repeats
    a part 1 line; part 3 gives a part 1 order to another customer) then turn verdicts of lines
    already stored: after each build, validation and the features equal a from-scratch build's
    on the same files, and the last whole build gives the same marts."""
    paths = planted_days(demo, tmp_path / "all")
    arriving = tmp_path / "exports"
    arriving.mkdir()
    glob = demo_vars(arriving / "day_*.parquet")
    arrivals = [[paths[1], paths[3]], [paths[0]], [paths[2]]]
    verdict = ("select rejection_reason from int_order_lines_validated "
               "where source_file like '%{}' and source_line_number = {}")
    for step, batch in enumerate(arrivals, start=1):
        for path in batch:
            shutil.copy2(path, arriving / path.name)
        command = FEATURES if step < len(arrivals) else ("build",)
        daily = run_dbt(tmp_path / "daily", *command, vars=glob)
        staged = daily.query("select distinct source_file from staging.stg_canonical__order_lines order by 1")
        assert staged == [(str(arriving / path.name),) for path in batch], f"step {step} staged {staged}"
        scratch = run_dbt(tmp_path / f"scratch_{step}", *command, vars=glob)
        assert daily.query(VALIDATED) == scratch.query(VALIDATED), f"step {step}"
        assert daily.query(FEATURED) == scratch.query(FEATURED), f"step {step}"
        assert daily.query(MONTHLY) == scratch.query(MONTHLY), f"step {step}"
        if step == 1:
            assert daily.query(verdict.format("day_2.parquet", 1)) == [(None,)]
    for mart in MARTS:
        assert daily.query(mart) == scratch.query(mart), mart
    # day_2's first line repeats day_1's line 10: read first, it was valid; day_1 makes it the copy
    assert daily.query(verdict.format("day_2.parquet", 1)) == [("duplicate line",)]
    assert daily.query(verdict.format("day_1.parquet", 10)) == [(None,)]
    assert daily.query(verdict.format("day_1.parquet", 6)) == [("order_id used by more than one customer",)]


# A user's edits of the code whose rows a daily build keeps: "orders" counting order lines,
# revenue per quarter, model space in half units (a macro scoring calls). Each changes the rows
# of customers no new line touches (none changes a model feature, or every score would be
# computed again anyway).
KEPT_ROW_EDITS = {
    "models/intermediate/int_customer_order_totals.sql": (
        "count(distinct case when not is_return_line then order_id end) as orders",
        "count(case when not is_return_line then order_id end) as orders"),
    "models/intermediate/int_customer_monthly_totals.sql": (
        "dbt.date_trunc('month', 'ordered_at')", "dbt.date_trunc('quarter', 'ordered_at')"),
    "macros/sql/feature_transforms.sql": (
        "/ {{ params }}.{{ feature.name }}__scale", "/ (2 * {{ params }}.{{ feature.name }}__scale)"),
}
NO_UNIT_TESTS = ("--exclude", "test_type:unit")


def test_an_edited_model_whose_rows_a_daily_build_keeps_is_computed_again_for_everyone(demo, tmp_path):
    """The customer totals and score mode's scores keep the rows of the customers a day does not
    touch, computed by the code as it was. After the user edits that code (day 3), adds a
    column to the totals (day 4; the monthly totals there as an older version stored them,
    without the column that says what summed them), the next plain build computes every row
    with the code as it is, as a build from scratch does; a build after that keeps rows again
    (day 5). (The unit tests of the edited definitions, which a user would update with them, are
    left out.)"""
    project = project_copy(tmp_path)
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=2)
    score = {**glob, "segmentation_mode": "score"}
    workdir = tmp_path / "daily"

    def edit(name: str, old: str, new: str) -> None:
        model = project / name
        assert old in model.read_text(), name
        model.write_text(model.read_text().replace(old, new))

    def by_name(run, table: str) -> list:
        """The table's rows, its columns in name order (a column added to a stored table comes last)."""
        columns = run.query(f"select column_name from information_schema.columns where table_name='{table}'")
        names = sorted(name for (name,) in columns if name != "totals_as_of")
        return run.query(f"select {', '.join(names)} from {table} order by all")

    def equals_scratch(daily) -> None:
        scratch = run_dbt(tmp_path / "scratch", *FEATURES, *NO_UNIT_TESTS, "--full-refresh", vars=glob,
                          project=project)
        for table in ("int_customer_order_totals", "int_customer_monthly_totals", "int_customers_featurized"):
            assert by_name(daily, table) == by_name(scratch, table), table

    run_dbt(workdir, "build", vars=glob, project=project)
    for name, (old, new) in KEPT_ROW_EDITS.items():
        edit(name, old, new)
    shutil.copy2(paths[2], arriving / paths[2].name)
    daily = run_dbt(workdir, "build", *NO_UNIT_TESTS, vars=score, project=project)
    equals_scratch(daily)
    scored = daily.query(SCORES)
    assert scored == run_dbt(workdir, "build", "--select", "int_customers_scored", "--full-refresh",
                             vars=score, project=project).query(SCORES)

    edit("models/intermediate/int_customer_order_totals.sql", "as distinct_products,",
         "as distinct_products,\n        max(quantity) as largest_line_units,")
    with duckdb.connect(str(daily.db)) as con:
        con.execute("alter table int_customer_monthly_totals drop column summed_by")
    shutil.copy2(paths[3], arriving / paths[3].name)
    daily = run_dbt(workdir, *FEATURES, *NO_UNIT_TESTS, vars=glob, project=project)
    equals_scratch(daily)
    assert daily.query("select count(largest_line_units) = count(*) from int_customer_order_totals") \
        == [(True,)]
    assert daily.query("select count(distinct summed_by) from int_customer_monthly_totals") == [(1,)]

    new_order = demo.slice(0, 1).set_column(0, "order_id", pa.array(["O77777777"]))
    pq.write_table(new_order, arriving / "day_5.parquet")
    daily = run_dbt(workdir, *FEATURES, *NO_UNIT_TESTS, vars=glob, project=project)
    for table in ("int_customer_order_totals", "int_customer_monthly_totals"):
        latest = f"(select max(totals_as_of) from {table})"
        assert daily.query(f"select count(*) filter (where totals_as_of = {latest}) < count(*) from {table}")\
            == [(True,)], table
    equals_scratch(daily)


def test_an_edited_macro_of_staging_makes_the_build_read_every_file_again(demo, tmp_path):
    """The macros staging and validation call are part of the rules stored lines were read and
    judged under: after the user edits one (here ids read in lower case, so stored lines would
    keep "C..." while new ones say "c..."), the next build reads and judges every file again, as
    from scratch."""
    project = project_copy(tmp_path)
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=3)
    run_dbt(tmp_path / "daily", *REGISTER, vars=glob, project=project)
    macros = project / "macros" / "sql" / "parse_values.sql"
    as_read = "then {{ trim_whitespace(expression) }}"
    assert as_read in macros.read_text()
    macros.write_text(macros.read_text().replace(as_read, "then lower({{ trim_whitespace(expression) }})"))
    shutil.copy2(paths[3], arriving / paths[3].name)
    daily = run_dbt(tmp_path / "daily", *REGISTER, vars=glob, project=project)
    scratch = run_dbt(tmp_path / "scratch", *REGISTER, vars=glob, project=project)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query("select count(*) from int_order_lines_validated where customer_id like 'C%'") == [(0,)]
    staged = daily.query("select distinct source_file from staging.stg_canonical__order_lines order by 1")
    assert staged == [(str(arriving / path.name),) for path in paths]


@pytest.mark.parametrize("first_build", [False, True], ids=["daily build", "first build"])
def test_a_file_written_while_the_build_reads_it_is_read_again_by_the_next_build(demo, tmp_path, first_build):
    """An export still being written when a build reads it: the build read day_3 with half its
    lines, and the writer finished before the registry was written (here a post-hook of
    validation writes the whole file). The build stops right after validation with one line
    naming the file, registers nothing and publishes nothing; the next build reads day_3 again,
    whole, and equals a build from scratch. Also on a warehouse's first build (the snapshot
    table is new to dbt's cache of relations there)."""
    project = project_copy(tmp_path)
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=2)
    if not first_build:
        run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project)
    day_3 = arriving / paths[2].name
    whole = pq.read_table(paths[2])
    pq.write_table(whole.slice(0, whole.num_rows // 2), day_3)
    models = project / "models" / "intermediate" / "_intermediate__models.yml"
    entry = "  - name: int_order_lines_validated\n"
    finish = (f"    config: {{post_hook: \"copy (select * from read_parquet('{paths[2]}')) "
              f"to '{day_3}' (format parquet)\"}}\n")
    models.write_text(models.read_text().replace(entry, entry + finish))
    stopped = run_dbt(tmp_path / "daily", "build", vars=glob, project=project, check=False)
    assert stopped.returncode != 0
    message = f"input file changed while this build read it: '{day_3}' (size "
    assert message in stopped.output, stopped.output[-3000:]
    assert "Traceback" not in stopped.output
    registered = "select count(*) from information_schema.tables where table_name = 'int_input_files'"
    day_3_registered = "select count(*) from int_input_files where source_file like '%day_3%'"
    if stopped.query(registered) == [(1,)]:
        assert stopped.query(day_3_registered) == [(0,)]
    else:
        assert first_build
    assert not (tmp_path / "daily" / "published").exists()
    models.write_text(models.read_text().replace(finish, ""))
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob, project=project)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query("select count(*) from int_input_files") == [(3,)]


@pytest.mark.parametrize("first_build", [False, True], ids=["daily build", "first build"])
def test_a_file_arriving_after_the_build_started_is_left_for_the_next_build(demo, tmp_path, first_build):
    """An export that lands in the folder after the build took stock of its input files (here an
    on-run-start hook right after snapshot_input_files writes day_3): the build reads the files
    it found at the start and nothing else, so it succeeds and registers those only; the next
    build reads day_3, and the result equals a build from scratch. Both for a daily build and for
    the first build of a warehouse (which reads the glob whole)."""
    project = project_copy(tmp_path)
    paths, arriving, glob = planted_exports(demo, tmp_path, arrived=2)
    if not first_build:
        run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project)
    day_3 = arriving / paths[2].name
    settings = project / "dbt_project.yml"
    entry = '  - "{{ snapshot_input_files() }}"\n'
    arrive = f"  - \"copy (select * from read_parquet('{paths[2]}')) to '{day_3}' (format parquet)\"\n"
    settings.write_text(settings.read_text().replace(entry, entry + arrive))
    during = run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project, check=False)
    assert day_3.exists()
    assert during.returncode == 0, during.output[-3000:]
    day_3_lines = "select count(*) from int_order_lines_validated where source_file like '%day_3%'"
    assert during.query(day_3_lines) == [(0,)]
    assert during.query("select count(*) from int_input_files") == [(2,)]
    settings.write_text(settings.read_text().replace(arrive, ""))
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob, project=project)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query(REGISTRY.replace(", first_read_in_run, first_read_at", "")) \
        == scratch.query(REGISTRY.replace(", first_read_in_run, first_read_at", ""))


def test_a_load_written_or_arriving_while_the_build_reads_the_table_is_read_by_the_next_build(demo, tmp_path):
    """As for files, for a table input with loaded_at (here the writes come from hooks of the
    build; from outside they come through a view over files, or a table in a database another
    process writes): rows added to the load a build is reading (a post-hook of validation adds
    10 to day 2's 1,000) stop the build after validation with one line naming the load, nothing
    registered or published; a load that arrives after the build took stock of the loads (an
    on-run-start hook right after snapshot_input_files adds day 3) is left for the next build.
    In the end the validated lines, features and registry equal a build from scratch."""
    project = project_copy(tmp_path)
    database = tmp_path / "daily" / "segmentation.duckdb"
    days = [datetime(2025, 12, 1), datetime(2025, 12, 2), datetime(2025, 12, 3)]
    insert_load(database, demo.slice(0, 1000), days[0])
    run_dbt(tmp_path / "daily", *FEATURES, vars=TABLE, project=project)
    insert_load(database, demo.slice(1000, 1000), days[1])
    late_rows, day_3 = tmp_path / "late_rows.parquet", tmp_path / "day_3.parquet"
    pq.write_table(demo.slice(2000, 10), late_rows)
    pq.write_table(demo.slice(2010), day_3)

    models = project / "models" / "intermediate" / "_intermediate__models.yml"
    entry = "  - name: int_order_lines_validated\n"
    add_rows = (f"    config: {{post_hook: \"insert into raw.order_lines select *, timestamp '{days[1]}' "
                f"from read_parquet('{late_rows}')\"}}\n")
    models.write_text(models.read_text().replace(entry, entry + add_rows))
    stopped = run_dbt(tmp_path / "daily", "build", vars=TABLE, project=project, check=False)
    assert stopped.returncode != 0
    message = (f"input load changed while this build read it: '{load_name(days[1])}' (rows 1,000 -> 1,010), "
               "so its lines may be part of it. Nothing was segmented or published")
    assert message in stopped.output, stopped.output[-3000:]
    assert "Traceback" not in stopped.output
    assert stopped.query("select source_file from int_input_files") == [(load_name(days[0]),)]
    assert not (tmp_path / "daily" / "published").exists()
    models.write_text(models.read_text().replace(add_rows, ""))

    settings = project / "dbt_project.yml"
    snapshot = '  - "{{ snapshot_input_files() }}"\n'
    arrive = (f"  - \"insert into raw.order_lines select *, timestamp '{days[2]}' "
              f"from read_parquet('{day_3}')\"\n")
    settings.write_text(settings.read_text().replace(snapshot, snapshot + arrive))
    during = run_dbt(tmp_path / "daily", *FEATURES, vars=TABLE, project=project)
    assert during.query(STAGED) == [(load_name(days[1]),)]
    assert during.query("select source_file, size_bytes from int_input_files order by 1") \
        == [(load_name(days[0]), 1000), (load_name(days[1]), 1010)]
    settings.write_text(settings.read_text().replace(arrive, ""))

    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=TABLE, project=project)
    assert daily.query(STAGED) == [(load_name(days[2]),)]
    copy_of_table(database, tmp_path / "scratch")
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=TABLE, project=project)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    registered = "select source_file, size_bytes, modified_at from int_input_files order by 1"
    assert daily.query(registered) == scratch.query(registered)



@pytest.mark.parametrize("first_build", [False, True], ids=["daily build", "first build"])
def test_a_csv_arriving_in_another_encoding_after_the_build_started_is_left_for_the_next_build(
        demo, tmp_path, first_build):
    """As test_a_file_arriving_after_the_build_started_is_left_for_the_next_build, for a glob of
    Windows-1252 CSV files, which are read through UTF-8 copies made for the files a build reads:
    none is made of the file that arrived, and the next build reads it."""
    project = project_copy(tmp_path)
    everything, arriving = tmp_path / "all", tmp_path / "exports"
    everything.mkdir()
    arriving.mkdir()
    n = demo.num_rows
    for number, (start, end) in enumerate([(0, n // 3), (n // 3, 2 * n // 3), (2 * n // 3, n)], start=1):
        demo_csv(demo.slice(start, end - start), everything / f"day_{number}.csv", "cp1252")
    for number in (1, 2):
        shutil.copy2(everything / f"day_{number}.csv", arriving / f"day_{number}.csv")
    glob = demo_vars(arriving / "day_*.csv", orders_encoding="windows-1252")
    if not first_build:
        run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project)
    day_3 = arriving / "day_3.csv"
    settings = project / "dbt_project.yml"
    entry = '  - "{{ snapshot_input_files() }}"\n'
    arrive = (f"  - \"copy (select * from read_csv('{everything / 'day_3.csv'}', all_varchar = true)) "
              f"to '{day_3}' (header)\"\n")
    settings.write_text(settings.read_text().replace(entry, entry + arrive))
    during = run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project, check=False)
    assert day_3.exists()
    assert during.returncode == 0, during.output[-3000:]
    assert during.query("select count(*) from int_order_lines_validated where source_file like '%day_3%'") \
        == [(0,)]
    assert during.query("select count(*) from int_input_files") == [(2,)]
    copies = tmp_path / "daily" / "segmentation.duckdb.inputs"
    copied = {path.read_text() for path in copies.rglob("*.csv")}
    assert (everything / "day_3.csv").read_text(encoding="cp1252") not in copied
    settings.write_text(settings.read_text().replace(arrive, ""))
    daily = run_dbt(tmp_path / "daily", *FEATURES, vars=glob, project=project)
    scratch = run_dbt(tmp_path / "scratch", *FEATURES, vars=glob, project=project)
    assert daily.query(VALIDATED) == scratch.query(VALIDATED)
    assert daily.query(FEATURED) == scratch.query(FEATURED)
    assert daily.query("select count(*) from int_input_files") == [(3,)]
