"""What the benchmarks measure, as data: the stages a build's time is split into, each size's
results (the scale benchmark's SizeResult, the daily-build benchmark's DailyResult and its
BuildResult), the daily builds and the queries their agreement is checked with.

The benchmarks (scale, daily) fill these in and their reports (scale_report, daily_report) read
them: both import this module, so a report never imports the benchmark it reports on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The stages a build's time is reported in (scale.stage_times), in the reports' order.
STAGES = ("load", "features", "sample and scaling", "sweep", "fit", "scoring", "marts",
          "publishing", "seeds", "tests", "hooks")


@dataclass
class SizeResult:
    """Everything measured at one size."""

    customers: int
    order_lines: int = 0
    generate_seconds: float = 0.0
    dbt_wall_seconds: float = 0.0
    dbt_startup_seconds: float = 0.0
    pipeline_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dbt_peak_rss_mib: float = 0.0
    bare_aggregation_seconds: float = 0.0
    chosen_k: int = 0
    sample_size: int = 0
    ari: float = float("nan")
    inertia_model_space: float = float("nan")
    inertia_full_fit_model_space: float = float("nan")
    notebook: dict | None = None
    slowest_nodes: list = field(default_factory=list)  # [node name, seconds], slowest first
    load_average: list = field(default_factory=list)  # the machine's 1-minute load before and after the build


BUILDS = ("scratch", "daily score", "daily fit")
DAILY_VARS = {"daily score": {"segmentation_mode": "score"}, "daily fit": {}}


@dataclass
class BuildResult:
    """One timed `dbt build`."""

    dbt_wall_seconds: float
    pipeline_seconds: float
    stage_seconds: dict[str, float]
    peak_rss_mib: float
    files_read: int  # files first read by this build (int_input_files)
    lines_read: int  # the lines of those files
    slowest_nodes: list  # [node name, seconds], slowest first
    load_average: list  # the machine's 1-minute load before and after the build
    waited_on: list = field(default_factory=list)  # [node name, seconds]: the critical path, first to last

    @property
    def startup_seconds(self) -> float:
        return self.dbt_wall_seconds - self.pipeline_seconds


@dataclass
class DailyResult:
    """Everything measured at one size: the builds by name (BUILDS) and how their results agree."""

    customers: int
    order_lines: int = 0
    load_files: list[str] = field(default_factory=list)  # names, in the order read: the history, the day
    day_lines: int = 0
    builds: dict[str, BuildResult] = field(default_factory=dict)
    same_files: bool = False  # every build's registry holds the same files (name, size, time)
    # per daily build, per comparison with the scratch build: rows found in only one of the two
    differences: dict[str, dict[str, int]] = field(default_factory=dict)
    notebook_seconds: float | None = None
    notebook_source: str = ""

    @classmethod
    def from_dict(cls, saved: dict) -> DailyResult:
        builds = {name: BuildResult(**build) for name, build in saved["builds"].items()}
        return cls(**{**saved, "builds": builds})

    @property
    def agrees(self) -> bool:
        return self.same_files and not any(n for found in self.differences.values() for n in found.values())


# What a daily build must give exactly as the scratch build does, as queries on an attached
# warehouse `w`: the features, the rejected lines (by file name, line and reason), and the lines
# and valid lines of each file (so the valid lines agree too without comparing every one).
AGREEMENT_QUERIES = {
    "int_customers_featurized": "select * from {w}.int_customers_featurized",
    "rejected lines": "select parse_filename(source_file), source_line_number, rejection_reason "
                      "from {w}.int_order_lines_validated where not is_valid",
    "lines per file": "select parse_filename(source_file), count(*), count(*) filter (where is_valid) "
                      "from {w}.int_order_lines_validated group by all",
}
