"""The build summary `make build` prints, from marts written by hand (no dbt run)."""

from __future__ import annotations

import duckdb

from segmentation.cli.summary import summarize


def _marts(db, renamed: bool) -> None:
    with duckdb.connect(str(db)) as con:
        con.execute("create table dim_customers as select 'C' || i as customer_id from range(3) t(i)")
        con.execute("create table fct_segment_model_runs as "
                    "select 'r2' as run_id, 'fit' as segmentation_mode, "
                    "'r2' as model_run_id, 2 as k, 'elbow' as chosen_by, 3 as sample_size, "
                    "'matched to run r1' as id_assignment, true as is_latest")
        con.execute("create table dim_segment_profiles as select * from (values "
                    "(1, 'Loyal high spenders', 1, 0.33, 0.8), (2, 'Regulars', 2, 0.67, 0.2)) "
                    "t(segment_id, segment_name, customers, share_of_customers, share_of_net_revenue)")
        con.execute("create table fct_rejected_order_lines as select 'duplicate line' as rejection_reason")
        con.execute("create table fct_segment_history as select * from (values "
                    f"(1, 'Regulars', 'Loyal high spenders', {str(renamed).lower()}, true), "
                    "(2, 'Regulars', 'Regulars', false, true), "
                    "(1, 'Ghost', 'Regulars', true, false)) "
                    "t(segment_id, previous_segment_name, segment_name, is_renamed, is_latest_run)")


def test_the_summary_names_the_segments_renamed_since_the_last_build(tmp_path):
    _marts(tmp_path / "renamed.duckdb", renamed=True)
    text = summarize(tmp_path / "renamed.duckdb")
    assert ("renamed since the last build: "
            "segment 1 'Regulars' -> 'Loyal high spenders'") in text, text
    assert "Ghost" not in text
    _marts(tmp_path / "kept.duckdb", renamed=False)
    assert "renamed" not in summarize(tmp_path / "kept.duckdb")


def test_the_summary_lists_the_marts_the_publish_folder_holds(tmp_path):
    _marts(tmp_path / "segmentation.duckdb", renamed=False)
    published = tmp_path / "published"
    assert f"nothing yet ({published / 'segmentation.duckdb'} does not exist)" in \
        summarize(tmp_path / "segmentation.duckdb", published)
    published.mkdir()
    with duckdb.connect(str(published / "segmentation.duckdb")) as con:
        con.execute("create table published_marts as select * from (values "
                    "('dim_segment_profiles'), ('fct_segment_monthly_revenue')) t(mart)")
    assert "(marts dim_segment_profiles, fct_segment_monthly_revenue)" in \
        summarize(tmp_path / "segmentation.duckdb", published)
