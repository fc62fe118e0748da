"""The report's plotly figures, each from a DataFrame read from the marts (segmentation.cli.report).

Plotly draws its toolbar (modebar) over the top right corner of a chart; every figure keeps a
top margin of TOOLBAR_CLEARANCE so the toolbar sits above the legend, colour bar and data.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

PALETTE = qualitative.Plotly
TEMPLATE = "plotly_white"
TOOLBAR_CLEARANCE = 40  # px above the plot area: the toolbar is 2 px from the top, 26 px high
PROFILE_CLIP = 2.0  # colour scale saturates at this many standard deviations from the average
NEW_OR_GONE = -1  # node id for customers new in the latest run / no longer in it
NEW_OR_GONE_COLOUR = "#b0b7c3"


def colour(segment_id: int) -> str:
    """The segment's colour, the same in every chart and table."""
    return PALETTE[(int(segment_id) - 1) % len(PALETTE)]


def _layout(fig: go.Figure, height: int, **layout) -> go.Figure:
    margin = {"t": TOOLBAR_CLEARANCE, "b": 40, **layout.pop("margin", {})}
    fig.update_layout(template=TEMPLATE, height=height, margin=margin, **layout)
    return fig


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
    return _layout(fig, 640, showlegend=False)


def scatter_figure(customers: pd.DataFrame, currency: str) -> go.Figure:
    """Customers in the business case's 3-D space, one colour per segment."""
    fig = go.Figure()
    for (segment_id, name), group in customers.groupby(["segment_id", "segment_name"]):
        fig.add_trace(go.Scatter3d(
            x=group.units_ordered, y=group.return_rate, z=group.net_spending.clip(lower=1),
            mode="markers", name=name, marker={"size": 2.5, "color": colour(segment_id), "opacity": 0.75},
            hovertemplate=f"units %{{x:,}}<br>return rate %{{y:.0%}}<br>net spending %{{z:,.0f}} {currency}",
        ))
    return _layout(
        fig, 660, margin={"l": 0, "r": 0, "b": 0}, legend={"itemsizing": "constant"},
        scene={"xaxis": {"title": {"text": "units ordered (log)"}, "type": "log", "dtick": 1},
               "yaxis": {"title": {"text": "return rate"}, "tickformat": ".0%"},
               "zaxis": {"title": {"text": f"net spending ({currency}, log)"}, "type": "log", "dtick": 1},
               "camera": {"eye": {"x": 1.45, "y": -1.45, "z": 0.8}}},
    )


def feature_label(feature: str, currency: str, money: bool) -> str:
    """A customer feature as a column label on short lines (a dozen columns side by side), with
    the currency when it is an amount of money (`money`)."""
    label = feature.replace("_", " ") + (f" ({currency})" if money else "")
    return "<br>".join(textwrap.wrap(label, 12))


def profile_figure(means: pd.DataFrame, overall: pd.DataFrame, currency: str,
                   money: frozenset[str]) -> go.Figure:
    """Each segment's mean against the average customer, in standard deviations, per feature.
    `means`: one row per segment (indexed by name), one column per feature; `overall`: the mean
    and std of every feature over all customers; `money`: the features that are amounts."""
    features = list(overall.index)
    means = means[features]
    z = (means - overall["mean"]) / overall["std"].where(overall["std"] > 0)
    # a feature that can be NULL (avg_days_between_orders) has no mean in a segment of one-order customers
    text = means.apply(lambda col: col.map(
        lambda v: "n/a" if pd.isna(v) else f"{v:.1%}" if col.name == "return_rate" else f"{v:,.0f}"))
    fig = go.Figure(go.Heatmap(
        z=z.clip(-PROFILE_CLIP, PROFILE_CLIP).to_numpy(),
        x=[feature_label(f, currency, f in money) for f in features],
        y=list(z.index), text=text.to_numpy(), texttemplate="%{text}", colorscale="RdBu", reversescale=True,
        zmid=0, zmin=-PROFILE_CLIP, zmax=PROFILE_CLIP, customdata=z.to_numpy(),
        hovertemplate="%{y}<br>%{x}: mean %{text}<br>%{customdata:+.2f} sd from the average<extra></extra>",
        colorbar={"title": {"text": "sd from<br>average"}},
    ))
    return _layout(fig, 170 + 60 * len(z), margin={"b": 80}, xaxis={"tickangle": 0, "side": "bottom"},
                   yaxis={"autorange": "reversed"})


def shares_figure(profiles: pd.DataFrame) -> go.Figure:
    """Share of customers against share of net revenue, per segment."""
    fig = go.Figure([
        go.Bar(y=profiles.segment_name, x=profiles.share_of_customers, name="share of customers",
               orientation="h", marker_color="#9ecae9", texttemplate="%{x:.0%}"),
        go.Bar(y=profiles.segment_name, x=profiles.share_of_net_revenue, name="share of net revenue",
               orientation="h", marker_color="#4c78a8", texttemplate="%{x:.0%}"),
    ])
    return _layout(fig, 140 + 70 * len(profiles), barmode="group", xaxis={"tickformat": ".0%"},
                   yaxis={"autorange": "reversed"},
                   legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom"})


def transitions_figure(transitions: pd.DataFrame) -> go.Figure:
    """Customers moving from their segment in an earlier run to their segment in the latest run;
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
    colours = [colour(s) if s != NEW_OR_GONE else NEW_OR_GONE_COLOUR
               for s in [*before.from_segment_id, *after.to_segment_id]]
    source = {sid: i for i, sid in enumerate(before.from_segment_id)}
    target = {sid: len(source) + i for i, sid in enumerate(after.to_segment_id)}
    fig = go.Figure(go.Sankey(
        node={"label": labels, "color": colours, "pad": 18},
        link={"source": moves.from_segment_id.map(source).tolist(),
              "target": moves.to_segment_id.map(target).tolist(),
              "value": moves.customers.astype(int).tolist()},
    ))
    return _layout(fig, 400, margin={"b": 10})
