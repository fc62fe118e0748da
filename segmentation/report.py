"""The segmentation report: one self-contained HTML file (plotly inlined, no network) from the marts.

    python -m segmentation.report [--db segmentation.duckdb] [--out published/report.html]
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
from plotly.colors import qualitative
from plotly.subplots import make_subplots

log = logging.getLogger(__name__)

SCATTER_SAMPLE = 5_000
PROFILE_CLIP = 2.0  # colour scale saturates at this many standard deviations from the average
PALETTE = qualitative.Plotly
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
TEMPLATE = "plotly_white"


@dataclass
class RunInfo:
    """What the report says about the run (label -> value), and the transitions when there are any."""

    facts: dict[str, str]
    transitions: pd.DataFrame | None


def run_info(con: duckdb.DuckDBPyConnection) -> RunInfo:
    """Run facts from the latest `segment_model_runs` row, and the transitions since the last
    accepted build."""
    run = con.execute("select * from segment_model_runs where is_latest").df().iloc[0]
    model = ("a new fit" if run.segmentation_mode == "fit"
             else f"the stored model of run {run.model_run_id}")
    facts = {
        "Data source": f"{run.orders_format}: {run.orders_input}",
        "Run id": f"{run.run_id} ({run.segmentation_mode} build, scored with {model})",
        "Run at": f"{run.run_at:%Y-%m-%d %H:%M} UTC; model fitted {run.fitted_at:%Y-%m-%d %H:%M} UTC",
        "Input lines": f"{run.input_lines:,} ({run.valid_lines:,} valid)",
        "Customers": f"{run.customers:,} (model fitted on {run.sample_size:,})",
        "k": f"{run.k} (chosen by {run.chosen_by}); segment ids: {run.id_assignment}",
        "Features": f"{run.features} (transforms {run.transforms})",
        "K-Means": f"n_init {run.n_init}, random_state {run.random_state}",
        "Libraries": str(run.library_versions),
    }
    # since the last accepted build (fit or score); a rejected or failed build is never compared with
    transitions = con.execute("select * from segment_transitions where comparison = 'since_last_build'").df()
    return RunInfo(facts, transitions if len(transitions) else None)


def _colour(segment_id: int) -> str:
    return PALETTE[(int(segment_id) - 1) % len(PALETTE)]


def elbow_figure(sweep: pd.DataFrame) -> go.Figure:
    """Inertia per k with the chosen k marked, and the three quality metrics per k below it."""
    chosen = sweep[sweep.is_chosen].iloc[0]
    fig = make_subplots(rows=2, cols=3, specs=[[{"colspan": 3}, None, None], [{}, {}, {}]],
                        row_heights=[0.6, 0.4], vertical_spacing=0.14, horizontal_spacing=0.08,
                        subplot_titles=("Inertia (the elbow curve)", "Silhouette (higher is better)",
                                        "Calinski-Harabasz (higher is better)",
                                        "Davies-Bouldin (lower is better)"))
    fig.add_trace(go.Scatter(x=sweep.k, y=sweep.inertia, mode="lines+markers", name="inertia",
                             line={"color": "#4c78a8"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=[chosen.k], y=[chosen.inertia], mode="markers+text", name="chosen k",
                             text=[f"chosen k = {chosen.k} ({chosen.chosen_by})"],
                             textposition="top right",
                             marker={"size": 16, "color": "#e45756", "symbol": "star"}), row=1, col=1)
    for col, metric in enumerate(["silhouette", "calinski_harabasz", "davies_bouldin"], start=1):
        fig.add_trace(go.Scatter(x=sweep.k, y=sweep[metric], mode="lines+markers", name=metric,
                                 line={"color": "#72b7b2"}), row=2, col=col)
        fig.add_vline(x=chosen.k, line={"color": "#e45756", "dash": "dot"}, row=2, col=col)
    fig.update_xaxes(dtick=1, title_text="k")
    fig.update_layout(template=TEMPLATE, height=620, showlegend=False, margin={"t": 40, "b": 40})
    return fig


def scatter_figure(customers: pd.DataFrame) -> go.Figure:
    """Customers in the business case's 3-D space, one colour per segment."""
    fig = go.Figure()
    for (segment_id, name), group in customers.groupby(["segment_id", "segment_name"]):
        fig.add_trace(go.Scatter3d(
            x=group.units_ordered, y=group.return_rate, z=group.net_spending.clip(lower=1),
            mode="markers", name=name, marker={"size": 2.5, "color": _colour(segment_id), "opacity": 0.75},
            hovertemplate="units %{x:,}<br>return rate %{y:.0%}<br>net spending %{z:,.0f}",
        ))
    fig.update_layout(
        template=TEMPLATE,
        height=640, margin={"l": 0, "r": 0, "t": 10, "b": 0}, legend={"itemsizing": "constant"},
        scene={"xaxis": {"title": {"text": "units ordered (log)"}, "type": "log", "dtick": 1},
               "yaxis": {"title": {"text": "return rate"}, "tickformat": ".0%"},
               "zaxis": {"title": {"text": "net spending (log)"}, "type": "log", "dtick": 1},
               "camera": {"eye": {"x": 1.45, "y": -1.45, "z": 0.8}}},
    )
    return fig


def profile_figure(profiles: pd.DataFrame, overall: pd.DataFrame) -> go.Figure:
    """Each segment's mean against the average customer, in standard deviations, per feature."""
    features = list(overall.index)
    means = profiles.set_index("segment_name")[[f"mean_{f}" for f in features]]
    means.columns = features
    z = (means - overall["mean"]) / overall["std"].where(overall["std"] > 0)
    # a feature that can be NULL (avg_days_between_orders) has no mean in a segment of one-order customers
    text = means.apply(lambda col: col.map(
        lambda v: "n/a" if pd.isna(v) else f"{v:.1%}" if col.name == "return_rate" else f"{v:,.0f}"))
    fig = go.Figure(go.Heatmap(
        z=z.clip(-PROFILE_CLIP, PROFILE_CLIP).to_numpy(), x=[f.replace("_", " ") for f in features],
        y=list(z.index), text=text.to_numpy(), texttemplate="%{text}", colorscale="RdBu", reversescale=True,
        zmid=0, zmin=-PROFILE_CLIP, zmax=PROFILE_CLIP, customdata=z.to_numpy(),
        hovertemplate="%{y}<br>%{x}: mean %{text}<br>%{customdata:+.2f} sd from the average<extra></extra>",
        colorbar={"title": {"text": "sd from<br>average"}},
    ))
    fig.update_layout(template=TEMPLATE, height=120 + 60 * len(z), margin={"t": 10, "b": 40},
                      yaxis={"autorange": "reversed"})
    return fig


def shares_figure(profiles: pd.DataFrame) -> go.Figure:
    """Share of customers against share of net revenue, per segment."""
    fig = go.Figure([
        go.Bar(y=profiles.segment_name, x=profiles.share_of_customers, name="share of customers",
               orientation="h", marker_color="#9ecae9", texttemplate="%{x:.0%}"),
        go.Bar(y=profiles.segment_name, x=profiles.share_of_net_revenue, name="share of net revenue",
               orientation="h", marker_color="#4c78a8", texttemplate="%{x:.0%}"),
    ])
    fig.update_layout(template=TEMPLATE, barmode="group", height=120 + 70 * len(profiles),
                      xaxis={"tickformat": ".0%"},
                      yaxis={"autorange": "reversed"}, margin={"t": 10, "b": 40},
                      legend={"orientation": "h", "y": 1.08})
    return fig


NEW_OR_GONE = -1  # node id for customers new in the latest run / no longer in it
NEW_OR_GONE_COLOUR = "#b0b7c3"


def transitions_figure(transitions: pd.DataFrame) -> go.Figure:
    """Customers moving from their segment in the previous run to their segment in the latest run;
    customers new in the latest run come from a "new customers" node, those gone go to "gone"."""
    moves = transitions.assign(
        from_segment_id=transitions.from_segment_id.fillna(NEW_OR_GONE).astype(int),
        from_segment_name=transitions.from_segment_name.fillna("new customers"),
        to_segment_id=transitions.to_segment_id.fillna(NEW_OR_GONE).astype(int),
        to_segment_name=transitions.to_segment_name.fillna("gone"),
    )
    before = moves.drop_duplicates("from_segment_id").sort_values("from_segment_id")
    after = moves.drop_duplicates("to_segment_id").sort_values("to_segment_id")
    labels = ([f"{n} (before)" if s != NEW_OR_GONE else n
               for s, n in zip(before.from_segment_id, before.from_segment_name, strict=True)]
              + [f"{n} (now)" if s != NEW_OR_GONE else n
                 for s, n in zip(after.to_segment_id, after.to_segment_name, strict=True)])
    colours = [_colour(s) if s != NEW_OR_GONE else NEW_OR_GONE_COLOUR
               for s in [*before.from_segment_id, *after.to_segment_id]]
    source = {sid: i for i, sid in enumerate(before.from_segment_id)}
    target = {sid: len(source) + i for i, sid in enumerate(after.to_segment_id)}
    fig = go.Figure(go.Sankey(
        node={"label": labels, "color": colours, "pad": 18},
        link={"source": moves.from_segment_id.map(source).tolist(),
              "target": moves.to_segment_id.map(target).tolist(),
              "value": moves.customers.astype(int).tolist()},
    ))
    fig.update_layout(template=TEMPLATE, height=480, margin={"t": 10, "b": 10})
    return fig


def _segment_table(profiles: pd.DataFrame) -> str:
    rows = "".join(
        f"<tr><td class=num>{row.segment_id}</td>"
        f"<td><span class=swatch style='background:{_colour(row.segment_id)}'></span>"
        f"{html.escape(row.segment_name)}</td><td>{html.escape(str(row.suggested_action))}</td>"
        f"<td class=num>{row.customers:,}</td><td class=num>{row.share_of_customers:.1%}</td>"
        f"<td class=num>{float(row.net_revenue):,.0f}</td>"
        f"<td class=num>{row.share_of_net_revenue:.1%}</td></tr>"
        for row in profiles.itertuples()
    )
    return ("<table><thead><tr><th>#</th><th>segment</th><th>suggested action</th><th>customers</th>"
            "<th>share of customers</th><th>net revenue</th><th>share of net revenue</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _transitions_note(transitions: pd.DataFrame) -> str:
    first = transitions.iloc[0]
    both = transitions.dropna(subset=["from_segment_id", "to_segment_id"])
    moved = both.loc[both.from_segment_id != both.to_segment_id, "customers"].sum()
    new = transitions.loc[transitions.from_segment_id.isna(), "customers"].sum()
    gone = transitions.loc[transitions.to_segment_id.isna(), "customers"].sum()
    runs = html.escape(str(first.from_run_id)), html.escape(str(first.to_run_id))
    return (f"<p class=note>Since the last build: customers from their segment in run {runs[0]}"
            f" to their segment in run {runs[1]}: {int(moved):,} of {int(both.customers.sum()):,}"
            f" customers of both runs changed segment; {int(new):,} are new, {int(gone):,} are gone.</p>")


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
    with duckdb.connect(str(db_path), read_only=True) as con:
        info = run_info(con)
        sweep = con.execute("select * from segment_k_sweep order by k").df()
        profiles = con.execute("select * from segment_profiles order by segment_id").df()
        features = [c.removeprefix("mean_") for c in profiles.columns if c.startswith("mean_")]
        values = con.execute("select " + ", ".join(f"avg({f}), stddev_pop({f})" for f in features)
                             + " from dim_customers").fetchone()
        overall = pd.DataFrame(np.array(values, dtype=float).reshape(-1, 2), index=features,
                               columns=["mean", "std"])
        customers = con.execute(
            "select segment_id, segment_name, units_ordered, return_rate, "
            "cast(net_spending as double) as net_spending from dim_customers "
            "order by hash(customer_id) limit ?", [SCATTER_SAMPLE]
        ).df()
        total = con.execute("select count(*) from dim_customers").fetchone()[0]
    generated = datetime.now(timezone.utc)

    charts: list[str] = []

    def chart(fig: go.Figure) -> str:
        """The figure as a div; the first one carries plotly.js inline, so the file needs no network."""
        charts.append(fig.to_html(full_html=False, include_plotlyjs=not charts, config=PLOT_CONFIG,
                                  div_id=f"chart-{len(charts) + 1}"))
        return charts[-1]

    facts = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in info.facts.items())
    sampled = (f"a fixed sample of {len(customers):,} of {total:,} customers" if total > len(customers)
               else f"all {total:,} customers")
    segments = f"{_segment_table(profiles)}{chart(shares_figure(profiles))}"
    scatter = chart(scatter_figure(customers))
    profile = chart(profile_figure(profiles, overall))
    elbow = chart(elbow_figure(sweep))
    transitions = ("<p class=note id=no-previous-run>No previous run: the transitions between "
                   "segments appear after the next build.</p>")
    if info.transitions is not None:
        transitions = _transitions_note(info.transitions) + chart(transitions_figure(info.transitions))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer segmentation report</title>
<style>{STYLE}</style></head>
<body><header><h1>Customer segmentation</h1><dl>{facts}
<dt>Report generated</dt><dd>{generated:%Y-%m-%d %H:%M} UTC from {html.escape(db_path.name)}</dd>
</dl></header>
<main>
<section><h2>Segments</h2>{segments}</section>
<section><h2>Customers in feature space</h2>
<p class=note>Units ordered, return rate and net spending, coloured by segment: {sampled}.
Net spending below 1 is drawn at 1 on the log axis. Drag to rotate.</p>{scatter}</section>
<section><h2>How each segment differs from the average customer</h2>
<p class=note>Colour: the segment's mean minus the mean of all customers, in standard deviations
(saturating at &plusmn;{PROFILE_CLIP:g}); the number is the segment's mean.</p>{profile}</section>
<section><h2>Choosing k</h2>{elbow}</section>
<section><h2>Transitions since the last build</h2>{transitions}</section>
</main></body></html>
"""


def write_report(db_path: Path, out: Path) -> Path:
    """Render the report and replace `out` in one rename, so a browser never opens half a file."""
    document = build_report(db_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(document, encoding="utf-8")
    os.replace(partial, out)
    log.info("report: %s", out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path,
                        default=Path(os.environ.get("SEGMENTATION_DB_PATH", "segmentation.duckdb")))
    parser.add_argument("--out", type=Path,
                        default=Path(os.environ.get("SEGMENTATION_PUBLISH_DIR", "published")) / "report.html")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        write_report(args.db, args.out)
    except (FileNotFoundError, duckdb.Error) as err:
        sys.exit(f"report: {err}")


if __name__ == "__main__":
    main()
