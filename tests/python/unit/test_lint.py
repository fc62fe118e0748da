"""The linters of `make lint` can fail: each dbt-score rule of dbt_score_rules/ on a tiny
hand-written manifest that breaks it once, and the SQL house style of .sqlfluff on a string.
Neither runs dbt (seconds, not the minutes `make lint` takes)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

DBT_SCORE = Path(sys.executable).with_name("dbt-score")


def model(name: str, folder: str, *, description: str = "A model.", reads: tuple[str, ...] = (),
          public: bool = False, contract: bool = False, materialized: str = "table",
          deprecation_date: str | None = None) -> dict:
    return {
        "unique_id": f"model.segmentation.{name}", "resource_type": "model", "name": name,
        "package_name": "segmentation", "original_file_path": f"models/{folder}/{name}.sql",
        "path": f"{folder}/{name}.sql", "relation_name": f'"db"."main"."{name}"',
        "description": description, "database": "db", "schema": "main", "alias": name,
        "raw_code": "select 1 as id", "language": "sql", "tags": [], "meta": {}, "columns": {},
        "access": "public" if public else "protected", "group": None, "constraints": [],
        "config": {"materialized": materialized, "contract": {"enforced": contract}},
        "depends_on": {"nodes": [f"model.segmentation.{parent}" for parent in reads], "macros": []},
        "patch_path": None, "deprecation_date": deprecation_date,
    }


def old_name(name: str, mart: str, **kwargs) -> dict:
    """A view in models/old_names/ keeping `mart`'s old name."""
    settings = {"materialized": "view", "deprecation_date": "2027-12-31T00:00:00"} | kwargs
    return model(name, "old_names", reads=(mart,), **settings)


def grain_test(model_name: str, test: str = "unique") -> dict:
    name = f"{test}_{model_name}_id"
    return {
        "unique_id": f"test.segmentation.{name}", "resource_type": "test", "name": name,
        "package_name": "segmentation", "attached_node": f"model.segmentation.{model_name}",
        "test_metadata": {"name": test, "kwargs": {"column_name": "id"}, "namespace": None},
        "tags": [], "config": {}, "depends_on": {"nodes": [f"model.segmentation.{model_name}"]},
    }


def source(name: str, description: str) -> dict:
    return {
        "unique_id": f"source.segmentation.orders.{name}", "resource_type": "source", "name": name,
        "package_name": "segmentation", "source_name": "orders", "source_description": "",
        "description": description, "original_file_path": "models/staging/_orders__sources.yml",
        "config": {}, "meta": {}, "source_meta": {}, "columns": {}, "database": "db",
        "schema": "raw", "identifier": name, "loader": "", "freshness": None, "tags": [],
        "patch_path": None,
    }


def violations(tmp_path: Path, models: list[dict], tests: list[dict], sources: list[dict]) -> dict:
    """{node name: [failing rule]} of dbt-score with the project's config on this manifest."""
    nodes = {node["unique_id"]: node for node in models + tests}
    manifest = {"metadata": {"project_name": "segmentation"}, "nodes": nodes,
                "sources": {s["unique_id"]: s for s in sources}, "exposures": {}, "macros": {},
                "child_map": {}, "parent_map": {}}
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    proc = subprocess.run([str(DBT_SCORE), "lint", "--manifest", str(path), "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True)
    report = json.loads(proc.stdout)
    failing = {uid.split(".")[-1]: sorted(rule.rsplit(".", 1)[-1]
                                           for rule, result in evaluable["results"].items()
                                           if result["result"] != "OK")
               for uid, evaluable in report["evaluables"].items()}
    failing = {name: rules for name, rules in failing.items() if rules}
    assert (proc.returncode != 0) == bool(failing), proc.stderr
    return failing


def test_a_project_keeping_its_promises_passes(tmp_path):
    models = [model("stg_lines", "staging"), model("int_totals", "intermediate", reads=("stg_lines",)),
              model("dim_things", "marts", reads=("int_totals",), public=True, contract=True),
              model("publish_marts", "publish", reads=("dim_things",)), old_name("things", "dim_things")]
    tests = [grain_test("stg_lines"), grain_test("int_totals", "unique_combination_of_columns"),
             grain_test("dim_things"), grain_test("publish_marts")]
    assert violations(tmp_path, models, tests, [source("order_lines", "The orders.")]) == {}


def test_each_rule_fails_on_its_violation(tmp_path):
    models = [
        model("stg_undocumented", "staging", description=" "),
        model("int_untested", "intermediate"),
        model("dim_protected", "marts", contract=True),
        model("dim_uncontracted", "marts", public=True),
        model("int_reads_a_mart", "segmentation", reads=("dim_protected",)),
        model("segment_things", "marts", public=True, contract=True),
        old_name("protected", "dim_protected", materialized="table"),
        old_name("uncontracted", "dim_uncontracted", deprecation_date=None),
        old_name("things", "dim_protected"),
        model("int_protected", "old_names", reads=("int_untested",), materialized="view"),
    ]
    tests = [grain_test(m["name"]) for m in models
             if m["name"] != "int_untested" and "old_names" not in m["original_file_path"]]
    assert violations(tmp_path, models, tests, [source("order_lines", "")]) == {
        "stg_undocumented": ["model_has_description"],
        "int_untested": ["model_has_grain_test"],
        "dim_protected": ["public_model_has_enforced_contract"],
        "dim_uncontracted": ["public_model_has_enforced_contract"],
        "int_reads_a_mart": ["no_model_reads_a_mart_before_it"],
        "segment_things": ["mart_is_named_dim_or_fct"],
        "protected": ["old_name_is_a_view_of_its_mart"],
        "uncontracted": ["old_name_is_a_view_of_its_mart"],
        "things": ["old_name_is_a_view_of_its_mart"],
        "int_protected": ["model_has_grain_test", "old_name_is_a_view_of_its_mart"],
        "order_lines": ["source_has_description"],
    }


@pytest.fixture(scope="module")
def sql_lint():
    """Lints a string with the project's .sqlfluff rules (the dbt templater swapped for plain
    Jinja: the rules, not the templating, are under test)."""
    from sqlfluff.core import FluffConfig, Linter

    config = FluffConfig.from_path(str(ROOT), overrides={"templater": "jinja", "dialect": "duckdb"})
    linter = Linter(config=config)
    return lambda sql: sorted({v.rule_code() for v in linter.lint_string(sql).get_violations()})


HOUSE_STYLE = """with

orders as (
    select customer_id, order_id from raw_orders where order_id is not null
),

final as (
    select
        orders.customer_id,
        count(*) as orders_placed,
        cast(sum(1) as decimal(38, 4)) as weight
    from orders
    group by 1
)

select * from final
"""


def test_the_house_style_passes_sqlfluff(sql_lint):
    assert sql_lint(HOUSE_STYLE) == []


@pytest.mark.parametrize("change, rule", [
    (("select\n        orders.customer_id", "SELECT\n        orders.customer_id"), "CP01"),
    (("decimal(38, 4)", "decimal(38,4)"), "LT01"),
    (("orders.customer_id,\n        count(*)", "orders.customer_id\n        , count(*)"), "LT04"),
    (("count(*) as orders_placed", "count(*) + " + "1" * 120 + " as orders_placed"), "LT05"),
    (("count(*) as orders_placed", "count(*) orders_placed"), "AL02"),
    (("group by 1", "group by orders.customer_id order by 1"), "AM06"),
])
def test_sqlfluff_reports_a_break_of_the_house_style(sql_lint, change, rule):
    assert rule in sql_lint(HOUSE_STYLE.replace(*change))
