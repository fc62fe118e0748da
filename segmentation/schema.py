"""The canonical order line (docs/input_layout.md) as an Arrow schema, for files the package writes."""

import pyarrow as pa

CANONICAL_ORDER_LINE = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("ordered_at", pa.timestamp("us")),
        ("product_id", pa.string()),
        ("quantity", pa.int32()),
        ("unit_price", pa.decimal128(12, 2)),
        ("returned_quantity", pa.int32()),
    ]
)
