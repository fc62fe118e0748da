"""The segmentation report: one self-contained HTML file (plotly inlined, no network) from the marts.

    python -m segmentation.cli.report [--db segmentation.duckdb] [--out published/report.html]
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segmentation.cli.command_line import description
from segmentation.cli.report_figures import (
    PROFILE_CLIP,
    colour,
    elbow_figure,
    profile_figure,
    scatter_figure,
    shares_figure,
    transitions_figure,
)

log = logging.getLogger(__name__)

SCATTER_SAMPLE = 5_000
TOP_CUSTOMERS = 5  # per segment, by net spending
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
# the comparisons of fct_segment_transitions, in the order the report shows them
COMPARISONS = {"since_last_fit": "Since the last fit", "since_last_build": "Since the last build"}


@dataclass
class RunInfo:
    """What the report says about the run (label -> value), its currency and its line counts."""

    facts: dict[str, str]
    currency: str
    input_lines: int
    valid_lines: int


def run_info(con: duckdb.DuckDBPyConnection) -> RunInfo:
    """Run facts from the latest `fct_segment_model_runs` row."""
    run = con.execute("select * from fct_segment_model_runs where is_latest").df().iloc[0]
    model = ("a new fit" if run.segmentation_mode == "fit"
             else f"the stored model of run {run.model_run_id}")
    unused = run.input_lines - run.valid_lines
    facts = {
        "Data source": f"{run.orders_format}: {run.orders_input}",
        "Data period": (f"{run.first_ordered_at:%Y-%m-%d} to {run.last_ordered_at:%Y-%m-%d}"
                        " (first and last order date of the lines used)"),
        "Currency": f"{run.currency} (every amount of money in this report)",
        "Run id": f"{run.run_id} ({run.segmentation_mode} build, scored with {model})",
        "Run at": f"{run.run_at:%Y-%m-%d %H:%M} UTC; model fitted {run.fitted_at:%Y-%m-%d %H:%M} UTC",
        "Input lines": f"{run.input_lines:,}: {run.valid_lines:,} used, {unused:,} not used (see below)",
        "Customers": f"{run.customers:,} (model fitted on {run.sample_size:,})",
        "k": f"{run.k} (chosen by {run.chosen_by}); segment ids: {run.id_assignment}",
        "Features": f"{run.features} (transforms {run.transforms})",
        "K-Means": f"n_init {run.n_init}, random_state {run.random_state}",
        "Libraries": str(run.library_versions),
    }
    return RunInfo(facts, str(run.currency), int(run.input_lines), int(run.valid_lines))


def _table(table_id: str, headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    """An HTML table; `rows` are already escaped HTML, the columns in `numeric` right-aligned."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{html.escape(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{' class=num' if i in numeric else ''}>{cell}</td>"
                                    for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table id={table_id}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _segment(segment_id: int, name: str) -> str:
    return (f"<span class=swatch style='background:{colour(segment_id)}'></span>"
            f"{html.escape(name)}")


def _segment_table(profiles: pd.DataFrame, currency: str) -> str:
    rows = [[str(row.segment_id), _segment(row.segment_id, row.segment_name),
             html.escape(str(row.suggested_action)), f"{row.customers:,}", f"{row.share_of_customers:.1%}",
             f"{float(row.net_revenue):,.0f}", f"{row.share_of_net_revenue:.1%}"]
            for row in profiles.itertuples()]
    return _table("segments", ["#", "segment", "suggested action", "customers", "share of customers",
                               f"net revenue ({currency})", "share of net revenue"], rows, {0, 3, 4, 5, 6})


def _top_customers(con: duckdb.DuckDBPyConnection, currency: str) -> str:
    """Each segment's TOP_CUSTOMERS customers by net spending."""
    top = con.execute("""
        select segment_id, segment_name,
            row_number() over (partition by segment_id order by net_spending desc, customer_id) as rank,
            customer_id, orders, net_spending, return_rate, last_ordered_at
        from dim_customers
        qualify rank <= ?
        order by segment_id, rank""", [TOP_CUSTOMERS]).fetchall()
    rows = [[_segment(segment_id, name), str(rank), html.escape(str(customer)), f"{orders:,}",
             f"{spending:,.0f}", f"{return_rate:.1%}", f"{last_order:%Y-%m-%d}"]
            for segment_id, name, rank, customer, orders, spending, return_rate, last_order in top]
    return _table("top-customers", ["segment", "rank", "customer", "orders", f"net spending ({currency})",
                                    "return rate", "last order"], rows, {1, 3, 4, 5})


def _unused_lines(con: duckdb.DuckDBPyConnection, info: RunInfo) -> str:
    """The input lines the build did not use, by rejection reason."""
    reasons = con.execute("select rejection_reason, count(*) as lines from fct_rejected_order_lines "
                          "group by 1 order by 2 desc, 1").fetchall()
    unused = info.input_lines - info.valid_lines
    note = (f"<p class=note>{unused:,} of {info.input_lines:,} input lines "
            f"({unused / max(info.input_lines, 1):.1%}) were not used")
    if not reasons:
        return note + ": every line passed validation.</p>"
    rows = [[html.escape(reason), f"{lines:,}", f"{lines / info.input_lines:.1%}"]
            for reason, lines in reasons]
    return (note + ", by reason (each line is in the mart fct_rejected_order_lines with its reason):</p>"
            + _table("unused-lines", ["reason", "lines", "share of input lines"], rows, {1, 2}))


def _movements_note(heading: str, transitions: pd.DataFrame) -> str:
    first = transitions.iloc[0]
    both = transitions.dropna(subset=["from_segment_id", "to_segment_id"])
    moved = both.loc[both.from_segment_id != both.to_segment_id, "customers"].sum()
    new = transitions.loc[transitions.from_segment_id.isna(), "customers"].sum()
    gone = transitions.loc[transitions.to_segment_id.isna(), "customers"].sum()
    runs = html.escape(str(first.from_run_id)), html.escape(str(first.to_run_id))
    return (f"<h3>{heading}: from run {runs[0]} to run {runs[1]}</h3>"
            f"<p class=note>{int(moved):,} of {int(both.customers.sum()):,} customers of both runs changed "
            f"segment; {int(new):,} are new, {int(gone):,} are gone.</p>")


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222;
       background: #f6f7f9; }
header { background: #1f2a44; color: #fff; padding: 24px 40px; }
header h1 { margin: 0 0 12px; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; font-size: 14px; }
dt { color: #aeb8d0; } dd { margin: 0; }
main { max-width: 1200px; margin: 0 auto; padding: 8px 24px 40px; }
section { background: #fff; border-radius: 8px; padding: 16px 24px; margin-top: 20px;
          box-shadow: 0 1px 3px rgba(0, 0, 0, .08); }
h2 { font-weight: 600; font-size: 20px; margin: 4px 0 12px; }
h3 { font-weight: 600; font-size: 16px; margin: 16px 0 4px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e3e6eb; }
th { color: #555; font-weight: 600; } .num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 8px; }
.note { color: #555; font-size: 14px; }
"""


def build_report(db_path: Path) -> str:
    """The report as one HTML document, read from the marts of the database at `db_path`."""
    if not db_path.exists():
        raise FileNotFoundError(f"no database at {db_path}: run `make build` first")
    charts: list[str] = []

    def chart(fig: go.Figure, name: str) -> str:
        """The figure as a div; the first one carries plotly.js inline, so the file needs no network."""
        charts.append(fig.to_html(full_html=False, include_plotlyjs=not charts, config=PLOT_CONFIG,
                                  div_id=f"chart-{name}"))
        return charts[-1]

    with duckdb.connect(str(db_path), read_only=True) as con:
        info = run_info(con)
        currency = info.currency
        sweep = con.execute("select * from fct_segment_k_sweep order by k").df()
        profiles = con.execute("select * from dim_segment_profiles order by segment_id").df()
        # every customer feature, a newly added one too: the long-form mart has one row per
        # segment and feature, in the order of dim_customers' columns
        feature_profiles = con.execute(
            "select segment_id, segment_name, feature, is_money, mean_value "
            "from dim_segment_feature_profiles order by feature_position, segment_id").df()
        features = list(dict.fromkeys(feature_profiles.feature))
        # feature names are dim_customers' column names (a dbt contract), quoted as identifiers
        values = con.execute("select " + ", ".join(f'avg("{f}"), stddev_pop("{f}")' for f in features)
                             + " from dim_customers").fetchone()
        overall = pd.DataFrame(np.array(values, dtype=float).reshape(-1, 2), index=features,
                               columns=["mean", "std"])
        customers = con.execute(
            "select segment_id, segment_name, units_ordered, return_rate, "
            "cast(net_spending as double) as net_spending from dim_customers "
            "order by hash(customer_id) limit ?", [SCATTER_SAMPLE]
        ).df()
        total = con.execute("select count(*) from dim_customers").fetchone()[0]
        top_customers = _top_customers(con, currency)
        unused_lines = _unused_lines(con, info)
        transitions = con.execute("select * from fct_segment_transitions").df()
    generated = datetime.now(timezone.utc)

    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in info.facts.items())
    sampled = (f"a fixed sample of {len(customers):,} of {total:,} customers" if total > len(customers)
               else f"all {total:,} customers")
    segments = f"{_segment_table(profiles, currency)}{chart(shares_figure(profiles), 'shares')}"
    scatter = chart(scatter_figure(customers, currency), "scatter")
    means = (feature_profiles
             .pivot(index=["segment_id", "segment_name"], columns="feature", values="mean_value")
             .reset_index("segment_id", drop=True).astype(float))
    money = frozenset(feature_profiles.loc[feature_profiles.is_money, "feature"])
    profile = chart(profile_figure(means, overall, currency, money), "profiles")
    elbow = chart(elbow_figure(sweep), "elbow")
    movements = _movements(transitions, chart)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer segmentation report</title>
<style>{STYLE}</style></head>
<body><header><h1>Customer segmentation</h1><dl>{facts}
<dt>Report generated</dt><dd>{generated:%Y-%m-%d %H:%M} UTC from {html.escape(db_path.name)}</dd>
</dl></header>
<main>
<section id=segments-section><h2>Segments</h2>{segments}</section>
<section id=top-customers-section><h2>Top customers of each segment</h2>
<p class=note>The {TOP_CUSTOMERS} customers of each segment who spent the most (net of returns).
A segment's full list is the published mart dim_customers, filtered on segment_id (or the
analysis top_customers_of_segment).</p>{top_customers}</section>
<section id=movements><h2>Movements between segments</h2>{movements}</section>
<section><h2>Customers in feature space</h2>
<p class=note>Units ordered, return rate and net spending, coloured by segment: {sampled}.
Net spending below 1 is drawn at 1 on the log axis. Drag to rotate.</p>{scatter}</section>
<section><h2>How each segment differs from the average customer</h2>
<p class=note>Colour: the segment's mean minus the mean of all customers, in standard deviations
(saturating at &plusmn;{PROFILE_CLIP:g}); the number is the segment's mean.</p>{profile}</section>
<section><h2>Choosing k</h2>{elbow}</section>
<section id=unused-lines-section><h2>Input lines not used</h2>{unused_lines}</section>
</main></body></html>
"""


def _movements(transitions: pd.DataFrame, chart) -> str:
    """Customers moving between segments since the last fit and since the last build: one Sankey
    each, or one when the last build was the last fit."""
    if transitions.empty:
        return ("<p class=note id=no-previous-run>No previous run: the movements between "
                "segments appear after the next build.</p>")
    shown = []
    parts = []
    for comparison, heading in COMPARISONS.items():
        moves = transitions[transitions.comparison == comparison]
        if moves.empty:
            continue
        from_run = moves.from_run_id.iloc[0]
        if from_run in shown:
            parts.append(f"<p class=note>{heading}: the last build was the last fit, as above.</p>")
            continue
        shown.append(from_run)
        parts.append(_movements_note(heading, moves)
                     + chart(transitions_figure(moves), f"movements-{comparison}"))
    return "".join(parts)


def write_report(db_path: Path, out: Path) -> Path:
    """Render the report and replace `out` in one rename, so a browser never opens half a file."""
    document = build_report(db_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(document, encoding="utf-8")
    os.replace(partial, out)
    log.info("report: %s", out)
    return out


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m segmentation.cli.report`."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--db", type=Path,
                        default=Path(os.environ.get("SEGMENTATION_DB_PATH", "segmentation.duckdb")),
                        help="the warehouse whose marts the report shows (default: $SEGMENTATION_DB_PATH, "
                             "else segmentation.duckdb)")
    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("SEGMENTATION_PUBLISH_DIR", "published")) / "report.html",
                        help="the HTML file written (default: report.html in $SEGMENTATION_PUBLISH_DIR, "
                             "else published/report.html)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        write_report(args.db, args.out)
    except (FileNotFoundError, duckdb.Error) as err:
        sys.exit(f"report: {err}")


if __name__ == "__main__":
    main()
