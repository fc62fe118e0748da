"""The bad-input catalogue: each odd line gets its documented outcome, and revenue still reconciles.

Most cases are one line each in a single CSV (with a BOM, CRLF line ends and an extra column)
appended to small demo data, so one build checks them all; cases that must stop the build
get their own small builds. docs/reliability.md lists every case with its outcome.
"""

from __future__ import annotations

import codecs
import csv
import io
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import run_dbt
from segmentation.demo.data import generate
from segmentation.schema import CANONICAL_ORDER_LINE

COLUMNS = [field.name for field in CANONICAL_ORDER_LINE] + ["note"]
LONG_ID = "L" * 5_000
NON_ASCII_ID = "Zoë-顧客-🙂"
USED = "order_id used by more than one customer"
UNPARSEABLE_AT = "unparseable value in ordered_at"
TOO_PRECISE = "unparseable value in unit_price (more than 4 decimals)"
MAX_INT = 2**31 - 1
MAX_PRICE = "99999999999999.9999"

# (case, [overrides of the default line, one dict per line], [expected rejection_reason per line])
CASES: list[tuple[str, list[dict], list[str | None]]] = [
    ("text in quantity", [{"quantity": "three"}], ["unparseable value in quantity"]),
    ("fraction in quantity", [{"quantity": "2.5"}], ["unparseable value in quantity"]),
    ("comma decimal price", [{"unit_price": "3,50"}], ["unparseable value in unit_price"]),
    ("date ISO 8601", [{"ordered_at": "2025-06-01 10:00:00"}], [None]),
    ("date ISO 8601 with T", [{"ordered_at": "2025-06-01T10:00:00"}], [None]),
    ("date only", [{"ordered_at": "2025-06-01"}], [None]),
    ("date month-first m/d/Y in the canonical layout", [{"ordered_at": "06/01/2025 10:00"}],
     [UNPARSEABLE_AT]),
    ("date day-first d.m.Y", [{"ordered_at": "01.06.2025"}], ["unparseable value in ordered_at"]),
    ("date day-first d/m/Y", [{"ordered_at": "31/05/2025 10:00"}], ["unparseable value in ordered_at"]),
    ("timezone +02:00", [{"ordered_at": "2025-06-01T10:00:00+02:00"}], [None]),
    ("timezone Z", [{"ordered_at": "2025-06-01T10:00:00Z"}], [None]),
    ("timezone UTC", [{"ordered_at": "2025-06-01 10:00:00 UTC"}], [None]),
    ("empty customer id", [{"customer_id": ""}], ["missing customer_id"]),
    ("blank customer id", [{"customer_id": "   "}], ["missing customer_id"]),
    ("customer id NULL text", [{"customer_id": "NULL"}], ["missing customer_id"]),
    ("empty product id", [{"product_id": ""}], ["missing product_id"]),
    ("negative price", [{"unit_price": "-5.00"}], ["negative unit_price"]),
    ("zero price", [{"unit_price": "0"}], ["zero unit_price on a product line"]),
    ("zero quantity", [{"quantity": "0"}], ["quantity not positive"]),
    ("negative quantity", [{"quantity": "-2"}], ["quantity not positive"]),
    ("returns exceed quantity", [{"quantity": "2", "returned_quantity": "3"}],
     ["returned_quantity exceeds quantity"]),
    ("everything returned", [{"quantity": "2", "returned_quantity": "2"}], [None]),
    ("duplicate line", [{}, {}], [None, "duplicate line"]),
    ("same order id, two customers", [{"customer_id": "K_shared_a"}, {"customer_id": "K_shared_b"}],
     [USED, USED]),
    ("future date", [{"ordered_at": "2099-01-01 00:00:00"}], ["ordered_at in the future"]),
    ("date before 1990", [{"ordered_at": "1989-12-31 23:59:59"}], ["ordered_at before 1990-01-01"]),
    ("quantity 10^9", [{"quantity": "1000000000"}], [None]),
    ("price 10^7", [{"unit_price": "10000000"}], [None]),
    ("quantity beyond integer range", [{"quantity": "10000000000"}], ["unparseable value in quantity"]),
    ("price beyond decimal(18,4)", [{"unit_price": "100000000000000000000"}],
     ["unparseable value in unit_price"]),
    ("non-ASCII customer id", [{"customer_id": NON_ASCII_ID}], [None]),
    ("5,000-character customer id", [{"customer_id": LONG_ID}], [None]),
    ("quoted newline in product id", [{"product_id": "P\nCASE"}], [None]),
    # Issue 14: every value read as written.
    ("date day-first d/m/Y, day <= 12", [{"ordered_at": "05/06/2025 10:00"}], [UNPARSEABLE_AT]),
    ("date with a two-digit year", [{"ordered_at": "6/1/25 10:00"}], [UNPARSEABLE_AT]),
    ("timezone Europe/Berlin", [{"ordered_at": "2025-06-01 10:00:00 Europe/Berlin"}], [None]),
    ("timezone America/New_York, no seconds", [{"ordered_at": "2025-06-01T10:00 America/New_York"}], [None]),
    ("timezone unknown name", [{"ordered_at": "2025-06-01 10:00:00 Mars/Olympus"}], [UNPARSEABLE_AT]),
    ("timezone abbreviation PST", [{"ordered_at": "2025-06-01 10:00:00 PST"}], [UNPARSEABLE_AT]),
    ("timezone abbreviation CEST", [{"ordered_at": "2025-06-01 10:00:00 CEST"}], [UNPARSEABLE_AT]),
    ("timezone GMT+2", [{"ordered_at": "2025-06-01 10:00:00 GMT+2"}], [UNPARSEABLE_AT]),
    ("timezone UTC+02:00", [{"ordered_at": "2025-06-01 10:00:00 UTC+02:00"}], [UNPARSEABLE_AT]),
    ("price with 5 decimals, rounding up", [{"unit_price": "0.00005"}], [TOO_PRECISE]),
    ("price with 5 decimals, rounding to zero", [{"unit_price": "0.00004"}], [TOO_PRECISE]),
    ("price with trailing zeros", [{"unit_price": "5.000000"}], [None]),
    ("price in exponent notation", [{"unit_price": "5e0"}], ["unparseable value in unit_price"]),
    ("quantity with an underscore", [{"quantity": "1_000"}], ["unparseable value in quantity"]),
    ("quantity in exponent notation", [{"quantity": "1e3"}], ["unparseable value in quantity"]),
    ("quantity with a plus sign", [{"quantity": "+2"}], [None]),
    ("tab-only customer id", [{"customer_id": "\t"}], ["missing customer_id"]),
    ("control and Unicode spaces around ids", [{"customer_id": "\t\u00a0K_spaced\u200b\x0b",
                                                "order_id": "\tcase_spaced\t", "product_id": "P_CASE\x1f"}],
     [None]),
    ("largest quantity, returned -1", [{"quantity": str(MAX_INT), "returned_quantity": "-1"}],
     ["negative returned_quantity"]),
    ("quantity 10^9 x price 10^7", [{"quantity": "1000000000", "unit_price": "10000000"}], [None]),
    ("largest quantity x largest price", [{"quantity": str(MAX_INT), "unit_price": MAX_PRICE}], [None]),
]


def _case_lines() -> list[tuple[str, dict, str | None]]:
    lines = []
    for number, (case, overrides, reasons) in enumerate(CASES):
        default = {"order_id": f"case{number}", "customer_id": f"K_case{number}",
                   "ordered_at": "2025-06-01 10:00:00", "product_id": "P_CASE", "quantity": "2",
                   "unit_price": "5.00", "returned_quantity": "0", "note": case}
        lines += [(case, {**default, **override}, reason) for override, reason in zip(overrides, reasons,
                                                                                        strict=True)]
    return lines


def write_csv(rows: list[dict], path, bom: bool = False, line_end: str = "\n") -> None:
    """Rows as a CSV file, every value quoted as needed (a newline inside a value stays in one field)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else COLUMNS, lineterminator=line_end)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + buffer.getvalue().encode("utf-8"))


def build(path, workdir, orders_format: str = "canonical", check: bool = True):
    """`dbt build` on the order lines at `path`."""
    return run_dbt(workdir, "build", vars={"orders_format": orders_format, "orders_path": str(path)},
                   check=check)


def demo_rows(customers: int, seed: int, tmp_path) -> list[dict]:
    """Canonical demo order lines as text rows."""
    out, _ = generate(customers, seed, tmp_path / "demo.parquet")
    table = pq.read_table(out)
    texts = {name: pc.cast(table[name], pa.string()).to_pylist() for name in table.column_names}
    return [{name: texts[name][i] for name in texts} | {"note": ""} for i in range(table.num_rows)]


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    """One build of demo lines + one line per case: (build, {case: [(line number, expected reason)]})."""
    workdir = tmp_path_factory.mktemp("catalogue")
    rows = demo_rows(300, 11, workdir)
    expected: dict[str, list[tuple[int, str | None]]] = {}
    for case, line, reason in _case_lines():
        rows.append(line)
        expected.setdefault(case, []).append((len(rows), reason))
    path = workdir / "orders_bom_crlf.csv"
    write_csv(rows, path, bom=True, line_end="\r\n")
    run = build(path, workdir / "build")
    return run, expected, len(rows)


@pytest.mark.parametrize("case", [case for case, _, _ in CASES])
def test_each_case_gets_its_documented_reason(catalogue, case):
    run, expected, _ = catalogue
    for line_number, reason in expected[case]:
        found = run.query(f"select rejection_reason from int_order_lines_validated "
                          f"where source_line_number = {line_number}")
        assert found == [(reason,)], f"{case}: line {line_number}"


def test_every_line_is_read_once_and_revenue_reconciles(catalogue):
    """BOM, CRLF and a quoted newline neither add nor lose a line; valid + rejected = staged."""
    run, _, lines = catalogue
    assert run.query("select count(*), count(distinct source_line_number) from int_order_lines_validated") \
        == [(lines, lines)]
    staged = run.query("select sum(line_value) from staging.stg_canonical__order_lines")[0][0]
    valid = run.query("select sum(line_value) from int_order_lines_validated where is_valid")[0][0]
    rejected = run.query("select sum(line_value) from fct_rejected_order_lines")[0][0]
    assert valid + rejected == staged
    spending = run.query("select sum(net_spending) from dim_customers")[0][0]
    assert spending == valid
    assert run.query("select count(*) from dim_customers where segment_id is null") == [(0,)]


def test_accepted_values_are_parsed_as_documented(catalogue):
    run, expected, _ = catalogue

    def line(case: str) -> tuple:
        number = expected[case][0][0]
        return run.query("select customer_id, ordered_at, product_id, quantity, unit_price "
                         f"from int_order_lines_validated where source_line_number = {number}")[0]

    ten = datetime(2025, 6, 1, 10)
    for case in ("date ISO 8601", "date ISO 8601 with T", "timezone Z", "timezone UTC"):
        assert line(case)[1] == ten, case
    assert line("date only")[1] == datetime(2025, 6, 1)
    assert line("timezone +02:00")[1] == datetime(2025, 6, 1, 8), "an offset is converted to UTC"
    assert line("timezone Europe/Berlin")[1] == datetime(2025, 6, 1, 8), "CEST is UTC+2 on 1 June"
    assert line("timezone America/New_York, no seconds")[1] == datetime(2025, 6, 1, 14)
    assert line("quantity 10^9")[3] == 10**9
    assert line("price 10^7")[4] == Decimal("10000000")
    assert line("price with trailing zeros")[4] == Decimal("5")
    assert line("quantity with a plus sign")[3] == 2
    assert line("control and Unicode spaces around ids")[0:3:2] == ("K_spaced", "P_CASE")
    order_id = run.query("select order_id from int_order_lines_validated where source_line_number = "
                         f"{expected['control and Unicode spaces around ids'][0][0]}")
    assert order_id == [("case_spaced",)]
    for case, value in (("quantity 10^9 x price 10^7", Decimal(10**16)),
                        ("largest quantity x largest price", MAX_INT * Decimal(MAX_PRICE))):
        number = expected[case][0][0]
        found = run.query(f"select line_value from int_order_lines_validated "
                          f"where source_line_number = {number}")
        assert found == [(value,)], case
        customer_id = line(case)[0]
        assert run.query(f"select gross_spending from dim_customers where customer_id = '{customer_id}'") \
            == [(value,)], case
    assert line("quoted newline in product id")[2] == "P\nCASE"
    odd_ids = (("non-ASCII customer id", NON_ASCII_ID), ("5,000-character customer id", LONG_ID))
    for case, customer_id in odd_ids:
        assert line(case)[0] == customer_id
        segmented = f"select count(*) from dim_customers where customer_id = '{customer_id}'"
        assert run.query(segmented) == [(1,)], case
    customer_id = line("everything returned")[0]
    assert run.query(f"select return_rate from dim_customers where customer_id = '{customer_id}'") == [(1.0,)]


def _fails_cleanly(run, message: str) -> None:
    """The build failed, said why, and showed no Python traceback."""
    assert run.returncode != 0
    assert message in run.output
    assert "Traceback" not in run.output


def _model_fails_with(run, message: str) -> None:
    """The Python model stopped the build with `message` as its error, on one line and without
    a Python traceback (segmentation.errors.InputError)."""
    _fails_cleanly(run, message)


def test_empty_file_is_named(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(b"")
    run = build(path, tmp_path / "build", check=False)
    _fails_cleanly(run, f"orders file is empty (0 bytes): '{path}'")


def test_header_only_file_has_no_usable_customers(tmp_path):
    path = tmp_path / "orders.csv"
    write_csv([], path)
    run = build(path, tmp_path / "build", check=False)
    _model_fails_with(run, "no usable customers: every order line was rejected or the input is empty")


@pytest.mark.parametrize("customers", [1, 20], ids=["a single customer", "every customer identical"])
def test_nothing_to_segment_is_named(tmp_path, customers):
    """One customer, or many with the same behaviour: no feature varies, so no segments to find."""
    rows = [{"order_id": f"o{i}", "customer_id": f"c{i}", "ordered_at": "2025-06-01 10:00:00",
             "product_id": "p1", "quantity": "2", "unit_price": "5.00", "returned_quantity": "0"}
            for i in range(customers)]
    path = tmp_path / "orders.csv"
    write_csv(rows, path)
    run = build(path, tmp_path / "build", check=False)
    _model_fails_with(run, "every model feature is constant across customers")
    assert run.query("select count(*) from int_order_lines_validated where is_valid") == [(customers,)]


def test_separate_returns_without_a_purchase_or_beyond_it(tmp_path):
    """UCI layout, returns as negative "C" lines: a return of a product the customer never bought
    is quarantined; a return of more units than bought counts, with return_rate capped at 1."""
    rows = [{"InvoiceNo": f"5{i:05d}", "StockCode": line["product_id"], "Description": "",
             "Quantity": line["quantity"], "InvoiceDate": line["ordered_at"], "UnitPrice": line["unit_price"],
             "CustomerID": line["customer_id"], "Country": "UK"}
            for i, line in enumerate(demo_rows(200, 5, tmp_path))]
    buyer = rows[0]["CustomerID"]
    ordered = sum(int(row["Quantity"]) for row in rows if row["CustomerID"] == buyer)
    rows += [
        {**rows[0], "InvoiceNo": "C900001", "StockCode": "NEVER-BOUGHT", "Quantity": "-1"},
        {**rows[0], "InvoiceNo": "C900002", "Quantity": str(-(ordered + 5)), "CustomerID": buyer + ".0"},
    ]
    path = tmp_path / "online_retail.csv"
    write_csv(rows, path)
    run = build(path, tmp_path / "build", orders_format="online_retail")
    reasons = dict(run.query("select order_id, rejection_reason from int_order_lines_validated "
                             "where order_id like 'C9%'"))
    assert reasons == {"C900001": "return without a purchase of the product by the customer", "C900002": None}
    assert run.query("select units_ordered, units_returned, return_rate from dim_customers "
                     f"where customer_id = '{buyer}'") == [(ordered, ordered + 5, 1.0)]


def test_typed_file_with_a_fractional_quantity(tmp_path):
    """A Parquet file whose quantity column is a double: whole values are used, 2.5 is not rounded."""
    out, _ = generate(200, 17, tmp_path / "demo.parquet")
    table = pq.read_table(out)
    quantity = pc.cast(table["quantity"], pa.float64()).to_pylist()
    quantity[0] = 2.5
    path = tmp_path / "double_quantity.parquet"
    column = table.column_names.index("quantity")
    pq.write_table(table.set_column(column, "quantity", pa.array(quantity)), path)
    run = build(path, tmp_path / "build")
    assert run.query("select source_line_number, rejection_reason from fct_rejected_order_lines") \
        == [(1, "unparseable value in quantity")]
    valid = run.query("select count(*) from int_order_lines_validated where is_valid")
    assert valid == [(table.num_rows - 1,)]
