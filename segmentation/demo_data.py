"""Synthetic e-commerce order lines with planted customer segments.

Writes canonical order lines (see `schema.py`) to Parquet and, next to them, the planted segment
of every customer (`<name>_truth.parquet`), which the pipeline never reads: tests use it to
measure how well the segmentation recovers the truth.

    python -m segmentation.demo_data --customers 25000 --seed 42 --out data/demo/order_lines.parquet
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

from segmentation.schema import CANONICAL_ORDER_LINE

log = logging.getLogger(__name__)

WINDOW_START = datetime(2024, 1, 1)
WINDOW_END = datetime(2026, 1, 1)
NEWCOMER_DAYS = 90
PRODUCTS = 4_000
CHUNK_CUSTOMERS = 250_000
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


def _order_timestamps(rng: np.random.Generator, n: int, recent_only: np.ndarray) -> np.ndarray:
    """Order times with monthly seasonality; newcomers' orders fall in the last NEWCOMER_DAYS."""
    start = np.datetime64(WINDOW_START, "s")
    end = np.datetime64(WINDOW_END, "s")
    span = int((end - start) / np.timedelta64(1, "s"))
    # Rejection sampling against the month weights keeps this vectorised.
    offsets = rng.integers(0, span, size=n * 2)
    months = (start + offsets.astype("timedelta64[s]")).astype("datetime64[M]").astype(int) % 12
    keep = rng.random(n * 2) < MONTH_WEIGHTS[months] / MONTH_WEIGHTS.max()
    offsets = offsets[keep]
    while offsets.size < n:  # rare: top up with unweighted draws
        offsets = np.concatenate([offsets, rng.integers(0, span, size=n)])
    offsets = offsets[:n]
    recent_span = NEWCOMER_DAYS * 86_400
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


def _chunk(rng: np.random.Generator, first_customer: int, n_customers: int,
           prices: np.ndarray, product_p: np.ndarray, first_order: int) -> tuple[pa.Table, pa.Table, int]:
    shares = np.array([s.share for s in PLANTED_SEGMENTS])
    seg = rng.choice(len(PLANTED_SEGMENTS), size=n_customers, p=shares / shares.sum())

    def per_segment(attr: str) -> np.ndarray:
        return np.array([getattr(s, attr) for s in PLANTED_SEGMENTS])[seg]

    n_orders = per_segment("min_orders") + rng.poisson(per_segment("extra_orders"))
    is_returner = rng.random(n_customers) < per_segment("returner_share")
    return_p = np.where(
        is_returner,
        rng.uniform(per_segment("return_prob_low"), per_segment("return_prob_high")),
        0.0,
    )

    order_customer = np.repeat(np.arange(n_customers), n_orders)
    order_at = _order_timestamps(rng, order_customer.size, per_segment("recent_only")[order_customer])
    n_lines = 1 + rng.poisson(per_segment("extra_lines_per_order")[order_customer])

    line_order = np.repeat(np.arange(order_customer.size), n_lines)
    line_customer = order_customer[line_order]
    product = _distinct_products_per_order(rng, line_order, product_p)
    quantity = per_segment("min_quantity")[line_customer] + rng.poisson(
        per_segment("extra_quantity")[line_customer]
    )
    returned = rng.binomial(quantity, return_p[line_customer])

    customer_numbers = first_customer + np.arange(n_customers)
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
    truth = pa.table(
        {
            "customer_id": _ids("C", customer_numbers, 8),
            "planted_segment": pa.array([PLANTED_SEGMENTS[i].name for i in seg]),
        }
    )
    return lines, truth, order_customer.size


def truth_path(out: Path) -> Path:
    """Where the planted truth of the order-line file `out` is written."""
    return out.with_name(out.stem + "_truth.parquet")


def generate(customers: int, seed: int, out: Path) -> tuple[Path, Path]:
    """Write `customers` customers' order lines to `out` and their planted segments beside it."""
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    rng = np.random.default_rng(seed)
    # Prices: heavy-tailed, fixed per product; popularity: Zipf-like.
    prices = np.round(np.exp(rng.normal(np.log(3.5), 0.8, size=PRODUCTS)), 2).clip(0.1)
    popularity = 1.0 / np.arange(1, PRODUCTS + 1) ** 0.8
    product_p = rng.permutation(popularity / popularity.sum())

    out.parent.mkdir(parents=True, exist_ok=True)
    truth_out = truth_path(out)
    lines_written = orders_written = 0
    with pq.ParquetWriter(out, CANONICAL_ORDER_LINE) as lines_writer, pq.ParquetWriter(
        truth_out, pa.schema([("customer_id", pa.string()), ("planted_segment", pa.string())])
    ) as truth_writer:
        for first in range(0, customers, CHUNK_CUSTOMERS):
            n = min(CHUNK_CUSTOMERS, customers - first)
            lines, truth, orders = _chunk(rng, first + 1, n, prices, product_p, orders_written + 1)
            orders_written += orders
            lines_writer.write_table(lines)
            truth_writer.write_table(truth)
            lines_written += lines.num_rows
            log.info("wrote %d customers, %d order lines", first + n, lines_written)
    return out, truth_out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("data/demo/order_lines.parquet"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out, truth = generate(args.customers, args.seed, args.out)
    log.info("order lines: %s\nplanted truth: %s", out, truth)


if __name__ == "__main__":
    main()
