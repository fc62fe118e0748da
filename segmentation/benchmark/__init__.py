"""The benchmarks (`make bench`): the scale benchmark (scale, its report scale_report) and the
daily-build benchmark (daily, its section daily_report), writing docs/benchmarks.md. What they
measure is data in results, which both the benchmarks and their reports import."""
