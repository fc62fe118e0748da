"""The pipeline on the real UCI Online Retail file: reconciliation and sensible segments."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from conftest import run_dbt

INPUT_LINES = 541_909
BUYING_CUSTOMERS = 4_334  # measured in DESIGN.md


def test_every_input_line_is_accounted_for(online_retail_build):
    staged, valid, value = online_retail_build.query(
        "select count(*), count(*) filter (where is_valid), sum(line_value) from int_order_lines_validated"
    )[0]
    rejected, rejected_value = online_retail_build.query(
        "select count(*), sum(line_value) from fct_rejected_order_lines")[0]
    assert staged == INPUT_LINES
    assert valid + rejected == INPUT_LINES
    with duckdb.connect() as con:
        raw_value = con.execute(
            "select sum(cast(Quantity as decimal(38,4)) * cast(UnitPrice as decimal(38,4))) "
            f"from read_parquet('{online_retail_build.input}')").fetchone()[0]
    assert abs(value - raw_value) < 0.01
    customer_value = online_retail_build.query("select sum(net_spending) from dim_customers")[0][0]
    assert abs((value - rejected_value) - customer_value) < 0.01


def test_rejections_have_the_documented_reasons(online_retail_build):
    reasons = dict(online_retail_build.query(
        "select rejection_reason, count(*) from fct_rejected_order_lines group by 1"))
    assert reasons["missing customer_id"] == 135_080
    assert reasons["non-product line"] > 1_000  # postage, manual, bank charges, fees
    assert 5_000 < reasons["duplicate line"] < 5_300
    assert set(reasons) <= {
        "missing customer_id", "non-product line", "duplicate line", "zero unit_price on a product line",
        "return without a purchase of the product by the customer", "quantity not positive",
    }


def test_segments_are_sensible(online_retail_build):
    customers = online_retail_build.query("select count(*) from dim_customers")[0][0]
    assert customers == BUYING_CUSTOMERS
    k = online_retail_build.query("select k from fct_segment_k_sweep where is_chosen")[0][0]
    assert 2 <= k <= 10
    profiles = online_retail_build.query(
        "select segment_name, share_of_customers, median_net_spending, mean_return_rate "
        "from dim_segment_profiles order by median_net_spending")
    assert len(profiles) == k
    assert all(share >= 0.01 for _, share, _, _ in profiles), profiles
    # spending separates the segments: the top segment's median is several times the bottom's
    assert profiles[-1][2] > 3 * profiles[0][2]
    assert abs(sum(share for _, share, _, _ in profiles) - 1) < 1e-9


def test_online_retail_ii_layout_as_csv(online_retail_data, tmp_path):
    """The "Online Retail II" column names, from a CSV with text values, map the same way."""
    table = pq.read_table(online_retail_data).slice(0, 60_000)
    renamed = table.rename_columns([{"InvoiceNo": "Invoice", "UnitPrice": "Price",
                                     "CustomerID": "Customer ID"}.get(c, c) for c in table.column_names])
    # Online Retail II exports write the customer id as a float: "17850.0"
    ids = renamed.column("Customer ID").cast(pa.float64())
    renamed = renamed.set_column(renamed.column_names.index("Customer ID"), "Customer ID", ids)
    path = tmp_path / "online_retail_ii.csv"
    pacsv.write_csv(renamed, path)
    run = run_dbt(tmp_path / "build", "build",
                  vars={"orders_format": "online_retail", "orders_path": str(path)})
    staged = run.query("select count(*), count(*) filter (where is_valid) from int_order_lines_validated")[0]
    assert staged[0] == 60_000 and staged[1] > 30_000
    unparsed = run.query("select count(*) from fct_rejected_order_lines "
                         "where rejection_reason like 'unparseable%'")
    assert unparsed == [(0,)]
    ids = run.query("select customer_id from dim_customers order by customer_id limit 1")[0][0]
    assert ids.isdigit(), f"customer id {ids!r} should have lost its '.0'"
