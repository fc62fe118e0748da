"""Input safety: no dbt var can smuggle SQL into the build (docs/configuration.md "Input safety").

Each var that reaches SQL gets a value carrying `create table pwned ...`; the build must stop
with a message naming the var (or treat the value as plain data), and no table `pwned` may exist.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest

from conftest import run_dbt
from segmentation.demo.data import generate

PAYLOAD = "x'); create table pwned as select 1; --"


@pytest.fixture(scope="module")
def small_orders(tmp_path_factory):
    out, _ = generate(300, 13, tmp_path_factory.mktemp("safety") / "order_lines.parquet")
    return out


def _tables(db) -> set[str]:
    if not db.exists():
        return set()
    with duckdb.connect(str(db), read_only=True) as con:
        return {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}


INJECTIONS = [
    ("orders_path", {"orders_path": f"{PAYLOAD}.csv"}, f"orders file not found: '{PAYLOAD}.csv'"),
    ("orders_format", {"orders_format": f"canonical{PAYLOAD}"}, "var orders_format must be one of"),
    ("orders_table", {"orders_table": f"raw.order_lines{PAYLOAD}"},
     "var orders_table must be <schema>.<table> or <table>"),
    ("feature name", {"segmentation_features": [{"name": f"orders{PAYLOAD}"}]},
     "var segmentation_features: unknown feature"),
    ("feature transform", {"segmentation_features": [{"name": "orders", "transform": f"log1p{PAYLOAD}"}]},
     "has unknown transform"),
    ("clip quantile", {"segmentation_clip_quantile": f"0.99{PAYLOAD}"},
     "var segmentation_clip_quantile must be in (0.5, 1]"),
    ("sample size", {"segmentation_sample_size": f"100{PAYLOAD}"},
     "var segmentation_sample_size must be a whole number >= 1"),
    ("segment count", {"segment_count": f"3{PAYLOAD}"}, "segment_count must be a whole number"),
    ("currency", {"currency": f"GBP{PAYLOAD}"}, "var currency must be a currency code"),
    ("compare all memberships", {"membership_changes_compare_all": f"true{PAYLOAD}"},
     "var membership_changes_compare_all must be true or false"),
]


@pytest.mark.parametrize(("name", "injected", "message"), INJECTIONS, ids=[case[0] for case in INJECTIONS])
def test_an_injected_var_fails_cleanly_without_side_effects(small_orders, tmp_path, name, injected, message):
    orders_vars = {"orders_format": "canonical", "orders_path": str(small_orders), **injected}
    run = run_dbt(tmp_path, "build", vars=orders_vars, check=False)
    assert run.returncode != 0, name
    assert message in run.output, run.output[-3000:]
    assert "pwned" not in _tables(run.db)


def test_a_path_with_a_quote_is_read_as_a_path(small_orders, tmp_path):
    """Quoting, not refusing: a real file whose name holds a quote builds."""
    odd = tmp_path / "o'rders; --.parquet"
    shutil.copy(small_orders, odd)
    run = run_dbt(tmp_path / "build", "build", vars={"orders_format": "canonical", "orders_path": str(odd)})
    assert run.query("select count(*) from dim_customers") == [(300,)]
    assert "pwned" not in _tables(run.db)
