"""Values read as written, for what the one-CSV catalogue (test_bad_input.py) cannot hold: typed
Parquet price columns (decimal(38,10), double) and the UCI layout's own forms and extremes.

A price is kept only when staging's decimal(18,4) holds it exactly; one with more decimals is
quarantined with a reason that says so, never rounded (0.00005 would become 0.0001, +100%).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_bad_input import build, demo_rows, write_csv

from conftest import run_dbt
from segmentation.demo.data import generate

TOO_PRECISE = "unparseable value in unit_price (more than 4 decimals)"


def _with_prices(tmp_path, prices: list, price_type: pa.DataType):
    """Demo order lines as Parquet, unit_price of `price_type`, its first values replaced by `prices`."""
    out, _ = generate(200, 17, tmp_path / "demo.parquet")
    table = pq.read_table(out)
    column = table.column_names.index("unit_price")
    values = [Decimal(str(value)) for value in table["unit_price"].to_pylist()]
    if pa.types.is_floating(price_type):
        values = [float(value) for value in values]
    values[:len(prices)] = prices
    path = tmp_path / "prices.parquet"
    pq.write_table(table.set_column(column, "unit_price", pa.array(values, type=price_type)), path)
    return path, table.num_rows


@pytest.mark.parametrize(("price_type", "prices"), [
    (pa.decimal128(38, 10), [Decimal("0.00005"), Decimal("0.00004"), Decimal("1.2345000000"), Decimal("5")]),
    (pa.float64(), [0.00005, 0.00004, 1.2345, 5.0]),
], ids=["decimal(38,10)", "double"])
def test_typed_prices_are_kept_exactly_or_quarantined(tmp_path, price_type, prices):
    """0.00005 and 0.00004 are quarantined (not read as 0.0001 and as a zero price); 1.2345 and 5
    are used exactly; every other line of the file is valid."""
    path, lines = _with_prices(tmp_path, prices, price_type)
    run = build(path, tmp_path / "build")
    assert run.query("select source_line_number, rejection_reason from fct_rejected_order_lines order by 1") \
        == [(1, TOO_PRECISE), (2, TOO_PRECISE)]
    assert run.query("select unit_price from int_order_lines_validated where source_line_number in (3, 4) "
                     "order by 1") == [(Decimal("1.2345"),), (Decimal("5"),)]
    assert run.query("select count(*) from int_order_lines_validated where is_valid") == [(lines - 2,)]


def _uci_rows(tmp_path) -> list[dict]:
    """Demo lines in the UCI "Online Retail" CSV layout, dates written month-first as its export does."""
    return [{"InvoiceNo": f"5{i:05d}", "StockCode": line["product_id"], "Description": "",
             "Quantity": line["quantity"],
             "InvoiceDate": datetime.fromisoformat(line["ordered_at"]).strftime("%-m/%-d/%Y %H:%M"),
             "UnitPrice": line["unit_price"], "CustomerID": line["customer_id"], "Country": "UK"}
            for i, line in enumerate(demo_rows(200, 5, tmp_path))]


def test_uci_layout_values_and_extremes(tmp_path):
    """The UCI layout reads its month-first 'm/d/Y H:M' dates (four-digit year only), and the
    largest quantity times the largest price without overflow; a return of -2147483648 units,
    whose count does not fit an integer, is quarantined instead of stopping the build."""
    rows = _uci_rows(tmp_path)
    first = rows[0]
    odd = {
        "C900001": {"Quantity": "-2147483648"},
        "900002": {"Quantity": "2147483647", "UnitPrice": "99999999999999.9999"},
        "900003": {"InvoiceDate": "6/1/25 10:00"},
        "900004": {"InvoiceDate": "6/1/2025 10:00"},
        "900005": {"UnitPrice": "0.00005"},
    }
    rows += [{**first, "InvoiceNo": invoice, "StockCode": f"ODD{n}", **values}
             for n, (invoice, values) in enumerate(odd.items())]
    path = tmp_path / "online_retail.csv"
    write_csv(rows, path)
    run = build(path, tmp_path / "build", orders_format="online_retail")
    found = {invoice: (reason, value, ordered_at) for invoice, reason, value, ordered_at in run.query(
        "select order_id, rejection_reason, line_value, ordered_at from int_order_lines_validated "
        "where order_id like '%9000%'")}
    assert found["C900001"][0] == "unparseable value in Quantity"
    assert found["900002"][:2] == (None, Decimal("2147483647") * Decimal("99999999999999.9999"))
    assert found["900003"][0] == "unparseable value in InvoiceDate", "a two-digit year is not year 25"
    assert found["900004"][0::2] == (None, datetime(2025, 6, 1, 10))
    assert found["900005"][0] == "unparseable value in UnitPrice (more than 4 decimals)"


def test_real_uci_prices_all_fit(online_retail_data, tmp_path):
    """No price of the real UCI file (a double column) has more than 4 decimals: none is quarantined
    for it, so keeping prices exact costs no real line."""
    run = run_dbt(tmp_path, "run", "--select", "stg_online_retail__order_lines",
                  vars={"orders_format": "online_retail", "orders_path": str(online_retail_data)})
    assert run.query("select count(*) from staging.stg_online_retail__order_lines "
                     "where unparseable_columns like '%decimals%'") == [(0,)]
