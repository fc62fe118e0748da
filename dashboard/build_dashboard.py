"""Build the segmentation dashboards in Superset from a published folder.

Run with Superset's Python and SUPERSET_CONFIG_PATH=dashboard/superset_config.py (`make dashboard`):
`python dashboard/build_dashboard.py --published published`. On the first run it creates
Superset's metadata database and its admin user (`superset db upgrade`, `fab create-admin`,
`init`: about 3 minutes). Then it (re)creates the database
connection to `published/segmentation.duckdb` (read only), a dataset per mart it shows, the
charts and the dashboards: segments, one per segment, movements between runs, how k was chosen,
input lines not used. Running it again replaces them, so it always shows the latest build.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import duckdb

DATABASE_NAME = "segmentation (published)"
TOP_CUSTOMERS = 1000
MARTS = ["dim_segment_profiles", "dim_segment_feature_profiles", "dim_customers", "fct_segment_k_sweep",
         "fct_segment_transitions", "fct_segment_history", "fct_segment_model_runs",
         "fct_rejected_order_lines"]
# A segment's profile: the long-form feature statistics, the segment's beside every customer's.
PROFILE_VALUES = ["mean_value", "median_value", "overall_mean_value", "overall_median_value"]
PROFILE_COLUMNS = ["feature", *PROFILE_VALUES]


SHARES = {"share_of_customers": ".1%", "share_of_net_revenue": ".1%", "return_rate": ".1%"}
# Money columns and metrics (in the run's currency, fct_segment_model_runs.currency): shown with
# it. The money features (dim_customers.yml's `money: true`) are read from the published marts.
MONEY = {"net_revenue", "value"}


def column_config(columns: list[str], currency: str, money: list[str] | None = None) -> dict:
    """Superset's per-column formats: shares as %, money (MONEY, and `money`) with the currency's
    symbol."""
    config = {column: {"d3NumberFormat": SHARES[column]} for column in columns if column in SHARES}
    config |= {column: {"d3NumberFormat": ",.2f",
                        "currencyFormat": {"symbol": currency, "symbolPosition": "prefix"}}
               for column in columns if column in MONEY or column in (money or [])}
    return config


def raw_table(columns: list[str], currency: str, order_by: list[tuple[str, bool]] | None = None,
              where: str | None = None, row_limit: int = 1000, money: list[str] | None = None) -> dict:
    """A table chart of `columns` as they are (one row per row), sorted and filtered; shares as %,
    money (also the `money` columns) in `currency`."""
    return {
        "viz_type": "table", "query_mode": "raw", "all_columns": columns, "show_cell_bars": False,
        "column_config": column_config(columns, currency, money),
        "order_by_cols": [json.dumps([column, ascending]) for column, ascending in order_by or []],
        "adhoc_filters": [{"clause": "WHERE", "expressionType": "SQL", "sqlExpression": where}]
        if where else [],
        "row_limit": row_limit, "server_pagination": False, "include_search": True, "page_length": 0,
    }


def summed_table(groupby: list[str], metrics: dict[str, str], currency: str) -> dict:
    """A table chart of `metrics` (label -> SQL) by `groupby`; money labels in `currency`."""
    return {
        "viz_type": "table", "query_mode": "aggregate", "groupby": groupby,
        "column_config": column_config(list(metrics), currency),
        "metrics": [{"expressionType": "SQL", "sqlExpression": sql, "label": label}
                    for label, sql in metrics.items()],
        "adhoc_filters": [], "row_limit": 1000, "order_desc": True,
    }


def bar_chart(x: str, metric_sql: str, label: str) -> dict:
    """Horizontal bars of `metric_sql` per `x`."""
    return {
        "viz_type": "echarts_timeseries_bar", "x_axis": x, "orientation": "horizontal",
        "metrics": [{"expressionType": "SQL", "sqlExpression": metric_sql, "label": label}],
        "groupby": [], "adhoc_filters": [], "row_limit": 1000, "show_value": True,
        "x_axis_sort_asc": True, "y_axis_format": ",d",
    }


def line_chart(x: str, metric_sql: str, label: str) -> dict:
    """A line of `metric_sql` over a numeric `x`."""
    return {
        "viz_type": "echarts_timeseries_line", "x_axis": x, "markerEnabled": True,
        "metrics": [{"expressionType": "SQL", "sqlExpression": metric_sql, "label": label}],
        "groupby": [], "adhoc_filters": [], "row_limit": 1000, "x_axis_sort_asc": True,
    }


SMALL = 28  # grid units (8 px) of a chart with a few rows; others get 50


def layout(title: str, items: list[tuple]) -> dict:
    """position_json: each item in its own full-width row; ("chart", slice[, height]) or
    ("markdown", text)."""
    position = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": title}},
    }
    for number, (kind, item, *height) in enumerate(items):
        row, node = f"ROW-{number}", f"{kind.upper()}-{number}"
        position["GRID_ID"]["children"].append(row)
        position[row] = {"type": "ROW", "id": row, "children": [node], "parents": ["ROOT_ID", "GRID_ID"],
                         "meta": {"background": "BACKGROUND_TRANSPARENT"}}
        if kind == "chart":
            meta = {"chartId": item.id, "uuid": str(item.uuid), "sliceName": item.slice_name,
                    "width": 12, "height": height[0] if height else 50}
        else:
            meta = {"code": item, "width": 12, "height": 20 + 4 * item.count("\n")}
        position[node] = {"type": kind.upper(), "id": node, "children": [], "meta": meta,
                          "parents": ["ROOT_ID", "GRID_ID", row]}
    return position


def build(published: Path) -> list[str]:
    """(Re)create the connection, datasets, charts and dashboards; the dashboards' slugs."""
    from superset import db
    from superset.connectors.sqla.models import SqlaTable
    from superset.models.core import Database
    from superset.models.dashboard import Dashboard
    from superset.models.slice import Slice

    # The symlink, not the run it points to now: each query opens the live run's file.
    database_file = Path(os.path.abspath(published / "segmentation.duckdb"))
    with duckdb.connect(str(database_file), read_only=True) as con:
        segments = con.execute(
            "select segment_id, segment_name from dim_segment_profiles order by segment_id").fetchall()
        currency = con.execute("select currency from fct_segment_model_runs where is_latest").fetchone()[0]
        money_features = [feature for feature, in con.execute(
            "select distinct feature from dim_segment_feature_profiles where is_money").fetchall()]

    for dashboard in db.session.query(Dashboard).all():
        db.session.delete(dashboard)
    for chart in db.session.query(Slice).all():
        db.session.delete(chart)
    for dataset in db.session.query(SqlaTable).all():
        db.session.delete(dataset)
    for database in db.session.query(Database).filter_by(database_name=DATABASE_NAME).all():
        db.session.delete(database)
    db.session.flush()

    database = Database(database_name=DATABASE_NAME, sqlalchemy_uri=f"duckdb:///{database_file}",
                        extra=json.dumps({"engine_params": {"connect_args": {
                            "read_only": True,
                            # the history view's files are named relative to the folder
                            "config": {"file_search_path": str(database_file.parent)}}}}),
                        expose_in_sqllab=True)
    db.session.add(database)
    db.session.flush()
    datasets = {}
    for mart in MARTS:
        dataset = SqlaTable(table_name=mart, schema="main", database=database)
        db.session.add(dataset)
        db.session.flush()
        dataset.fetch_metadata()
        datasets[mart] = dataset

    def chart(name: str, mart: str, params: dict) -> Slice:
        dataset = datasets[mart]
        params = {**params, "datasource": f"{dataset.id}__table"}
        made = Slice(slice_name=name, viz_type=params["viz_type"], datasource_type="table",
                     datasource_id=dataset.id, params=json.dumps(params))
        db.session.add(made)
        db.session.flush()
        return made

    def dashboard(title: str, slug: str, items: list[tuple]) -> None:
        charts = [item for kind, item, *_ in items if kind == "chart"]
        db.session.add(Dashboard(dashboard_title=title, slug=slug, published=True, slices=charts,
                                 position_json=json.dumps(layout(title, items)),
                                 json_metadata=json.dumps({})))

    links = "\n".join(f"- [{name}](/superset/dashboard/segment-{segment_id}/)"
                      for segment_id, name in segments)
    dashboard("Customer segments", "segments", [
        ("chart", chart("Segments", "dim_segment_profiles", raw_table(
            ["segment_id", "segment_name", "suggested_action", "customers", "share_of_customers",
             "net_revenue", "share_of_net_revenue"], currency, order_by=[("segment_id", True)])),
         20 + 6 * len(segments)),
        ("chart", chart("Customers per segment", "dim_segment_profiles",
                        bar_chart("segment_name", "sum(customers)", "customers"))),
        ("chart", chart("Latest run", "fct_segment_model_runs", raw_table(
            ["run_id", "run_at", "segmentation_mode", "orders_input", "input_lines", "valid_lines",
             "customers", "k", "chosen_by"], currency, where="is_latest")), SMALL),
        ("markdown", f"### Segment pages\n{links}\n\n### More\n"
                     "- [Movements between runs](/superset/dashboard/movements/)\n"
                     "- [How k was chosen](/superset/dashboard/choosing-k/)\n"
                     "- [Input lines not used](/superset/dashboard/rejected-lines/)\n"),
    ])
    for segment_id, name in segments:
        where = f"segment_id = {int(segment_id)}"
        dashboard(f"Segment {segment_id}: {name}", f"segment-{segment_id}", [
            ("chart", chart(f"{name}: size and revenue", "dim_segment_profiles", raw_table(
                ["segment_name", "suggested_action", "customers", "share_of_customers", "net_revenue",
                 "share_of_net_revenue"], currency, where=where)), SMALL),
            # every customer feature, one row each (a feature added to dim_customers.yml shows
            # here): money in one table, in the currency, the rest in another
            ("chart", chart(f"{name}: money features", "dim_segment_feature_profiles",
                            raw_table(PROFILE_COLUMNS, currency, order_by=[("feature_position", True)],
                                      where=f"{where} and is_money", money=PROFILE_VALUES)), SMALL),
            ("chart", chart(f"{name}: other features", "dim_segment_feature_profiles", raw_table(
                PROFILE_COLUMNS, currency, order_by=[("feature_position", True)],
                where=f"{where} and not is_money")), SMALL),
            ("chart", chart(f"{name}: top {TOP_CUSTOMERS:,} customers by net spending", "dim_customers",
                            raw_table(
                ["customer_id", "net_spending", "gross_spending", "orders", "units_ordered", "return_rate",
                 "recency_days", "last_ordered_at"], currency, order_by=[("net_spending", False)],
                where=where, row_limit=TOP_CUSTOMERS, money=money_features))),
            ("markdown", "[All segments](/superset/dashboard/segments/) · download the customers with the "
                         "chart's menu (⋮ → Download → Export to .CSV)"),
        ])
    dashboard("Movements between runs", "movements", [
        ("chart", chart("Customers moving between segments", "fct_segment_transitions", raw_table(
            ["comparison", "from_run_id", "to_run_id", "from_segment_name", "to_segment_name", "customers",
             "net_revenue"], currency, order_by=[("comparison", True), ("customers", False)]))),
        ("chart", chart("Segments run by run", "fct_segment_history", raw_table(
            ["run_id", "run_at", "segment_id", "segment_name", "previous_segment_name", "customers",
             "net_revenue"], currency,
            order_by=[("run_at", True), ("segment_id", True)]))),
    ])
    dashboard("How k was chosen", "choosing-k", [
        ("chart", chart("Inertia by k (the elbow curve)", "fct_segment_k_sweep",
                        line_chart("k", "max(inertia)", "inertia"))),
        ("chart", chart("The k sweep", "fct_segment_k_sweep", raw_table(
            ["k", "is_chosen", "chosen_by", "inertia", "silhouette", "calinski_harabasz", "davies_bouldin",
             "sample_size"], currency, order_by=[("k", True)]))),
    ])
    dashboard("Input lines not used", "rejected-lines", [
        ("chart", chart("Input lines read and used", "fct_segment_model_runs", raw_table(
            ["run_id", "input_lines", "valid_lines"], currency, where="is_latest")), SMALL),
        ("chart", chart("Lines not used, by reason", "fct_rejected_order_lines", summed_table(
            ["rejection_reason"], {"lines": "count(*)", "value": "sum(line_value)"}, currency))),
    ])
    db.session.commit()
    return ["segments", *(f"segment-{segment_id}" for segment_id, _ in segments), "movements", "choosing-k",
            "rejected-lines"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--published", type=Path, default=Path("published"), help="the published folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.published / "segmentation.duckdb").exists():
        sys.exit(f"dashboard: {args.published / 'segmentation.duckdb'} does not exist: "
                 "run `make build` first (or pass --published)")
    superset = Path(sys.executable).with_name("superset")
    from superset import config  # with SUPERSET_CONFIG_PATH's settings

    if not (config.DASHBOARD_HOME / "superset.db").exists():
        user = os.environ.get("SEGMENTATION_DASHBOARD_USER", "admin")
        password = os.environ.get("SEGMENTATION_DASHBOARD_PASSWORD", "admin")
        for command in (["db", "upgrade"],
                        ["fab", "create-admin", "--username", user, "--password", password, "--firstname",
                         "Segmentation", "--lastname", "Dashboard", "--email", f"{user}@localhost"],
                        ["init"]):
            subprocess.run([str(superset), *command], check=True, stdout=subprocess.DEVNULL)
    from superset.app import create_app

    with create_app().app_context():
        slugs = build(args.published)
    urls = ", ".join(f"/superset/dashboard/{slug}/" for slug in slugs)
    logging.getLogger(__name__).info("dashboards: %s (`make dashboard-serve` serves them)", urls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
