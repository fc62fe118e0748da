"""The analyses run as compiled against the published marts (the file BI tools and analysts
open), give the warehouse's answer, and stop with a clear error on a segment id that does
not exist rather than return nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from conftest import run_dbt

ANALYSES = ("compare_two_segments", "revenue_by_segment_and_month", "top_customers_of_segment")


def _compile(demo_build, demo_data, tmp_path: Path, **vars) -> dict[str, str]:
    """`dbt compile` of every analysis in its own target dir (the session build's artefacts are
    left alone): {analysis: compiled SQL}. The warehouse file is named uci.duckdb, as a user's
    own may be: a compiled relation naming the warehouse's catalog (uci.main.dim_customers)
    would then resolve neither in published/segmentation.duckdb nor in the demo warehouse."""
    run_dbt(tmp_path, "compile", "--select", "resource_type:analysis",
            vars={"orders_format": "demo", "orders_path": str(demo_data), **vars},
            env={"SEGMENTATION_DB_PATH": str(tmp_path / "uci.duckdb"),
                 "SEGMENTATION_PUBLISH_DIR": str(demo_build.db.parent / "published")})
    compiled = tmp_path / "target" / "compiled" / "segmentation" / "analyses"
    return {path.stem: path.read_text() for path in compiled.glob("*.sql")}


def _published(demo_build) -> Path:
    return demo_build.db.parent / "published" / "segmentation.duckdb"


def _run(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def segment_ids(demo_build) -> list[int]:
    rows = _run(_published(demo_build), "select segment_id from dim_segment_profiles order by 1")
    return [row[0] for row in rows]


def test_analyses_run_as_compiled_against_the_published_file(demo_build, demo_data, segment_ids, tmp_path):
    """Each compiled analysis runs, as written, on published/segmentation.duckdb opened
    read-only, and returns the rows it returns on the warehouse."""
    first, last = segment_ids[0], segment_ids[-1]
    compiled = _compile(demo_build, demo_data, tmp_path, segment_id=last, top_n=7,
                        segment_a=first, segment_b=last)
    assert sorted(compiled) == sorted(ANALYSES)
    for name, sql in compiled.items():
        published = _run(_published(demo_build), sql)
        assert published, f"{name} returned no rows on the published file"
        assert published == _run(demo_build.db, sql), f"{name}: published file and warehouse differ"

    top = _run(_published(demo_build), compiled["top_customers_of_segment"])
    members = demo_build.query(f"select segment_name, count(*) from dim_customers where segment_id = {last} "
                               "group by segment_name")
    assert len(top) == min(7, members[0][1])
    assert {row[1] for row in top} == {members[0][0]}


def test_revenue_by_segment_and_month_adds_up_to_the_valid_order_lines(demo_build, demo_data, tmp_path):
    """Read from the published marts, the monthly revenue per segment is what the warehouse's
    valid order lines and the customers' segments give."""
    sql = _compile(demo_build, demo_data, tmp_path)["revenue_by_segment_and_month"]
    published = _run(_published(demo_build), f"""
        select segment_id, order_month, active_customers, net_revenue from ({sql}) order by 1, 2""")
    from_lines = demo_build.query("""
        select customers.segment_id, cast(date_trunc('month', lines.ordered_at) as date) as order_month,
            count(distinct lines.customer_id), sum(lines.line_value)
        from int_order_lines_validated as lines
        inner join dim_customers as customers on lines.customer_id = customers.customer_id
        where lines.is_valid
        group by all
        order by 1, 2""")
    assert published == from_lines
    shares = _run(_published(demo_build), f"""
        select order_month, sum(share_of_month_net_revenue) from ({sql}) group by 1""")
    assert all(share == pytest.approx(1) for _, share in shares)


def test_an_unknown_segment_id_is_an_error_naming_it_and_the_ids_there_are(
        demo_build, demo_data, segment_ids, tmp_path):
    """Stable ids can skip numbers: an id with no segment stops the query with a message,
    where it used to return no rows."""
    unknown = segment_ids[-1] + 1
    compiled = _compile(demo_build, demo_data, tmp_path, segment_id=unknown,
                        segment_a=segment_ids[0], segment_b=unknown)
    existing = ", ".join(str(segment_id) for segment_id in segment_ids)
    for name, var in (("top_customers_of_segment", "segment_id"), ("compare_two_segments", "segment_b")):
        for database in (_published(demo_build), demo_build.db):
            with pytest.raises(duckdb.Error) as raised:
                _run(database, compiled[name])
            message = str(raised.value)
            assert f"var {var} = {unknown}: no segment {unknown}" in message, message
            assert f"segments are {existing}" in message, message


def test_an_analysis_cannot_read_a_model_that_is_not_published(tmp_path):
    """published_ref names public marts only: the published file holds nothing else."""
    sql = "select * from {{ published_ref('int_order_lines_validated') }}"
    run = run_dbt(tmp_path, "compile", "--inline", sql, check=False)
    assert run.returncode != 0
    assert "reads int_order_lines_validated, which is not a public mart and so is not published" in run.output
