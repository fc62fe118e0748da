"""A short summary of the last build, read from the marts: what `make build` prints.

    python -m segmentation.cli.summary [--db segmentation.duckdb]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb

from segmentation.cli.command_line import description


def summarize(db_path: Path, publish_dir: Path = Path("published")) -> str:
    """Customers, chosen k, segment names and sizes, the segments renamed since the build before,
    and rejected lines, as text."""
    if not db_path.exists():
        raise FileNotFoundError(f"no database at {db_path}: run `make build` first")
    with duckdb.connect(str(db_path), read_only=True) as con:
        customers = con.execute("select count(*) from dim_customers").fetchone()[0]
        run_id, mode, model_run_id, k, chosen_by, sample, id_assignment = con.execute(
            "select run_id, segmentation_mode, model_run_id, k, chosen_by, sample_size, id_assignment "
            "from fct_segment_model_runs where is_latest"
        ).fetchone()
        segments = con.execute(
            "select segment_id, segment_name, customers, share_of_customers, share_of_net_revenue "
            "from dim_segment_profiles order by segment_id"
        ).fetchall()
        renamed = con.execute(
            "select segment_id, previous_segment_name, segment_name from fct_segment_history "
            "where is_latest_run and is_renamed order by segment_id"
        ).fetchall()
        rejected = con.execute(
            "select rejection_reason, count(*) from fct_rejected_order_lines "
            "group by 1 order by 2 desc, 1"
        ).fetchall()
    model = "a new fit" if mode == "fit" else f"the stored model of run {model_run_id}"
    lines = [
        f"run {run_id}: {mode} build, customers scored with {model}",
        f"customers segmented: {customers:,} (model fitted on {sample:,})",
        f"chosen k: {k} ({chosen_by}); segment ids: {id_assignment}",
        "segments:",
        *(f"  {sid:>2}  {name:<28} {n:>10,} customers  {sc:6.1%} of customers  "
          f"{sr:6.1%} of net revenue" for sid, name, n, sc, sr in segments),
        *(["renamed since the last build: "
           + ", ".join(f"segment {sid} {before!r} -> {after!r}" for sid, before, after in renamed)]
          if renamed else []),
        "rejected order lines: " + (", ".join(f"{reason}: {n:,}" for reason, n in rejected) or "none"),
        f"results: {db_path} (the marts and every model they are built from)",
        published_line(publish_dir),
    ]
    return "\n".join(lines)


def published_line(publish_dir: Path) -> str:
    """The marts BI tools read, as the publish folder lists them (its published_marts table)."""
    published = publish_dir / "segmentation.duckdb"
    if not published.exists():
        return f"published for BI tools: nothing yet ({published} does not exist)"
    with duckdb.connect(str(published), read_only=True) as con:
        marts = [mart for mart, in con.execute("select mart from published_marts order by mart").fetchall()]
    return (f"published for BI tools: {published} and {publish_dir / 'current'}/*.parquet "
            f"(marts {', '.join(marts)})")


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m segmentation.cli.summary`."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--db", type=Path,
                        default=Path(os.environ.get("SEGMENTATION_DB_PATH", "segmentation.duckdb")),
                        help="the warehouse to summarize (default: $SEGMENTATION_DB_PATH, else "
                             "segmentation.duckdb)")
    parser.add_argument("--published", type=Path,
                        default=Path(os.environ.get("SEGMENTATION_PUBLISH_DIR", "published")),
                        help="the publish folder named in the summary (default: $SEGMENTATION_PUBLISH_DIR, "
                             "else published)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        sys.stdout.write(summarize(args.db, args.published) + "\n")
    except (FileNotFoundError, duckdb.Error) as err:
        sys.exit(f"summary: {err}")


if __name__ == "__main__":
    main()
