"""Synthetic e-commerce order lines with planted customer segments.

Writes canonical order lines (see `schema.py`) to Parquet and, next to them, the planted segment
of every customer (`<name>_truth.parquet`), which the pipeline never reads: tests use it to
measure how well the segmentation recovers the truth.

    python -m segmentation.demo.data --customers 25000 --seed 42 --out data/demo/order_lines.parquet
    python -m segmentation.demo.data --extend data/demo/order_lines.parquet --seed 43 \
        --out data/demo/order_lines_next_month.parquet      # a month later, ~5% new customers
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentation.cli.command_line import description
from segmentation.schema import CANONICAL_ORDER_LINE

log = logging.getLogger(__name__)

WINDOW_START = datetime(2024, 1, 1)
WINDOW_END = datetime(2026, 1, 1)
NEWCOMER_DAYS = 90
PRODUCTS = 4_000
CHUNK_CUSTOMERS = 250_000
CATALOGUE_SEED = 20240101
TRUTH_SCHEMA = pa.schema([("customer_id", pa.string()), ("planted_segment", pa.string())])
# Online shops sell most in November and December.
MONTH_WEIGHTS = np.array([0.8, 0.7, 0.8, 0.8, 0.9, 0.9, 0.8, 0.8, 1.0, 1.1, 1.6, 1.8])


@dataclass(frozen=True)
class PlantedSegment:
    """How customers of one planted segment behave; counts are `minimum + Poisson(extra)`."""

    name: str
    share: float
    min_orders: int
    extra_orders: float
    extra_lines_per_order: float
    min_quantity: int
    extra_quantity: float
    returner_share: float  # share of the segment's customers who return anything
    return_prob_low: float
    return_prob_high: float
    recent_only: bool = False


PLANTED_SEGMENTS: tuple[PlantedSegment, ...] = (
    PlantedSegment("one_order_newcomers", 0.35, 1, 0.0, 1.0, 1, 0.5, 0.0, 0.0, 0.0, True),
    PlantedSegment("regulars", 0.33, 3, 2.0, 1.5, 1, 2.0, 0.3, 0.0, 0.04),
    PlantedSegment("loyal_high_spenders", 0.12, 8, 6.0, 2.5, 2, 6.0, 0.3, 0.0, 0.03),
    PlantedSegment("heavy_returners", 0.20, 3, 2.0, 1.5, 1, 2.0, 1.0, 0.3, 0.6),
)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _catalogue() -> tuple[np.ndarray, np.ndarray]:
    """Product prices (heavy-tailed) and popularity (Zipf-like): one shop for every file."""
    rng = np.random.default_rng(CATALOGUE_SEED)
    prices = np.round(np.exp(rng.normal(np.log(3.5), 0.8, size=PRODUCTS)), 2).clip(0.1)
    popularity = 1.0 / np.arange(1, PRODUCTS + 1) ** 0.8
    return prices, rng.permutation(popularity / popularity.sum())


def _order_timestamps(rng: np.random.Generator, n: int, recent_only: np.ndarray,
                      start: np.datetime64, end: np.datetime64) -> np.ndarray:
    """Order times in [start, end) with monthly seasonality; `recent_only` orders fall in the
    last NEWCOMER_DAYS of the window."""
    span = int((end - start) / np.timedelta64(1, "s"))
    # Rejection sampling against the month weights keeps this vectorised.
    offsets = rng.integers(0, span, size=n * 2)
    months = (start + offsets.astype("timedelta64[s]")).astype("datetime64[M]").astype(int) % 12
    keep = rng.random(n * 2) < MONTH_WEIGHTS[months] / MONTH_WEIGHTS.max()
    offsets = offsets[keep]
    while offsets.size < n:  # rare: top up with unweighted draws
        offsets = np.concatenate([offsets, rng.integers(0, span, size=n)])
    offsets = offsets[:n]
    recent_span = min(NEWCOMER_DAYS * 86_400, span)
    offsets = np.where(recent_only, span - 1 - rng.integers(0, recent_span, size=n), offsets)
    return start + offsets.astype("timedelta64[s]")


def _distinct_products_per_order(rng: np.random.Generator, line_order: np.ndarray,
                                 product_p: np.ndarray) -> np.ndarray:
    """A product per line, never the same product twice in one order (a shop merges those)."""
    product = rng.choice(PRODUCTS, size=line_order.size, p=product_p)
    while True:
        key = line_order.astype(np.int64) * PRODUCTS + product
        order = np.argsort(key, kind="stable")
        repeated = np.zeros(key.size, dtype=bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
        if not repeated.any():
            return product
        product[repeated] = rng.choice(PRODUCTS, size=int(repeated.sum()), p=product_p)


def _per_segment(seg: np.ndarray, attr: str) -> np.ndarray:
    return np.array([getattr(s, attr) for s in PLANTED_SEGMENTS])[seg]


def _lines(rng: np.random.Generator, customer_numbers: np.ndarray, seg: np.ndarray,
           n_orders: np.ndarray, start: np.datetime64, end: np.datetime64,
           first_order: int) -> tuple[pa.Table, int]:
    """Order lines of the given customers: `n_orders[i]` orders each, placed in [start, end)."""
    prices, product_p = _catalogue()
    is_returner = rng.random(seg.size) < _per_segment(seg, "returner_share")
    return_p = np.where(
        is_returner,
        rng.uniform(_per_segment(seg, "return_prob_low"), _per_segment(seg, "return_prob_high")),
        0.0,
    )
    order_customer = np.repeat(np.arange(seg.size), n_orders)
    order_seg = seg[order_customer]
    order_at = _order_timestamps(rng, order_customer.size, _per_segment(order_seg, "recent_only"),
                                 start, end)
    n_lines = 1 + rng.poisson(_per_segment(order_seg, "extra_lines_per_order"))

    line_order = np.repeat(np.arange(order_customer.size), n_lines)
    line_customer = order_customer[line_order]
    line_seg = seg[line_customer]
    product = _distinct_products_per_order(rng, line_order, product_p)
    quantity = _per_segment(line_seg, "min_quantity") + rng.poisson(_per_segment(line_seg, "extra_quantity"))
    returned = rng.binomial(quantity, return_p[line_customer])
    lines = pa.table(
        {
            "order_id": _ids("O", first_order + line_order, 9),
            "customer_id": _ids("C", customer_numbers[line_customer], 8),
            "ordered_at": pa.array(order_at[line_order].astype("datetime64[us]")),
            "product_id": _ids("P", product, 5),
            "quantity": pa.array(quantity.astype(np.int32)),
            "unit_price": pa.array(prices[product]).cast(pa.decimal128(12, 2)),
            "returned_quantity": pa.array(returned.astype(np.int32)),
        },
        schema=CANONICAL_ORDER_LINE,
    )
    return lines, int(order_customer.size)


def _new_customers(rng: np.random.Generator, first_customer: int, n_customers: int,
                   start: np.datetime64, end: np.datetime64,
                   first_order: int) -> tuple[pa.Table, pa.Table, int]:
    shares = np.array([s.share for s in PLANTED_SEGMENTS])
    seg = rng.choice(len(PLANTED_SEGMENTS), size=n_customers, p=shares / shares.sum())
    n_orders = _per_segment(seg, "min_orders") + rng.poisson(_per_segment(seg, "extra_orders"))
    customer_numbers = first_customer + np.arange(n_customers)
    lines, orders = _lines(rng, customer_numbers, seg, n_orders, start, end, first_order)
    truth = pa.table({"customer_id": _ids("C", customer_numbers, 8),
                      "planted_segment": pa.array([PLANTED_SEGMENTS[i].name for i in seg])})
    return lines, truth, orders


def truth_path(out: Path) -> Path:
    """Where the planted truth of the order-line file `out` is written."""
    return out.with_name(out.stem + "_truth.parquet")


def generate(customers: int, seed: int, out: Path) -> tuple[Path, Path]:
    """Write `customers` customers' order lines to `out` and their planted segments beside it."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    rng = np.random.default_rng(seed)
    start, end = np.datetime64(WINDOW_START, "s"), np.datetime64(WINDOW_END, "s")
    out.parent.mkdir(parents=True, exist_ok=True)
    truth_out = truth_path(out)
    lines_written = orders_written = 0
    with pq.ParquetWriter(out, CANONICAL_ORDER_LINE) as lines_writer, \
            pq.ParquetWriter(truth_out, TRUTH_SCHEMA) as truth_writer:
        for first in range(0, customers, CHUNK_CUSTOMERS):
            n = min(CHUNK_CUSTOMERS, customers - first)
            lines, truth, orders = _new_customers(rng, first + 1, n, start, end, orders_written + 1)
            lines_writer.write_table(lines)
            truth_writer.write_table(truth)
            orders_written += orders
            lines_written += lines.num_rows
            log.info("wrote %d customers, %d order lines", first + n, lines_written)
    return out, truth_out


def extend(existing: Path, out: Path, seed: int, new_customer_share: float = 0.05,
           days: int = 30) -> tuple[Path, Path]:
    """The demo a month later: `existing` plus `days` more of orders, from the customers it has
    (at each planted segment's usual rate) and from about `new_customer_share` new customers.
    Writes all lines to `out` and the extended truth beside it."""
    if not 0 <= new_customer_share <= 1 or days < 1:
        raise ValueError(f"new_customer_share must be in [0, 1] and days >= 1, "
                         f"got {new_customer_share} and {days}")
    rng = np.random.default_rng(seed)
    old_lines = pq.read_table(existing)
    old_truth = pq.read_table(truth_path(existing))
    names = [s.name for s in PLANTED_SEGMENTS]
    seg = np.array([names.index(name) for name in old_truth["planted_segment"].to_pylist()])
    numbers = np.array([int(c[1:]) for c in old_truth["customer_id"].to_pylist()])
    last_order = max(int(o[1:]) for o in pc.unique(old_lines["order_id"]).to_pylist())
    start = np.datetime64(pc.max(old_lines["ordered_at"]).as_py(), "s") + np.timedelta64(1, "s")
    end = start + np.timedelta64(days, "D")

    # Existing customers keep ordering at their segment's average pace over the window.
    window_days = (WINDOW_END - WINDOW_START).days
    rate = (_per_segment(seg, "min_orders") + _per_segment(seg, "extra_orders")) * days / window_days
    repeat_lines, repeat_orders = _lines(rng, numbers, seg, rng.poisson(rate), start, end, last_order + 1)
    n_new = round(new_customer_share * len(numbers))
    new_lines, new_truth, _ = _new_customers(rng, int(numbers.max()) + 1, n_new, start, end,
                                             last_order + 1 + repeat_orders)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.concat_tables([old_lines, repeat_lines, new_lines]), out)
    pq.write_table(pa.concat_tables([old_truth, new_truth]), truth_path(out))
    log.info("extended %s by %d days: %d lines from existing customers, %d new customers",
             existing, days, repeat_lines.num_rows, n_new)
    return out, truth_path(out)


def parser() -> argparse.ArgumentParser:
    """The command line of `python -m segmentation.demo.data`."""
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("--customers", type=int, default=25_000,
                        help="customers to generate (default: %(default)s; ignored with --extend)")
    parser.add_argument("--seed", type=int, default=42,
                        help="random seed: the same seed and size give the same file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("data/demo/order_lines.parquet"),
                        help="the order lines written, Parquet; the planted truth goes beside it "
                             "(default: %(default)s)")
    parser.add_argument("--extend", type=Path, metavar="EXISTING",
                        help="append a month of orders and new customers to this demo file")
    parser.add_argument("--new-customers-share", type=float, default=0.05,
                        help="with --extend: new customers as a share of the existing ones "
                             "(default: %(default)s)")
    parser.add_argument("--days", type=int, default=30,
                        help="with --extend: days of orders appended (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.extend:
        out, truth = extend(args.extend, args.out, args.seed, args.new_customers_share, args.days)
    else:
        out, truth = generate(args.customers, args.seed, args.out)
    log.info("order lines: %s\nplanted truth: %s", out, truth)


if __name__ == "__main__":
    main()
