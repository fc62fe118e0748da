"""Input choices and bad input: each gets a result or a message that names the problem."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from conftest import run_dbt
from segmentation.demo.data import generate


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    out, _ = generate(600, 7, tmp_path_factory.mktemp("small") / "order_lines.parquet")
    return out


def _demo_vars(path, **more):
    return {"orders_format": "canonical", "orders_path": str(path), **more}


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nowhere" / "orders.parquet"
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(missing), check=False)
    assert run.returncode != 0
    assert f"orders file not found: '{missing}'" in run.output


def test_missing_column_is_named(small_demo, tmp_path):
    path = tmp_path / "no_returns_column.parquet"
    pq.write_table(pq.read_table(small_demo).drop_columns(["returned_quantity"]), path)
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(path), check=False)
    assert run.returncode != 0
    assert "miss required column(s): returned_quantity" in run.output


def test_wrong_file_type_and_format_are_named(small_demo, tmp_path):
    run = run_dbt(tmp_path / "a", "build", vars=_demo_vars(tmp_path / "orders.xlsx"), check=False)
    assert run.returncode != 0 and "must name a .parquet or .csv file" in run.output
    run = run_dbt(tmp_path / "b", "build", vars={"orders_format": "shopify", "orders_path": str(small_demo)},
                  check=False)
    assert run.returncode != 0
    assert "var orders_format must be one of demo, canonical, online_retail" in run.output


def test_unknown_feature_is_named(small_demo, tmp_path):
    features = [{"name": "units_ordered", "transform": "log1p"}, {"name": "shoe_size"}]
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(small_demo, segmentation_features=features),
                  check=False)
    assert run.returncode != 0
    assert "unknown feature {'name': 'shoe_size'}" in run.output


def test_fewer_customers_than_k(small_demo, tmp_path):
    path = tmp_path / "three_customers.parquet"
    table = pq.read_table(small_demo)
    keep = pc.is_in(table["customer_id"], pa.array(["C00000001", "C00000002", "C00000003"]))
    pq.write_table(table.filter(keep), path)
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(path), check=False)
    assert run.returncode != 0
    assert "only 3 usable customers, fewer than k = 10" in run.output
    assert "Traceback" not in run.output
    # ... and with a range that fits, the same three customers build
    run_dbt(tmp_path / "build2", "build", vars=_demo_vars(path, segmentation_k_max=2))


def test_constant_feature_is_left_out_with_a_warning(small_demo, tmp_path):
    """A shop with no returns: return_rate is 0 for everyone."""
    path = tmp_path / "no_returns.parquet"
    table = pq.read_table(small_demo)
    column = table.column_names.index("returned_quantity")
    table = table.set_column(column, "returned_quantity", pa.array([0] * table.num_rows, pa.int32()))
    pq.write_table(table, path)
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(path))
    assert "feature return_rate is constant (value 0.0) across the sampled customers" in run.output
    features = run.query("select distinct features from fct_segment_k_sweep")
    assert features == [("units_ordered, net_spending",)]
    assert run.query("select count(*) from dim_customers where segment_id is null") == [(0,)]


def test_fixed_segment_count(small_demo, tmp_path):
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(small_demo, segment_count=3))
    assert run.query("select k, chosen_by from fct_segment_k_sweep where is_chosen") == [(3, "segment_count")]
    assert run.query("select count(*) from dim_segment_profiles") == [(3,)]


def test_csv_with_unparseable_values_is_quarantined(small_demo, tmp_path):
    table = pq.read_table(small_demo)
    texts = {name: pc.cast(table[name], pa.string()) for name in table.column_names}
    quantity = texts["quantity"].to_pylist()
    quantity[0], quantity[1] = "three", ""
    texts["quantity"] = pa.array(quantity)
    path = tmp_path / "orders.csv"
    pacsv.write_csv(pa.table(texts), path)
    run = run_dbt(tmp_path / "build", "build", vars=_demo_vars(path))
    reasons = dict(run.query("select source_line_number, rejection_reason from fct_rejected_order_lines "
                             "where source_line_number <= 2"))
    assert reasons == {1: "unparseable value in quantity", 2: "missing quantity"}
    assert run.query("select count(*) from int_order_lines_validated") == [(table.num_rows,)]


def test_orders_table_in_the_warehouse(small_demo, tmp_path):
    """The production path: order lines already in a warehouse table, declared as a source."""
    workdir = tmp_path / "build"
    workdir.mkdir()
    with duckdb.connect(str(workdir / "segmentation.duckdb")) as con:
        con.execute("create schema raw")
        con.execute(f"create table raw.order_lines as select * from read_parquet('{small_demo}')")
    run = run_dbt(workdir, "build", vars={"orders_format": "canonical", "orders_table": "raw.order_lines"})
    lines = pq.read_metadata(small_demo).num_rows
    assert run.query("select count(*) from int_order_lines_validated") == [(lines,)]
    assert run.query("select count(*) from dim_customers") == [(600,)]


@pytest.mark.parametrize("layout", ["one file, several row groups", "a glob of two files",
                                    "a file with its own file_row_number column"])
def test_line_numbers_follow_the_input(small_demo, tmp_path, layout):
    """source_line_number is each line's position in its file, 1, 2, 3, ...: counted by DuckDB's
    Parquet reader (file_row_number, read in parallel by row group; for a glob, per file), by
    row_number() over the read for a file with its own file_row_number column."""
    table = pq.read_table(small_demo).slice(0, 5000)
    if layout == "one file, several row groups":
        path = tmp_path / "orders.parquet"
        pq.write_table(table, path, row_group_size=700)
        assert pq.ParquetFile(path).num_row_groups > 1
    elif layout == "a file with its own file_row_number column":
        path = tmp_path / "orders.parquet"
        pq.write_table(table.append_column("file_row_number", pa.array([7] * table.num_rows)), path)
    else:
        (tmp_path / "parts").mkdir()
        pq.write_table(table.slice(0, 2000), tmp_path / "parts" / "a.parquet")
        pq.write_table(table.slice(2000), tmp_path / "parts" / "b.parquet")
        path = tmp_path / "parts" / "*.parquet"
    run = run_dbt(tmp_path / "build", "run", "--select", "stg_canonical__order_lines", vars=_demo_vars(path))
    staged = run.query("select source_line_number, order_id, product_id, quantity "
                       "from staging.stg_canonical__order_lines order by source_file, source_line_number")
    numbers = list(range(1, table.num_rows + 1))
    if layout == "a glob of two files":
        numbers = numbers[:2000] + list(range(1, table.num_rows - 2000 + 1))
    expected = list(zip(numbers, table["order_id"].to_pylist(),
                        table["product_id"].to_pylist(), table["quantity"].to_pylist(), strict=True))
    assert staged == expected
