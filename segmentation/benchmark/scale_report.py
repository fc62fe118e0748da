"""The benchmark's Markdown report and its chart (time against order lines)."""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from segmentation.benchmark.results import STAGES, SizeResult

log = logging.getLogger(__name__)

NOTEBOOK_STEPS = ("load", "features", "sweep", "fit")
MAX_NOTEBOOK_SHARE = 0.2  # our pipeline at most a fifth of the notebook's time
MAX_INERTIA_EXCESS = 0.01  # our inertia within 1% of the full-data fit
MAX_PEAK_RSS_MIB = 8 * 1024
MAX_RATE_SPREAD = 0.25  # time per million lines within 25% across sizes
MAX_BARE_QUERY_MULTIPLE = 3.0
# The "Daily builds" section (segmentation/benchmark/daily_report.py) sits between these markers.
DAILY_START = "<!-- daily builds: written by segmentation.benchmark.daily; do not edit by hand -->"
DAILY_END = "<!-- end of daily builds -->"


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def _row(label: str, cells: Iterable[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def _rate(r: SizeResult) -> float:
    return r.pipeline_seconds / (r.order_lines / 1e6)


def write_chart(results: Sequence[SizeResult], out: Path) -> None:
    """Seconds against order lines (log-log): our pipeline, the bare query, the notebook."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = [r.order_lines / 1e6 for r in results]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    ax.plot(lines, [r.pipeline_seconds for r in results], "o-", label="our pipeline (dbt build, no start-up)")
    ax.plot(lines, [r.bare_aggregation_seconds for r in results], "s--", label="bare DuckDB feature GROUP BY")
    with_notebook = [r for r in results if r.notebook]
    if with_notebook:
        ax.plot([r.order_lines / 1e6 for r in with_notebook],
                [r.notebook["total_seconds"] for r in with_notebook], "^-",
                label="notebook (pandas + scikit-learn)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    ax.set_xlabel("order lines (millions)")
    ax.set_ylabel("wall time (seconds)")
    ax.set_title("Time against order lines (2 cores)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def write_report(results: Sequence[SizeResult], out: Path, command: str) -> None:
    """`out` (Markdown) and its chart beside it, from the measured results; the daily builds'
    section of the `out` it replaces is kept."""
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = out.with_name(out.stem + "_time.png")
    write_chart(results, chart)
    cols = " | ".join(f"{r.customers:,} customers" for r in results)
    sep = "|".join(["---"] * (len(results) + 1))
    md = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`segmentation/benchmark/scale.py`) from a real run; do not edit by hand.",
        "",
        f"- command: `{command}`",
        f"- machine: {os.cpu_count()} cores, {_mem_gib():.0f} GiB, {platform.platform()}; "
        f"DuckDB {duckdb.__version__}; shared with other developers, so absolute times are "
        "noisy: compare ratios within one run",
        "",
        "## Wall time per stage (seconds)",
        "",
        "Stages are dbt nodes' execution times from `target/run_results.json`, summed per stage "
        "(dbt runs two nodes at a time, so stages can overlap). *pipeline* is the span from the "
        "first node's start to the last node's end; *dbt start-up* is the rest of the dbt "
        "process's wall time (parsing, connecting).",
        "",
        f"| | {cols} |",
        f"|{sep}|",
        _row("order lines", (f"{r.order_lines:,}" for r in results)),
    ]
    for stage in STAGES:
        md.append(_row(stage, (f"{r.stage_seconds.get(stage, 0.0):.1f}" for r in results)))
    md += [
        _row("**pipeline**", (f"**{r.pipeline_seconds:.1f}**" for r in results)),
        _row("models only (sum of model times, no tests)",
             (f"{sum(v for k, v in r.stage_seconds.items() if k != 'tests'):.1f}" for r in results)),
        _row("dbt start-up", (f"{r.dbt_startup_seconds:.1f}" for r in results)),
        _row("dbt wall time", (f"{r.dbt_wall_seconds:.1f}" for r in results)),
        _row("peak RSS of dbt (MiB)", (f"{r.dbt_peak_rss_mib:,.0f}" for r in results)),
        _row("machine load (1 min) before / after the build",
             (" / ".join(f"{load:.1f}" for load in r.load_average) or "-" for r in results)),
        _row("seconds per million lines", (f"{_rate(r):.2f}" for r in results)),
        _row("bare feature GROUP BY", (f"{r.bare_aggregation_seconds:.1f}" for r in results)),
        _row("pipeline ÷ bare query",
             (f"{r.pipeline_seconds / r.bare_aggregation_seconds:.1f}" for r in results)),
        _row("customers in the sample", (f"{r.sample_size:,}" for r in results)),
        _row("chosen k", (str(r.chosen_k) for r in results)),
        _row("ARI against the planted truth", (f"{r.ari:.3f}" for r in results)),
        _row("inertia over all customers vs a full-data K-Means, same k",
             (f"{_excess(r.inertia_model_space, r.inertia_full_fit_model_space):+.3%}" for r in results)),
        "",
        f"![Time against order lines]({chart.name})",
        "",
        "## Against the notebook way",
        "",
        "The business case's notebook, run in its own process on the same file: every order line "
        "into pandas, a groupby per customer (units ordered, return rate, net spending), "
        "StandardScaler, K-Means for k = 1..10 with scikit-learn's default `n_init`, a final fit "
        "over all customers at the k our pipeline chose.",
        "",
    ]
    compared = [r for r in results if r.notebook]
    skipped = [r for r in results if not r.notebook]
    if compared:
        md += [
            _row("", (f"{r.customers:,} customers" for r in compared)),
            "|" + "|".join(["---"] * (len(compared) + 1)) + "|",
            _row("notebook: load, features, sweep, fit (s)",
                 (" / ".join(f"{r.notebook['seconds'][step]:.1f}" for step in NOTEBOOK_STEPS)
                  for r in compared)),
            _row("notebook total (s)", (f"{r.notebook['total_seconds']:.1f}" for r in compared)),
            _row("notebook peak RSS (MiB)", (f"{r.notebook['peak_rss_mib']:,.0f}" for r in compared)),
            _row("our pipeline (s)", (f"{r.pipeline_seconds:.1f}" for r in compared)),
            _row("**ours ÷ notebook**",
                 (f"**{r.pipeline_seconds / r.notebook['total_seconds']:.2f}**" for r in compared)),
            _row("ARI: ours / notebook", (f"{r.ari:.3f} / {r.notebook['ari']:.3f}" for r in compared)),
            _row("inertia in model space: ours / full-data K-Means, same k",
                 (f"{r.inertia_model_space:,.0f} / {r.inertia_full_fit_model_space:,.0f} "
                  f"({_excess(r.inertia_model_space, r.inertia_full_fit_model_space):+.2%})"
                  for r in compared)),
            _row("inertia in the notebook's space: our segments / notebook's fit, same k",
                 (f"{r.notebook['our_labels_inertia']:,.0f} / {r.notebook['inertia']:,.0f}"
                  for r in compared)),
            "",
            "Inertia is compared in two spaces. Our model works on clipped, log-transformed, "
            "standardised features (docs/how_it_works.md); the fair test of "
            "sampling is our model's inertia over all customers against a K-Means fitted on all "
            "customers in that same space at the same k (scikit-learn defaults). In the notebook's "
            "space (raw features, standardised) the notebook's fit minimises inertia by definition, "
            "while skewed spending makes its segments miss the planted ones (see the ARI).",
            "",
        ]
    if skipped:
        largest = max(compared, key=lambda r: r.order_lines, default=None)
        estimate = ""
        if largest:
            per_line = largest.notebook["peak_rss_mib"] / largest.order_lines
            estimate = (f"; at {largest.notebook['peak_rss_mib'] / 1024:.1f} GiB for "
                        f"{largest.order_lines:,} lines it would need about "
                        + ", ".join(f"{per_line * r.order_lines / 1024:.0f} GiB for {r.order_lines:,}"
                                    for r in skipped) + f", more than this machine's {_mem_gib():.0f} GiB")
        md.append("Not compared with the notebook at " + ", ".join(f"{r.customers:,}" for r in skipped)
                  + " customers: the benchmark runs the notebook only up to `--notebook-up-to` "
                  f"customers, because it holds every order line in pandas{estimate}.")
        md.append("")
    md += ["## Where the time goes", "",
           "The slowest dbt nodes per size (seconds; `unique_*`, `not_null_*`, `assert_*` are tests):", ""]
    md += [f"- {r.customers:,} customers: "
           + ", ".join(f"{name} {seconds:.1f}" for name, seconds in r.slowest_nodes)
           for r in results if r.slowest_nodes]
    md += ["", "## Targets", "", *_targets(results), ""]
    notes = out.with_name(out.stem + "_notes.md")
    if notes.exists():  # the analysis of a run, written by hand after it
        md += [notes.read_text().strip(), ""]
    daily = daily_section_of(out.read_text()) if out.exists() else None
    if daily:  # written by segmentation/benchmark/daily.py, which may not run this time
        md += [daily, ""]
    out.write_text("\n".join(md))
    log.info("wrote %s and %s", out, chart)


def daily_section_of(text: str) -> str | None:
    """The marked daily section of `text`, markers included, for the rewritten report to keep."""
    if DAILY_START not in text or DAILY_END not in text:
        return None
    return DAILY_START + text.split(DAILY_START, 1)[1].split(DAILY_END, 1)[0] + DAILY_END


def _excess(ours: float, reference: float) -> float:
    return ours / reference - 1


def _mem_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _targets(results: Sequence[SizeResult]) -> list[str]:
    rows = []
    million = [r for r in results if r.customers == 1_000_000 and r.notebook]
    if million:
        r = million[0]
        share = r.pipeline_seconds / r.notebook["total_seconds"]
        excess = _excess(r.inertia_model_space, r.inertia_full_fit_model_space)
        rows.append(f"- 1,000,000 customers, at most a fifth of the notebook's time: {share:.2f} of it, "
                    f"{_met(share <= MAX_NOTEBOOK_SHARE)}; inertia within 1% of the full-data fit: "
                    f"{excess:+.2%}, {_met(excess <= MAX_INERTIA_EXCESS)}.")
    else:
        rows.append("- 1,000,000 customers against the notebook: not run in this benchmark.")
    ten = [r for r in results if r.customers >= 10_000_000]
    if ten:
        r = ten[0]
        rows.append(f"- 10,000,000 customers ({r.order_lines:,} lines) on this machine, "
                    "peak RSS under 8 GiB: "
                    f"{r.dbt_peak_rss_mib:,.0f} MiB, {_met(r.dbt_peak_rss_mib < MAX_PEAK_RSS_MIB)}.")
    else:
        rows.append("- 10,000,000 customers: not run in this benchmark.")
    big = [r for r in results if r.order_lines >= 1_000_000]
    if len(big) >= 2:
        rates = [_rate(r) for r in big]
        spread = max(rates) / min(rates) - 1
        rows.append(f"- time per million lines from {big[0].order_lines / 1e6:.0f}M to "
                    f"{big[-1].order_lines / 1e6:.0f}M lines within 25%: "
                    + ", ".join(f"{rate:.2f} s" for rate in rates) + f", spread {spread:.0%}, "
                    f"{_met(spread <= MAX_RATE_SPREAD)}"
                    + (" (cheaper per line at the larger size: the sweep and the fit cost the same "
                       "at every size)." if rates[-1] < rates[0] else "."))
    for r in results:
        multiple = r.pipeline_seconds / r.bare_aggregation_seconds
        rows.append(f"- {r.customers:,} customers, pipeline at most 3 times the bare query: "
                    f"{multiple:.1f} times, {_met(multiple <= MAX_BARE_QUERY_MULTIPLE)}.")
    return rows
