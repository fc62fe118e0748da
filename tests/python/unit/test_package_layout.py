"""The package's layout holds: the library the dbt models and the DuckDB plugin import
(`segmentation.<module>`) imports none of the command-line tools (segmentation.cli), the demo
data generator (segmentation.demo) or the benchmarks (segmentation.benchmark); no module imports
one that imports it back; and the tests sit in unit/ (no dbt run) or dbt/ (the tests that run it)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import ROOT

PACKAGE = ROOT / "segmentation"
TOOLS = ("segmentation.cli", "segmentation.demo", "segmentation.benchmark")
# What a test that runs dbt uses (conftest.py): the runners and the fixtures that build.
RUNS_DBT = {"run_dbt", "run_dbt_spark", "dbt_command", "undocumented_nodes", "DBT",
            "demo_build", "demo_runs", "online_retail_build"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_tool(module: str) -> bool:
    return any(module == tool or module.startswith(tool + ".") for tool in TOOLS)


LIBRARY = sorted(m for m in MODULES if not _is_tool(m))


def imported(path: Path, module: str) -> set[str]:
    """The package's modules that `path` imports anywhere (inside functions too), with the
    packages an import loads on the way (`segmentation.cli.build` loads `segmentation.cli`)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per dot after the first
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [node.module])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            parts = name.split(".")
            found |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)} & MODULES.keys()
    found.discard(module)
    return found


GRAPH = {module: imported(path, module) for module, path in MODULES.items()}


def _reachable(module: str) -> dict[str, str]:
    """Every module `module` imports, directly or not, with the module that imports it."""
    seen, todo = {}, [module]
    while todo:
        current = todo.pop()
        for target in sorted(GRAPH[current]):
            if target not in seen and target != module:
                seen[target] = current
                todo.append(target)
    return seen


def test_the_package_has_a_library_and_the_three_tool_packages():
    assert {"segmentation.kmeans", "segmentation.tables", "segmentation.duckdb_plugin"} <= set(LIBRARY)
    assert {m for m in MODULES if _is_tool(m)} >= {
        "segmentation.cli.build", "segmentation.demo.data", "segmentation.benchmark.scale",
        "segmentation.benchmark.daily", "segmentation.benchmark.scale_report",
        "segmentation.benchmark.daily_report"}


def test_the_library_imports_no_tool():
    """Not even inside a function: a tool module reached from the library, with who imports it."""
    wrong = {module: {tool: via for tool, via in _reachable(module).items() if _is_tool(tool)}
             for module in LIBRARY}
    assert {module: tools for module, tools in wrong.items() if tools} == {}


def test_no_module_imports_one_that_imports_it_back():
    """No cycle in the package, imports inside functions included (the benchmarks import their
    reports, the reports import segmentation.benchmark.results, not the benchmarks)."""
    cycles = sorted(f"{module} -> {target} -> ... -> {module}" for module in MODULES
                    for target in GRAPH[module] if module in _reachable(target))
    assert cycles == []


def test_importing_the_library_loads_no_tool():
    """The library's modules imported one after the other in a fresh interpreter (as dbt's Python
    models and the DuckDB plugin import them): the package's modules each import loads, none a tool."""
    script = ("import importlib, json, sys\n"
              "loaded = {}\n"
              "for module in sys.argv[1:]:\n"
              "    before = set(sys.modules)\n"
              "    importlib.import_module(module)\n"
              "    new = set(sys.modules) - before\n"
              "    loaded[module] = sorted(m for m in new if m.startswith('segmentation'))\n"
              "print(json.dumps(loaded))\n")
    proc = subprocess.run([sys.executable, "-c", script, *LIBRARY], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = json.loads(proc.stdout.splitlines()[-1])
    assert loaded.keys() == set(LIBRARY)
    assert {module: [m for m in found if _is_tool(m)] for module, found in loaded.items()
            if any(_is_tool(m) for m in found)} == {}


def test_the_dbt_models_and_the_plugin_use_the_library():
    """What dbt imports (the Python models, profiles.yml's DuckDB plugin) is the library."""
    used = {}
    for model in sorted((ROOT / "models").rglob("*.py")):
        used[str(model.relative_to(ROOT))] = imported(model, "models")
    profiles = yaml.safe_load((ROOT / "profiles.yml").read_text())
    plugins = {plugin["module"] for target in profiles["segmentation"]["outputs"].values()
               for plugin in target.get("plugins", [])}
    used["profiles.yml"] = plugins
    assert plugins == {"segmentation.duckdb_plugin"} and all(used.values())
    assert {where: sorted(m for m in modules if m not in LIBRARY) for where, modules in used.items()
            if any(m not in LIBRARY for m in modules)} == {}


def test_every_test_file_is_a_unit_test_or_a_dbt_test():
    """tests/python/unit: the package's tests, no dbt run; tests/python/dbt: the ones that run it."""
    tests = ROOT / "tests" / "python"
    elsewhere = [str(path.relative_to(tests)) for path in tests.rglob("test_*.py")
                 if path.parent not in (tests / "unit", tests / "dbt")]
    assert elsewhere == [], "move them to unit/ (no dbt run) or dbt/ (they run dbt)"
    running_dbt = {}
    for path in sorted((tests / "unit").glob("test_*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.ImportFrom):
                names |= {alias.name for alias in node.names}
        if names & RUNS_DBT:
            running_dbt[path.name] = sorted(names & RUNS_DBT)
    assert running_dbt == {}, "tests that run dbt belong in tests/python/dbt"
