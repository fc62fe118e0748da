"""docs/add_a_feature.md, followed on a copy of the project: its two YAML blocks (the feature's
entry in models/marts/dim_customers.yml, the model-feature entry of var segmentation_features in
dbt_project.yml) are applied as the walkthrough says, the copy is built on small demo data, and
the feature is found where the walkthrough promises: dim_customers with the values the order
lines give, the long-form mart dim_segment_feature_profiles (published too), the docs, the report and
the fit. One build with both edits: the feature's way into the marts does not depend on it being
a model feature (eight of the default features are not), and each build costs ~25 s of CI.

The features' expressions live in YAML and are read from the manifest, which a dbt unit test
does not have (it compiles its model alone), so the hand calculations of the features (the old
unit tests of int_customers_featurized) run here on the build's compiled SQL instead.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from conftest import ROOT, DbtRun, project_copy, run_dbt
from segmentation.cli.report import build_report
from segmentation.demo.data import generate

WALKTHROUGH = ROOT / "docs" / "add_a_feature.md"
FEATURE = "avg_units_per_order"
MARKER = "# ---- add a feature here"


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)


def _walkthrough_edits() -> tuple[str, str]:
    """The walkthrough's two YAML blocks: the column entry, the segmentation_features entry."""
    blocks = _yaml_blocks(WALKTHROUGH.read_text())
    entry = next(block for block in blocks if f"- name: {FEATURE}" in block)
    model_feature = next(block for block in blocks if f"- {{name: {FEATURE}," in block)
    return entry, model_feature



def _apply_walkthrough(project: Path) -> None:
    """Step 1: the entry where dim_customers.yml says to add a feature. Step 3: the entry at the
    top of var segmentation_features. Nothing else is edited."""
    entry, model_feature = _walkthrough_edits()
    properties = project / "models" / "marts" / "dim_customers.yml"
    text = properties.read_text()
    assert text.count(MARKER) == 1, "dim_customers.yml must say once where a feature is added"
    at = text.index(MARKER)
    at = text.rindex("\n", 0, at) + 1  # the start of the marker's line
    properties.write_text(text[:at] + entry + text[at:])

    settings = project / "dbt_project.yml"
    text = settings.read_text()
    assert text.count("\n  segmentation_features:\n") == 1
    settings.write_text(text.replace("\n  segmentation_features:\n",
                                     "\n  segmentation_features:\n" + model_feature, 1))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[DbtRun, Path]:
    tmp = tmp_path_factory.mktemp("add_a_feature")
    orders, _ = generate(400, 11, tmp / "data" / "order_lines.parquet")
    project = project_copy(tmp)
    _apply_walkthrough(project)
    workdir = tmp / "build"
    run = run_dbt(workdir, "build", vars={"orders_format": "demo", "orders_path": str(orders)},
                  project=project)
    return run, workdir


def test_the_walkthrough_is_one_entry_in_one_file_and_one_in_another():
    entry, model_feature = _walkthrough_edits()
    assert entry.count("- name:") == 1 and "data_type:" in entry and "description:" in entry
    assert model_feature.strip().count("\n") == 0


def test_the_feature_is_a_column_of_dim_customers_with_the_order_lines_values(built):
    run, _ = built
    got = dict(run.query(f"select customer_id, {FEATURE} from dim_customers"))
    # recomputed from the valid order lines, not from the models that compute it
    expected = dict(run.query("""
        select customer_id,
            cast(sum(quantity) as double) / count(distinct case when not is_return_line then order_id end)
        from int_order_lines_validated
        where is_valid
        group by customer_id"""))
    assert len(got) > 300 and got.keys() == expected.keys()
    assert all(got[c] == pytest.approx(expected[c], rel=1e-12) for c in got)
    column_type = run.query(f"""select data_type from information_schema.columns
                                where table_name = 'dim_customers' and column_name = '{FEATURE}'""")
    assert column_type == [("DOUBLE",)]


def test_the_long_form_mart_profiles_it_per_segment(built):
    run, workdir = built
    segments = run.query("select segment_id from dim_segment_profiles order by 1")
    rows = run.query(f"""select segment_id, mean_value, median_value, overall_mean_value
                         from dim_segment_feature_profiles where feature = '{FEATURE}' order by 1""")
    assert [(row[0],) for row in rows] == segments
    means = dict(run.query(f"select segment_id, avg({FEATURE}) from dim_customers group by 1"))
    overall = run.query(f"select avg({FEATURE}) from dim_customers")[0][0]
    for segment_id, mean, median, overall_mean in rows:
        assert mean == pytest.approx(means[segment_id], rel=1e-9)
        assert median > 0 and overall_mean == pytest.approx(overall, rel=1e-9)
    # the wide mart keeps its fixed columns (its contract is unchanged)
    assert not run.query(f"""select column_name from information_schema.columns
                             where table_name = 'dim_segment_profiles' and column_name like '%{FEATURE}'""")
    # published for BI tools like the other marts
    with duckdb.connect(str(workdir / "published" / "segmentation.duckdb"), read_only=True) as con:
        published = con.execute("select count(*) from dim_segment_feature_profiles "
                                f"where feature = '{FEATURE}'").fetchone()[0]
    assert published == len(segments)


def test_the_docs_carry_its_description(built):
    _, workdir = built
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    column = manifest["nodes"]["model.segmentation.dim_customers"]["columns"][FEATURE]
    assert column["description"] == "Units ordered per order (units_ordered / orders)."


def test_the_report_shows_it(built):
    run, _ = built
    document = build_report(run.db)
    # the profile heatmap's column label (feature_label wraps it on short lines)
    assert "avg units" in document and "per order" in document


def test_the_fit_uses_it_as_a_model_feature(built):
    run, _ = built
    centroids = {row[0] for row in run.query("select distinct feature from dim_segment_centroids")}
    assert centroids == {FEATURE, "units_ordered", "return_rate", "net_spending"}
    features = run.query("select features from fct_segment_model_runs where is_latest")[0][0]
    assert FEATURE in features


# The customer totals of the unit test features_count_returns_against_the_customer
# (_intermediate__models.yml), and the features a hand calculation gives from them: recency and
# tenure from the last line in the data (B's, 2024-01-31); avg_units_per_order = units / orders.
TOTALS_COLUMNS = ("customer_id, orders, units_ordered, units_returned, gross_spending, returned_value, "
                  "distinct_products, first_ordered_at, last_ordered_at, last_line_at")
TOTALS = {
    "two customers": [
        ("A", 2, 10, 3, 90, 20, 2, "2024-01-01 10:00:00", "2024-01-11 09:00:00", "2024-01-15 09:00:00"),
        ("B", 1, 1, 1, 10, 10, 1, "2024-01-31 09:00:00", "2024-01-31 09:00:00", "2024-01-31 09:00:00"),
    ],
    # returns of goods bought before the data window can exceed the units ordered in it
    "return rate capped at one": [
        ("A", 1, 1, 3, 2, 6, 1, "2024-01-01 10:00:00", "2024-01-01 10:00:00", "2024-01-02 10:00:00"),
    ],
}
EXPECTED = {
    "two customers": [
        {"customer_id": "A", "orders": 2, "units_ordered": 10, "units_returned": 3, "return_rate": 0.3,
         "gross_spending": 90, "returned_value": 20, "net_spending": 70, "distinct_products": 2,
         "recency_days": 20, "tenure_days": 30, "avg_order_value": 35.0, "avg_days_between_orders": 10.0,
         FEATURE: 5.0},
        {"customer_id": "B", "orders": 1, "units_ordered": 1, "units_returned": 1, "return_rate": 1.0,
         "gross_spending": 10, "returned_value": 10, "net_spending": 0, "distinct_products": 1,
         "recency_days": 0, "tenure_days": 0, "avg_order_value": 0.0, "avg_days_between_orders": None,
         FEATURE: 1.0},
    ],
    "return rate capped at one": [
        {"customer_id": "A", "units_ordered": 1, "units_returned": 3, "return_rate": 1.0, "net_spending": -4},
    ],
}


@pytest.mark.parametrize("case", list(TOTALS))
def test_features_from_the_customer_totals_as_a_hand_calculation_gives_them(built, case):
    """int_customers_featurized as the build compiled it (the expressions of dim_customers.yml,
    the walkthrough's feature included), run on hand-made customer totals."""
    _, workdir = built
    compiled = (workdir / "target" / "compiled" / "segmentation" / "models" / "intermediate"
                / "int_customers_featurized.sql").read_text()
    relation = '"segmentation"."main"."int_customer_order_totals"'
    assert compiled.count(relation) == 1, compiled
    with duckdb.connect() as con:
        con.execute(f"""create table totals as select * from (values {", ".join(
            "(" + ", ".join(repr(v) for v in row) + ")" for row in TOTALS[case])}) t({TOTALS_COLUMNS})""")
        con.execute("""create or replace table totals as select customer_id, cast(orders as bigint) as orders,
            cast(units_ordered as bigint) as units_ordered, cast(units_returned as bigint) as units_returned,
            cast(gross_spending as decimal(38,4)) as gross_spending,
            cast(returned_value as decimal(38,4)) as returned_value,
            cast(distinct_products as bigint) as distinct_products,
            cast(first_ordered_at as timestamp) as first_ordered_at,
            cast(last_ordered_at as timestamp) as last_ordered_at,
            cast(last_line_at as timestamp) as last_line_at
            from totals""")
        result = con.execute(compiled.replace(relation, "totals") + " order by customer_id")
        columns = [d[0] for d in result.description]
        got = [{c: float(v) if isinstance(v, Decimal) else v for c, v in zip(columns, row, strict=True)}
               for row in result.fetchall()]
    assert len(got) == len(EXPECTED[case])
    for row, expected in zip(got, EXPECTED[case], strict=True):
        assert {column: row[column] for column in expected} == pytest.approx(expected), row


def test_feature_stats_on_hand_made_customers_equal_percentile_cont_and_exact_means(built):
    """int_segment_feature_stats as the build compiled it (every feature, the walkthrough's
    included), run on hand-made customers, against DuckDB's percentile_cont, the aggregate it
    replaces, and exact means: medians of odd and even counts, of tied middle values, of
    negative values and NULLs, a feature NULL for a whole segment, and random values with many
    ties and many distinct values."""
    _, workdir = built
    compiled = (workdir / "target" / "compiled" / "segmentation" / "models" / "segmentation" / "scoring"
                / "int_segment_feature_stats.sql").read_text()
    relations = {'"segmentation"."main"."int_customers_featurized"': "featurized",
                 '"segmentation"."main"."int_customers_scored"': "scored"}
    for relation, table in relations.items():
        assert compiled.count(relation) == 1, compiled
        compiled = compiled.replace(relation, table)
    features = re.findall(r"'(\w+)' as feature\b", compiled)
    assert FEATURE in features and "net_spending" in features and len(features) == len(set(features))
    with duckdb.connect() as con:
        # segment 1: four customers, segment 2: three; orders and net_spending by hand below
        hand = {"orders": ([1, 3, 2, 10], [5, 5, 2]),
                "net_spending": ([10.5, 10.5, 20, -4], [1, None, 7]),
                "avg_days_between_orders": ([None, None, None, 30], [None, None, None])}
        rows = []
        for number in range(7):
            segment, at = (1, number) if number < 4 else (2, number - 4)
            values = {feature: hand[feature][segment - 1][at] if feature in hand else None
                      for feature in features}
            rows.append((f"C{number}", segment, values))
        # and 3,000 random customers in three more segments
        con.execute("select setseed(0.42)")
        random_rows = con.execute("""select 'R' || i, 3 + i % 3, floor(random() * 20),
                                            round(random() * 500 - 50, 2)
                                     from range(3000) as t(i)""").fetchall()
        for customer_id, segment, small, money in random_rows:
            values = {feature: float(small) if number % 2 else money
                      for number, feature in enumerate(features)}
            if customer_id.endswith("7"):
                values[features[3]] = None
            rows.append((customer_id, segment, values))
        con.execute("create table featurized (customer_id varchar, "
                    + ", ".join(f"{feature} double" for feature in features) + ")")
        con.executemany(f"insert into featurized values (?, {', '.join('?' for _ in features)})",
                        [(customer_id, *values.values()) for customer_id, _, values in rows])
        con.execute("create table scored (customer_id varchar, segment_id bigint)")
        con.executemany("insert into scored values (?, ?)",
                        [(customer_id, segment) for customer_id, segment, _ in rows])
        got = {(segment, feature): (mean, median, overall_mean, overall_median)
               for segment, feature, mean, median, overall_mean, overall_median
               in con.execute(compiled).fetchall()}
        reference = {}
        for feature in features:
            overall = con.execute(f"""select avg(cast({feature} as decimal(38, 12))),
                                             quantile_cont({feature}, 0.5)
                                      from featurized""").fetchone()
            for segment, mean, median in con.execute(f"""
                    select segment_id, avg(cast({feature} as decimal(38, 12))), quantile_cont({feature}, 0.5)
                    from featurized inner join scored using (customer_id) group by segment_id""").fetchall():
                reference[(segment, feature)] = (mean, median, *overall)
    assert got.keys() == reference.keys() and len(got) == 5 * len(features)
    for key, (mean, median, overall_mean, overall_median) in reference.items():
        got_mean, got_median, got_overall_mean, got_overall_median = got[key]
        assert (got_median, got_overall_median) == (median, overall_median), key
        for got_value, value in ((got_mean, mean), (got_overall_mean, overall_mean)):
            assert got_value == (None if value is None else pytest.approx(float(value), rel=1e-12)), key
    # by hand: 1 2 3 10 -> 2.5; 2 5 5 -> 5
    assert got[(1, "orders")][:2] == (4.0, 2.5) and got[(2, "orders")][:2] == (4.0, 5.0)
    # -4 10.5 10.5 20 -> 10.5 (tied middles); 1 NULL 7 -> 4
    assert got[(1, "net_spending")][1] == 10.5 and got[(2, "net_spending")][:2] == (4.0, 4.0)
    assert got[(1, "avg_days_between_orders")][:2] == (30.0, 30.0)
    assert got[(2, "avg_days_between_orders")][:2] == (None, None)
