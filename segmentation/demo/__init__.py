"""The demo order lines with planted segments (data: `make demo-data`, the tests, the benchmarks)."""
