"""Reading input files: every line of a CSV read with one dialect, Parquet globs with one set of
types, literal paths taken literally, directories of parts, encodings (issue 14, part A).

Each case is 300 demo customers (seed 7) plus the planted line(s); docs/reliability.md lists
them with their outcome.
"""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import run_dbt
from segmentation.demo.data import generate

HEADER = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "unit_price",
          "returned_quantity"]
# Staging, validation and their tests: what reading a file decides, without the segmentation.
VALIDATE = ("build", "--select", "+fct_rejected_order_lines", "--indirect-selection", "cautious")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> pa.Table:
    out, _ = generate(300, 7, tmp_path_factory.mktemp("demo") / "order_lines.parquet")
    return pq.read_table(out)


def text_rows(table: pa.Table) -> list[list[str]]:
    """The table's lines as lists of text values, in column order."""
    columns = [pc.cast(table[name], pa.string()).to_pylist() for name in HEADER]
    return [list(values) for values in zip(*columns, strict=True)]


def csv_text(rows: list[list[str]]) -> str:
    """Header and rows as CSV text, quoting only where a value needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def demo_vars(path, **more) -> dict:
    return {"orders_format": "canonical", "orders_path": str(path), **more}


def fails_with_one_line(run, message: str) -> None:
    """The build stopped with the project's message, not a traceback or DuckDB's multi-line
    CSV error with its "Possible fixes"."""
    assert run.returncode != 0
    assert message in run.output, run.output[-3000:]
    assert "Traceback" not in run.output
    assert "Possible fixes" not in run.output


def staged(run, columns: str = "order_id, customer_id, product_id, rejection_reason") -> dict[int, tuple]:
    return {row[0]: row[1:] for row in run.query(
        f"select source_line_number, {columns} from int_order_lines_validated order by 1")}


def test_quoting_after_the_sniffer_sample_is_read(demo, tmp_path):
    """Quoted fields after DuckDB's 20,480-line sniffing sample: the quotes are CSV syntax, not
    part of the value, so "C00000001" is customer C00000001 and a quoted comma is one field."""
    rows = []
    for copy in range(6):  # 6 x 3,782 lines: past the sample
        rows += [[f"{row[0]}-{copy}", *row[1:]] for row in text_rows(demo)]
    quoted_id = ["Q1", '"C00000001"', "2025-06-01 10:00:00", "P00526", "2", "5.00", "0"]
    quoted_comma = ["Q2", "C00000002", "2025-06-01 10:00:00", '"P,COMMA"', "2", "5.00", "0"]
    quoted_newline = ["Q3", "C00000003", "2025-06-01 10:00:00", '"P\nNEWLINE"', "2", "5.00", "0"]
    text = csv_text(rows) + "\n".join(",".join(line) for line in (quoted_id, quoted_comma, quoted_newline))
    path = tmp_path / "orders.csv"
    path.write_text(text + "\n")
    run = run_dbt(tmp_path / "build", "build", vars=demo_vars(path))
    lines = len(rows)
    assert staged(run)[lines + 1] == ("Q1", "C00000001", "P00526", None)
    assert staged(run)[lines + 2] == ("Q2", "C00000002", "P,COMMA", None)
    assert staged(run)[lines + 3] == ("Q3", "C00000003", "P\nNEWLINE", None)
    assert run.query("select count(*) from dim_customers") == [(300,)]


@pytest.mark.parametrize("case, line, fields", [
    ("one field too many", ["M1", "C00000001", "2025-06-01 10:00:00", "P00526", "2", "5.00", "0", "x"], 8),
    ("one field missing", ["M2", "C00000001", "2025-06-01 10:00:00", "P00526", "2", "5.00"], 6),
    ("trailing comma", ["M3", "C00000001", "2025-06-01 10:00:00", "P00526", "2", "5.00", "0", ""], 8),
    ("a quoted comma too many",
     ["M4", "C00000001", "2025-06-01 10:00:00", '"P,1"', "2", "5.00", "0", '"a,b"'], 8),
])
def test_a_line_with_the_wrong_number_of_fields_is_quarantined(demo, tmp_path, case, line, fields):
    """One malformed line among good ones: that line is rejected with the count of its fields, at its
    own line number, and every other line keeps its number and values."""
    rows = text_rows(demo)
    middle = len(rows) // 2
    text = csv_text(rows[:middle]) + ",".join(line) + "\n" + csv_text(rows[middle:]).split("\n", 1)[1]
    path = tmp_path / "orders.csv"
    path.write_text(text)
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path))
    found = staged(run, "order_id, rejection_reason")
    assert len(found) == len(rows) + 1
    assert found[middle + 1] == (line[0], f"wrong number of fields: {fields}, expected 7")
    expected = {number: (row[0],) for number, row in enumerate(rows[:middle], start=1)}
    expected |= {number: (row[0],) for number, row in enumerate(rows[middle:], start=middle + 2)}
    assert {number: values[:1] for number, values in found.items() if number != middle + 1} == expected


def test_an_unterminated_quote_stops_with_one_line(demo, tmp_path):
    """A quote opened and never closed swallows the rest of the file: the build stops naming it
    rather than keeping the quote in the value or losing the lines after it."""
    rows = text_rows(demo)
    text = csv_text(rows) + 'U1,C00000001,2025-06-01 10:00:00,"P_X,2,5.00,0\n' \
        + csv_text(rows[:3]).split("\n", 1)[1]
    path = tmp_path / "orders.csv"
    path.write_text(text)
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path), check=False)
    fails_with_one_line(run, "has an unterminated quote")
    assert 'U1,C00000001,2025-06-01 10:00:00,"P_X,2,5.00,0' in run.output


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_encoding_is_set_by_a_var(demo, tmp_path, encoding):
    rows = text_rows(demo) + [["E1", "Zoë", "2025-06-01 10:00:00", "P00526", "2", "5.00", "0"]]
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_text(rows).encode(encoding))
    run = run_dbt(tmp_path / "build", *VALIDATE,
                  vars=demo_vars(path, orders_encoding=encoding))
    assert staged(run)[len(rows)] == ("E1", "Zoë", "P00526", None)
    assert len(staged(run)) == len(rows)


@pytest.mark.parametrize("case, line, message", [
    ("more fields than staging reads (7 + 23 spare)",
     "X1,C00000001,2025-06-01 10:00:00,P00526,2,5.00,0" + ",x" * 24,
     "line {n} of the file (the header is line 1) has more than 30 fields"),
    ("a quote inside a quoted value, not doubled",
     'X2,"C00"00"01",2025-06-01 10:00:00,P00526,2,5.00,0',
     "line {n} of the file (the header is line 1) has a quote inside a quoted value"),
])
def test_a_line_the_csv_reader_cannot_parse_stops_with_one_line(demo, tmp_path, case, line, message):
    """Lines DuckDB's strict CSV reader refuses (its own error is a page of settings and "Possible
    fixes"): the build stops with one line naming the file's line and showing it."""
    rows = text_rows(demo)
    middle = len(rows) // 2
    text = csv_text(rows[:middle]) + line + "\n" + csv_text(rows[middle:]).split("\n", 1)[1]
    path = tmp_path / "orders.csv"
    path.write_text(text)
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path), check=False)
    fails_with_one_line(run, message.format(n=middle + 2))
    assert line[:40] in run.output


@pytest.mark.parametrize(("encoding", "customer"), [("windows-1252", "Zoë’s"), ("cp1252", "Zoë’s"),
                                                    ("iso-8859-15", "Zoë œ")])
def test_an_encoding_duckdb_lacks_is_read_through_a_utf8_copy(demo, tmp_path, encoding, customer):
    """Windows-1252 (Excel's CSV on Windows) has € and curly quotes at 0x80-0x9F, which DuckDB's
    Latin-1 reader refuses; these files are read through a UTF-8 copy, value for value."""
    extra = [["W1", customer, "2025-06-01 10:00:00", "P€1", "2", "5.00", "0"],
             ["W2", "Ça", "2025-06-02 10:00:00", "P00526", "1", "5.00", "0"]]
    rows = text_rows(demo) + extra
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_text(rows).encode(encoding))
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path, orders_encoding=encoding))
    lines = staged(run)
    assert len(lines) == len(rows)
    assert lines[len(rows) - 1] == ("W1", customer, "P€1", None)
    assert lines[len(rows)] == ("W2", "Ça", "P00526", None)
    # the copy is beside the warehouse, not beside the user's file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build", "orders.csv"]


def test_a_glob_in_windows_1252_keeps_its_files_order(demo, tmp_path):
    rows = text_rows(demo)
    half = len(rows) // 2
    (tmp_path / "orders_1.csv").write_bytes(csv_text(rows[:half]).encode("cp1252"))
    last = [["W9", "Zoë’s", "2025-06-01 10:00:00", "P00526", "1", "5.00", "0"]]
    # a header that differs in case only names the same columns (staging ignores case)
    text = csv_text(rows[half:] + last)
    (tmp_path / "orders_2.csv").write_bytes(text.replace(",".join(HEADER), ",".join(HEADER).upper(), 1)
                                            .encode("cp1252"))
    run = run_dbt(tmp_path / "build", *VALIDATE,
                  vars=demo_vars(tmp_path / "orders_*.csv", orders_encoding="windows-1252"))
    assert run.query("select count(*), count(distinct order_id) filter (where order_id = 'W9') "
                     "from staging.stg_canonical__order_lines") == [(len(rows) + 1, 1)]
    # source_file names the file as matched, not the UTF-8 copy it was read through
    assert run.query("select customer_id, source_file, source_line_number "
                     "from staging.stg_canonical__order_lines where order_id = 'W9'") \
        == [("Zoë’s", str(tmp_path / "orders_2.csv"), len(rows) - half + 1)]


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1252"])
def test_a_csv_whose_header_differs_from_the_first_files_stops_the_build(demo, tmp_path, encoding):
    """The CSV files of a glob are read column by column under the first file's header. A later
    file with its columns in another order (here quantity and returned_quantity swapped, in 20
    lines among 4,000: too few for the rejected-share gate) had its values read under the wrong
    names, and the build passed. Such a file stops the build before anything is read, in one line
    naming it (not its UTF-8 copy), the first file and both headers."""
    rows = text_rows(demo)
    (tmp_path / "orders_1.csv").write_bytes(csv_text(rows[20:]).encode(encoding))
    swapped = [row[:4] + [row[6], row[5], row[4]] for row in rows[:20]]
    other = HEADER[:4] + ["returned_quantity", "unit_price", "quantity"]
    (tmp_path / "orders_2.csv").write_bytes(
        csv_text(swapped).replace(",".join(HEADER), ",".join(other), 1).encode(encoding))
    run = run_dbt(tmp_path / "build", *VALIDATE, check=False,
                  vars=demo_vars(tmp_path / "orders_*.csv", orders_encoding=encoding))
    fails_with_one_line(run, f"orders file '{tmp_path / 'orders_2.csv'}' has another header than "
                             f"'{tmp_path / 'orders_1.csv'}', the first file var orders_path matches: "
                             f"{','.join(other)} instead of {','.join(HEADER)}")
    assert "utf8" not in run.output.split("has another header")[0][-300:]


def test_a_byte_the_encoding_does_not_define_stops_with_its_line(demo, tmp_path):
    text = csv_text(text_rows(demo)[:20]).encode("cp1252")
    lines = text.split(b"\n")
    lines[7] = lines[7].replace(b",", b"\x81,", 1)  # 0x81 is undefined in Windows-1252
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\n".join(lines))
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path, orders_encoding="windows-1252"),
                  check=False)
    fails_with_one_line(run, "is not windows-1252 text: line 8 of the file (the header is line 1) "
                             "holds the byte(s) 81")


def test_an_unknown_encoding_is_refused_by_name(demo, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_text(text_rows(demo)).encode("utf-8"))
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path, orders_encoding="klingon-8"),
                  check=False)
    fails_with_one_line(run, "unknown encoding 'klingon-8' (var orders_encoding)")


def test_utf16_without_the_var_names_the_var(demo, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_text(text_rows(demo)).encode("utf-16"))
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(path), check=False)
    fails_with_one_line(run, "is not utf-8 text: set var orders_encoding")


def test_a_glob_of_parquet_files_is_read_with_one_set_of_types(demo, tmp_path):
    """The second file's quantity is a double: 1.5 is quarantined, not cast to 2 by the first
    file's integer type."""
    (tmp_path / "parts").mkdir()
    first, second = demo.slice(0, 2000), demo.slice(2000)
    pq.write_table(first, tmp_path / "parts" / "orders_1.parquet")
    quantity = pc.cast(second["quantity"], pa.float64()).to_pylist()
    quantity[0] = 1.5
    column = second.column_names.index("quantity")
    pq.write_table(second.set_column(column, "quantity", pa.array(quantity)),
                   tmp_path / "parts" / "orders_2.parquet")
    run = run_dbt(tmp_path / "build", *VALIDATE,
                  vars=demo_vars(tmp_path / "parts" / "orders_*.parquet"))
    assert run.query("select source_file, source_line_number, rejection_reason "
                     "from int_order_lines_validated where not is_valid") \
        == [(str(tmp_path / "parts" / "orders_2.parquet"), 1, "unparseable value in quantity")]
    assert run.query("select count(*) from int_order_lines_validated") == [(demo.num_rows,)]


def test_a_path_with_glob_characters_is_read_literally(demo, tmp_path):
    """data/orders[12].parquet exists: it is read, not orders1.parquet beside it."""
    pq.write_table(demo, tmp_path / "orders[12].parquet")
    other = demo.slice(0, 10).set_column(1, "customer_id", pa.array(["WRONG"] * 10))
    pq.write_table(other, tmp_path / "orders1.parquet")
    run = run_dbt(tmp_path / "build", *VALIDATE,
                  vars=demo_vars(tmp_path / "orders[12].parquet"))
    assert run.query("select count(*), count(*) filter (customer_id = 'WRONG') "
                     "from int_order_lines_validated") == [(demo.num_rows, 0)]


def test_a_directory_of_parquet_parts_is_read(demo, tmp_path):
    """Spark's output: orders.parquet/ holding part-*.parquet files, _SUCCESS and .crc files."""
    directory = tmp_path / "orders.parquet"
    directory.mkdir()
    pq.write_table(demo.slice(0, 2000), directory / "part-00000-a1.snappy.parquet")
    pq.write_table(demo.slice(2000), directory / "part-00001-a1.snappy.parquet")
    (directory / "_SUCCESS").write_bytes(b"")
    (directory / ".part-00000-a1.snappy.parquet.crc").write_bytes(b"crc")
    run = run_dbt(tmp_path / "build", *VALIDATE, vars=demo_vars(directory))
    assert run.query("select count(*), min(source_line_number), max(source_line_number) "
                     "from int_order_lines_validated") == [(demo.num_rows, 1, 2000)]
    assert run.query("select order_id from int_order_lines_validated where source_line_number = 1 "
                     "and source_file like '%part-00001-a1.snappy.parquet'") \
        == [(demo["order_id"][2000].as_py(),)]


@pytest.mark.spark
def test_malformed_lines_get_the_same_reasons_and_numbers_on_spark(demo, tmp_path):
    """Spark reads the CSV in PERMISSIVE mode; a line with a wrong number of fields is rejected
    with the same reason, at the same line number, as on DuckDB, and the lines after it keep theirs."""
    from conftest import run_dbt_spark

    rows = text_rows(demo.slice(0, 400))
    planted = ["M1,C00000001,2025-06-01 10:00:00,P00526,2,5.00,0,x",
               "M2,C00000001,2025-06-01 10:00:00,P00526,2,5.00",
               'M3,C00000001,2025-06-01 10:00:00,"P,1",2,5.00,0,',
               'Q1,"C00000001",2025-06-01 10:00:00,"P\nX",2,5.00,0']
    text = csv_text(rows[:200]) + "\n".join(planted) + "\n" + csv_text(rows[200:]).split("\n", 1)[1]
    path = tmp_path / "orders.csv"
    path.write_text(text)
    select = ("build", "--select", "+int_order_lines_validated", "--indirect-selection", "cautious")
    spark = run_dbt_spark(tmp_path / "on_spark", *select, vars=demo_vars(path))
    duck = run_dbt(tmp_path / "on_duckdb", *select, vars=demo_vars(path))
    lines = "select source_line_number, order_id, rejection_reason from int_order_lines_validated order by 1"
    assert len(duck.query(lines)) == len(rows) + len(planted)
    assert duck.query(lines)[200:204] == [
        (201, "M1", "wrong number of fields: 8, expected 7"),
        (202, "M2", "wrong number of fields: 6, expected 7"),
        (203, "M3", "wrong number of fields: 8, expected 7"),
        (204, "Q1", None)]
    assert spark.query(lines) == duck.query(lines)


# --- Spark: what its readers would get silently wrong is checked before staging reads ----------
# Stops are raised while staging compiles: selecting staging alone is enough to see them.
STAGE_ONLY = ("build", "--select", "stg_canonical__order_lines")
SPARK_VALIDATE = ("build", "--select", "+int_order_lines_validated", "--indirect-selection", "cautious")


def spark_fails_with_one_line(run, message: str) -> None:
    """The build stopped with the project's message, not Spark's error and JVM stack."""
    assert run.returncode != 0
    assert message in run.output, run.output[-3000:]
    assert "Traceback" not in run.output
    assert "at org.apache" not in run.output
    assert "SQLSTATE" not in run.output


@pytest.mark.spark
def test_spark_reads_a_path_with_glob_characters_literally(demo, tmp_path):
    """orders[12].parquet exists: Spark globbed it and read orders1.parquet beside it."""
    from conftest import run_dbt_spark

    pq.write_table(demo, tmp_path / "orders[12].parquet")
    other = demo.slice(0, 10).set_column(1, "customer_id", pa.array(["WRONG"] * 10))
    pq.write_table(other, tmp_path / "orders1.parquet")
    run = run_dbt_spark(tmp_path / "build", *SPARK_VALIDATE, vars=demo_vars(tmp_path / "orders[12].parquet"))
    assert run.query("select count(*), count(*) filter (customer_id = 'WRONG') "
                     "from int_order_lines_validated") == [(demo.num_rows, 0)]


@pytest.mark.spark
def test_spark_names_the_parquet_file_whose_types_differ(demo, tmp_path):
    """Spark reads a glob with one file's schema: a later file's double quantity is named."""
    from conftest import run_dbt_spark

    (tmp_path / "parts").mkdir()
    first, second = demo.slice(0, 2000), demo.slice(2000)
    pq.write_table(first, tmp_path / "parts" / "orders_1.parquet")
    column = second.column_names.index("quantity")
    pq.write_table(second.set_column(column, "quantity", pc.cast(second["quantity"], pa.float64())),
                   tmp_path / "parts" / "orders_2.parquet")
    run = run_dbt_spark(tmp_path / "build", *STAGE_ONLY,
                        vars=demo_vars(tmp_path / "parts" / "orders_*.parquet"), check=False)
    spark_fails_with_one_line(run, "orders files disagree on columns or types: ")
    assert "orders_2.parquet' has quantity double" in run.output


@pytest.mark.spark
def test_spark_stops_on_a_csv_whose_header_differs_from_the_first_files(demo, tmp_path):
    """Spark reads a glob of CSV files under one schema, by position, as DuckDB does: a later file
    with quantity and returned_quantity swapped stops the build, naming it and both headers."""
    from conftest import run_dbt_spark

    rows = text_rows(demo)
    (tmp_path / "orders_1.csv").write_text(csv_text(rows[20:]))
    other = HEADER[:4] + ["returned_quantity", "unit_price", "quantity"]
    swapped = [row[:4] + [row[6], row[5], row[4]] for row in rows[:20]]
    (tmp_path / "orders_2.csv").write_text(csv_text(swapped).replace(",".join(HEADER), ",".join(other), 1))
    run = run_dbt_spark(tmp_path / "build", *STAGE_ONLY, vars=demo_vars(tmp_path / "orders_*.csv"),
                        check=False)
    spark_fails_with_one_line(run, f"orders file '{tmp_path / 'orders_2.csv'}' has another header than "
                                   f"'{tmp_path / 'orders_1.csv'}', the first file var orders_path matches: "
                                   f"{','.join(other)} instead of {','.join(HEADER)}")


@pytest.mark.spark
@pytest.mark.parametrize("line", ['U1,C00000001,2025-06-01 10:00:00,"P_X,2,5.00,0',
                                  'U2,C00000001,2025-06-01 10:00:00,P_X,2,5.00,"0'])
def test_spark_stops_on_an_unterminated_quote(demo, tmp_path, line):
    """Spark's reader takes the rest of the file as one value (quarantined as one line, or, in the
    last field, kept as a value): the lines after it were lost. The build stops naming the line."""
    from conftest import run_dbt_spark

    rows = text_rows(demo)
    path = tmp_path / "orders.csv"
    path.write_text(csv_text(rows) + line + "\n" + csv_text(rows[:3]).split("\n", 1)[1])
    run = run_dbt_spark(tmp_path / "build", *STAGE_ONLY, vars=demo_vars(path), check=False)
    spark_fails_with_one_line(run, "has an unterminated quote")
    assert f"never closed is line {len(rows) + 2} of the file: {line}" in run.output


@pytest.mark.spark
def test_spark_stops_on_bytes_that_are_not_utf8(demo, tmp_path):
    """Spark's reader turns them into U+FFFD: a value silently changed."""
    from conftest import run_dbt_spark

    lines = csv_text(text_rows(demo)[:20]).encode("utf-8").split(b"\n")
    lines[7] = lines[7].replace(b",", b"\xe9,", 1)  # Latin-1 é in a UTF-8 file
    path = tmp_path / "orders.csv"
    path.write_bytes(b"\n".join(lines))
    run = run_dbt_spark(tmp_path / "build", *STAGE_ONLY, vars=demo_vars(path), check=False)
    spark_fails_with_one_line(run, "is not utf-8 text: line 8 of the file (the header is line 1) holds bytes")


@pytest.mark.spark
def test_spark_reads_windows_1252_and_stops_on_an_undefined_byte(demo, tmp_path):
    """Spark 4 accepts seven encoding names; Java's others (windows-1252) are enabled, and a byte
    windows-1252 does not define (0x81, read as U+FFFD) stops the build."""
    from conftest import run_dbt_spark

    extra = [["W1", "Zoë’s", "2025-06-01 10:00:00", "P€1", "2", "5.00", "0"]]
    rows = text_rows(demo)[:50] + extra
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_text(rows).encode("cp1252"))
    cp1252 = {"orders_encoding": "windows-1252"}
    run = run_dbt_spark(tmp_path / "build", *SPARK_VALIDATE, vars=demo_vars(path, **cp1252))
    assert run.query("select customer_id, product_id, rejection_reason from int_order_lines_validated "
                     "where order_id = 'W1'") == [("Zoë’s", "P€1", None)]
    bad = tmp_path / "bad.csv"
    bad.write_bytes(path.read_bytes().replace(b"\x80", b"\x81"))
    run = run_dbt_spark(tmp_path / "bad_build", *STAGE_ONLY, vars=demo_vars(bad, **cp1252), check=False)
    spark_fails_with_one_line(run, "is not windows-1252 text: a line holds bytes windows-1252 "
                                   "does not define")
    assert "W1,Zoë’s" in run.output


@pytest.mark.spark
def test_spark_refuses_an_unknown_encoding_by_name(demo, tmp_path):
    from conftest import run_dbt_spark

    path = tmp_path / "orders.csv"
    path.write_text(csv_text(text_rows(demo)[:20]))
    run = run_dbt_spark(tmp_path / "build", *STAGE_ONLY, vars=demo_vars(path, orders_encoding="klingon-8"),
                        check=False)
    spark_fails_with_one_line(run, "unknown encoding 'klingon-8' (var orders_encoding)")
