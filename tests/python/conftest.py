"""Shared fixtures of tests/python/unit (the package, no dbt run) and tests/python/dbt (the tests
that run dbt): run dbt as a user would, each build in its own database and target dir."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from segmentation.demo.data import extend, generate

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
ONLINE_RETAIL = ROOT.parent / "shared" / "data" / "online_retail_2010_2011.parquet"


# `make test` spreads the DuckDB suite over two pytest-xdist workers (`--dist loadgroup`). Each
# worker builds the session fixtures it needs, so a test file stays on one worker (its module
# fixtures are built once), and the files that read the same session build share a worker.
SHARED_BUILDS = {"demo_build": "demo builds", "demo_runs": "demo builds",
                 "online_retail_build": "online retail build"}
# Files whose module fixtures only generate a little data: their tests (each its own builds) are
# spread over the workers one by one, so the longest file does not set the suite's length.
SPREAD_MODULES = {"test_daily_builds", "test_input_files", "test_input_safety", "test_inputs"}


# tryfirst: pytest-xdist reads the marks in its own pytest_collection_modifyitems (it appends
# "@<group>" to each node id, which is what loadgroup schedules by); run after it, they are ignored.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    groups: dict[str, str] = {}
    for item in items:
        shared = [SHARED_BUILDS[name] for name in item.fixturenames if name in SHARED_BUILDS]
        if shared:
            groups.setdefault(item.module.__name__, shared[0])
    for item in items:
        module = item.module.__name__
        if module in SPREAD_MODULES and module not in groups:
            continue
        item.add_marker(pytest.mark.xdist_group(groups.get(module, module)))


@dataclass
class DbtRun:
    returncode: int
    output: str
    db: Path
    input: Path | None = None

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()


def dbt_command(workdir: Path, *args: str, vars: dict | None = None,
                project: Path = ROOT) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of `dbt <args>` on `project` (the checkout, or a
    project_copy) with its database, published marts and artefacts under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [str(DBT), *args, "--profiles-dir", str(project), "--project-dir", str(project),
           "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
           "--no-use-colors"]
    if vars:
        cmd += ["--vars", json.dumps(vars)]
    env = {**os.environ, "SEGMENTATION_DB_PATH": str(workdir / "segmentation.duckdb"),
           "SEGMENTATION_PUBLISH_DIR": str(workdir / "published")}
    return cmd, env


# The dbt project's own files: what a copy of the project needs to build.
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "analyses")


def project_copy(tmp_path: Path) -> Path:
    """The dbt project's own files copied to `tmp_path`/project (tests/ without the pytest suite),
    for a test that edits the project the way a user would."""
    project = tmp_path / "project"
    project.mkdir()
    for part in PROJECT_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, project / part, ignore=shutil.ignore_patterns("python", "__pycache__"))
        else:
            shutil.copy2(source, project / part)
    return project


def python_path(*dirs: Path) -> dict[str, str]:
    """PYTHONPATH with `dirs` (a sitecustomize.py, say) first, then the one inherited: a dbt run
    started with it still imports the package from the tree the tests run on."""
    return {"PYTHONPATH": os.pathsep.join([*map(str, dirs), *filter(None, [os.environ.get("PYTHONPATH")])])}


# dbt parses the whole project again whenever the command line's --vars or the profile's
# connection values (the DuckDB path among them) differ from the parse saved in the target
# directory: 181 of the suite's 252 dbt commands did (docs/testing.md "How long it takes"). So
# run_dbt runs dbt in the work directory with the database and publish folder named relative to
# it (the same text for every test), and before each command puts in the target directory the
# parse an earlier command with the same project, target, vars and environment saved, when the
# directory's own parse is for other settings. dbt checks the parse it finds itself (vars,
# profile, env vars, every file's checksum) and parses again when anything differs: a wrong
# seed costs time, never a wrong build. A command whose vars name no input (orders_path or
# orders_table) runs in the project, as before: the default orders_path is relative to it.
_parse_cache: Path | None = None
PARSE_FILE = "partial_parse.msgpack"
PARSE_KEY_FILE = "partial_parse.key"


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_cache(tmp_path_factory, worker_id) -> None:
    """The folder of saved parses: one for all xdist workers of this run."""
    global _parse_cache
    base = tmp_path_factory.getbasetemp()
    _parse_cache = (base.parent if worker_id != "master" else base) / "dbt-parse-cache"
    _parse_cache.mkdir(exist_ok=True)


def _parse_key(project: Path, args: tuple[str, ...], vars: dict | None, env: dict, overrides: dict) -> str:
    """What a command's parse depends on: the project, target and vars, the project's own
    environment variables and whatever else the test set in the environment."""
    target = args[args.index("--target") + 1] if "--target" in args else ""
    settings = {name: value for name, value in env.items() if name.startswith(("SEGMENTATION_", "DBT_"))}
    text = json.dumps([str(project), target, vars or {}, settings, overrides], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _copy_atomically(source: Path, destination: Path) -> None:
    partial = destination.with_name(f"{destination.name}.{os.getpid()}.tmp")
    shutil.copyfile(source, partial)
    partial.replace(destination)


def _seed_parse(target: Path, key: str) -> int | None:
    """Put the saved parse for `key` in `target` unless its own parse is for `key`; returns the
    modification time of the parse dbt will find (None: none)."""
    mine, mine_key = target / PARSE_FILE, target / PARSE_KEY_FILE
    saved = _parse_cache / f"{key}.msgpack" if _parse_cache else None
    own = mine.exists() and mine_key.exists() and mine_key.read_text() == key
    if not own and saved is not None and saved.exists():
        target.mkdir(parents=True, exist_ok=True)
        _copy_atomically(saved, mine)
        mine_key.write_text(key)
    return mine.stat().st_mtime_ns if mine.exists() else None


def _save_parse(target: Path, key: str, before: int | None) -> None:
    """After a command: when dbt wrote a new parse, it is the one for `key`; keep it for the next
    command in another directory (the first with these settings wins)."""
    mine = target / PARSE_FILE
    if not mine.exists() or mine.stat().st_mtime_ns == before:
        return
    (target / PARSE_KEY_FILE).write_text(key)
    saved = _parse_cache / f"{key}.msgpack" if _parse_cache else None
    if saved is not None and not saved.exists():
        _copy_atomically(mine, saved)


def run_dbt(workdir: Path, *args: str, vars: dict | None = None, check: bool = True,
            env: dict | None = None, project: Path = ROOT) -> DbtRun:
    """`dbt <args>` on `project` (the checkout, or a project_copy), with its database and
    artefacts under `workdir` (dbt runs there when the vars name the input: see _parse_cache)."""
    cmd, base_env = dbt_command(workdir, *args, vars=vars, project=project)
    cwd = project
    if vars and ("orders_path" in vars or "orders_table" in vars):
        cwd = workdir
        base_env |= {"SEGMENTATION_DB_PATH": "segmentation.duckdb", "SEGMENTATION_PUBLISH_DIR": "published"}
    overrides = env or {}
    env = {**base_env, **overrides}
    key = _parse_key(project, args, vars, env, overrides)
    before = _seed_parse(workdir / "target", key)
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    _save_parse(workdir / "target", key, before)
    db = Path(env["SEGMENTATION_DB_PATH"])
    run = DbtRun(proc.returncode, proc.stdout + proc.stderr, db if db.is_absolute() else cwd / db)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{run.output[-6000:]}")
    return run


FEATURIZED = "model.segmentation.int_customers_featurized"
# keeps the model features each customer was scored from (as many as var segmentation_features names)
SCORED = "model.segmentation.int_customers_scored"
DIM_CUSTOMERS = "model.segmentation.dim_customers"


def undocumented_nodes(workdir: Path, vars: dict) -> list[str]:
    """`dbt docs generate` in a built `workdir`: every built relation and its columns (from the
    catalog), every macro of the project and every exposure without a description."""
    run_dbt(workdir, "docs", "generate", vars=vars)
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    catalog = json.loads((workdir / "target" / "catalog.json").read_text())
    undocumented = []
    for unique_id, node in {**catalog["nodes"], **catalog["sources"]}.items():
        documented = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
        if not documented["description"].strip():
            undocumented.append(unique_id)
        described = {name.lower() for name, col in documented["columns"].items()
                     if col["description"].strip()}
        if unique_id in (FEATURIZED, SCORED):
            # a customer feature is described once, on its declaration (docs/add_a_feature.md)
            described |= {name.lower() for name, col in manifest["nodes"][DIM_CUSTOMERS]["columns"].items()
                          if "feature" in col["meta"] and col["description"].strip()}
        if documented.get("original_file_path", "").startswith("models/old_names/"):
            # an old mart name is `select *` of the renamed mart: its columns are the mart's
            mart = manifest["nodes"][documented["depends_on"]["nodes"][0]]
            described |= {name.lower() for name, col in mart["columns"].items() if col["description"].strip()}
        undocumented += [f"{unique_id}.{c}" for c in node["columns"] if c.lower() not in described]
    for unique_id, macro in manifest["macros"].items():
        if macro["package_name"] == "segmentation" and not macro["description"].strip():
            undocumented.append(unique_id)
    for unique_id, exposure in manifest["exposures"].items():
        if not exposure["description"].strip():
            undocumented.append(unique_id)
    return undocumented


@dataclass
class SparkRun:
    """A dbt run on the `spark` target. Its tables are Parquet files in the run's own warehouse
    directory, so a test reads them with DuckDB, with no second Spark session (the Derby
    metastore admits one at a time)."""

    returncode: int
    output: str
    spark_dir: Path
    target_dir: Path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect() as con:
            for table in sorted((self.spark_dir / "warehouse").glob("*.db/*")):
                if any(table.glob("*.parquet")):
                    schema = table.parent.name.removesuffix(".db")
                    files = str(table / "*.parquet")
                    view = f'"{schema}"."{table.name}"'
                    con.execute(f'create schema if not exists "{schema}"')
                    con.execute(f"create view {view} as select * from read_parquet('{files}')")
                    if schema == SPARK_SCHEMA:
                        con.execute(f'create view main."{table.name}" as select * from {view}')
            return con.execute(sql).fetchall()

    def results(self) -> dict[str, str]:
        """Each node this run executed, with its status (from run_results.json)."""
        found = json.loads((self.target_dir / "run_results.json").read_text())
        return {result["unique_id"]: result["status"] for result in found["results"]}


SPARK_SCHEMA = "segmentation"


def run_dbt_spark(workdir: Path, *args: str, vars: dict | None = None, check: bool = True,
                  spark_dir: Path | None = None) -> SparkRun:
    """`dbt <args> --target spark`: a local Spark session whose warehouse, metastore and logs
    all live under `spark_dir` (default `workdir`/spark; profiles.yml, target spark)."""
    cmd, env = dbt_command(workdir, *args, "--target", "spark", vars=vars)
    spark_dir = spark_dir or workdir / "spark"
    env |= {"SEGMENTATION_SPARK_DIR": str(spark_dir), "SEGMENTATION_SPARK_SCHEMA": SPARK_SCHEMA,
            "SPARK_LOCAL_IP": "127.0.0.1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    # dbt's own lines; PySpark also logs each failed query as a JSON line with the JVM's stack
    stderr = "\n".join(line for line in proc.stderr.splitlines() if not line.startswith('{"ts"'))
    run = SparkRun(proc.returncode, proc.stdout + stderr, spark_dir, workdir / "target")
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} --target spark failed:\n{run.output[-6000:]}")
    return run


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The default demo: 25,000 customers, seed 42, as `make build` generates it."""
    out, _ = generate(25_000, 42, tmp_path_factory.mktemp("demo") / "order_lines.parquet")
    return out


@pytest.fixture(scope="session")
def demo_next_month(demo_data, tmp_path_factory) -> Path:
    """The default demo a month later: new orders from existing customers, ~5% new customers."""
    out, _ = extend(demo_data, tmp_path_factory.mktemp("demo_next") / "order_lines.parquet", seed=43)
    return out


@pytest.fixture(scope="session")
def demo_build(demo_data, tmp_path_factory) -> DbtRun:
    return run_dbt(tmp_path_factory.mktemp("demo_build"), "build",
                   vars={"orders_format": "demo", "orders_path": str(demo_data)})


@pytest.fixture(scope="session")
def online_retail_data() -> Path:
    if not ONLINE_RETAIL.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ONLINE_RETAIL} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"{ONLINE_RETAIL} not present (a fresh clone without ../shared)")
    return ONLINE_RETAIL


@pytest.fixture(scope="session")
def online_retail_build(online_retail_data, tmp_path_factory) -> DbtRun:
    run = run_dbt(tmp_path_factory.mktemp("online_retail_build"), "build",
                  vars={"orders_format": "online_retail", "orders_path": str(online_retail_data)})
    run.input = online_retail_data
    return run


BLOCK_SKLEARN = '''
import sys
class _BlockSklearn:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("scikit-learn was imported in score mode")
sys.meta_path.insert(0, _BlockSklearn())
'''


OLD_NAMES = sorted(path.stem for path in (ROOT / "models" / "old_names").glob("*.sql"))


def as_before_the_rename(db: Path) -> None:
    """Make the old names' views tables, as a build before the marts' dim_/fct_ rule left them."""
    with duckdb.connect(str(db)) as con:
        for name in OLD_NAMES:
            con.execute(f"create table {name}__old as from {name}")
            con.execute(f"drop view {name}")
            con.execute(f"alter table {name}__old rename to {name}")


@pytest.fixture(scope="session")
def demo_runs(demo_data, demo_next_month, tmp_path_factory):
    """One warehouse, four builds: fit on the demo twice, score a month later, fit again."""
    workdir = tmp_path_factory.mktemp("runs")
    blocker = tmp_path_factory.mktemp("no_sklearn")
    (blocker / "sitecustomize.py").write_text(BLOCK_SKLEARN)
    month_one = {"orders_format": "demo", "orders_path": str(demo_data)}
    month_two = {"orders_format": "demo", "orders_path": str(demo_next_month)}
    first = run_dbt(workdir, "build", vars=month_one)
    as_before_the_rename(first.db)  # the second build upgrades a warehouse of the old names
    builds = [
        first,
        run_dbt(workdir, "build", vars=month_one),
        run_dbt(workdir, "build", vars={**month_two, "segmentation_mode": "score"},
                env=python_path(blocker)),
        run_dbt(workdir, "build", vars=month_two),
    ]
    runs = builds[-1].query("select run_id from fct_segment_model_runs order by run_at")
    run_ids = [row[0] for row in runs]
    return builds[-1].db, run_ids, blocker
