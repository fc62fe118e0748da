"""The command-line tools `make build` runs: build (dbt behind the warehouse's lock), summary, report
(with report_figures); command_line is what the tools share. Not imported by the library the dbt
models and the DuckDB plugin use (segmentation.<module>)."""
