"""The demo generator: canonical schema, planted truth beside it, realistic shape, reproducible."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest

from segmentation.demo.data import PLANTED_SEGMENTS, generate, main, truth_path
from segmentation.schema import CANONICAL_ORDER_LINE


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return generate(5_000, 1, tmp_path_factory.mktemp("demo") / "lines.parquet")


def test_writes_canonical_lines_and_the_truth_beside_them(demo):
    lines, truth = demo
    assert truth == truth_path(lines) == lines.with_name("lines_truth.parquet")
    assert pq.read_schema(lines).equals(CANONICAL_ORDER_LINE)
    planted = pq.read_table(truth).to_pandas()
    assert len(planted) == 5_000 and planted["customer_id"].is_unique
    shares = planted["planted_segment"].value_counts(normalize=True)
    for segment in PLANTED_SEGMENTS:
        assert abs(shares[segment.name] - segment.share) < 0.03


def test_has_the_shape_of_real_orders(demo):
    lines, _ = demo
    with duckdb.connect() as con:
        con.execute(f"create view lines as select * from read_parquet('{lines}')")
        per_line = con.execute(
            "select count(*) / count(distinct customer_id), min(quantity), "
            "bool_and(returned_quantity between 0 and quantity), min(unit_price) from lines").fetchone()
        assert 10 <= per_line[0] <= 16 and per_line[1] >= 1 and per_line[2] and per_line[3] > 0
        repeats = con.execute("select count(*) - count(distinct (order_id, product_id)) from lines")
        assert repeats.fetchone()[0] == 0, "a product appears at most once per order"
        one_order, mean_spend, median_spend = con.execute(
            "select avg((orders = 1)::int), avg(spend), median(spend) from ("
            " select customer_id, count(distinct order_id) orders,"
            " sum((quantity - returned_quantity) * unit_price) spend from lines group by 1)").fetchone()
        assert 0.3 <= one_order <= 0.4
        assert mean_spend > 2 * median_spend  # heavy-tailed spending
        december, june = con.execute(
            "select count(*) filter (where month(ordered_at) = 12), "
            "count(*) filter (where month(ordered_at) = 6) from lines").fetchone()
        assert december > 1.4 * june  # seasonality


def test_same_seed_same_file(tmp_path):
    a, _ = generate(300, 9, tmp_path / "a.parquet")
    b, _ = generate(300, 9, tmp_path / "b.parquet")
    c, _ = generate(300, 10, tmp_path / "c.parquet")
    assert pq.read_table(a).equals(pq.read_table(b))
    assert not pq.read_table(a).equals(pq.read_table(c))


def test_command_line(tmp_path):
    main(["--customers", "50", "--seed", "3", "--out", str(tmp_path / "x" / "o.parquet")])
    assert pq.read_metadata(tmp_path / "x" / "o.parquet").num_rows > 50
    with pytest.raises(ValueError, match="customers must be at least 1, got 0"):
        generate(0, 1, tmp_path / "y.parquet")
