"""The marts' old names (before the dim_/fct_ rule) are kept in two places that must agree: the
views in models/old_names/ (the warehouse) and OLD_NAMES of the publish step (the published file)."""

import ast
import re

from conftest import ROOT

OLD_NAMES_FOLDER = ROOT / "models" / "old_names"
PUBLISH_MODEL = ROOT / "models" / "publish" / "publish_marts.py"


def _views() -> dict[str, str]:
    """{old name: the mart its view reads} of models/old_names/."""
    views = {}
    for path in sorted(OLD_NAMES_FOLDER.glob("*.sql")):
        refs = re.findall(r"ref\('([a-z_]+)'\)", path.read_text())
        assert len(refs) == 1, f"{path.name}: reads {refs}, not one mart"
        views[path.stem] = refs[0]
    return views


def _published() -> dict[str, str]:
    for node in ast.parse(PUBLISH_MODEL.read_text()).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["OLD_NAMES"]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{PUBLISH_MODEL.name} defines no OLD_NAMES")


def test_the_published_old_names_are_the_warehouse_ones():
    assert _views() and _published() == _views()


def test_an_old_name_is_its_mart_without_the_prefix():
    for old, mart in _views().items():
        assert mart.startswith(("dim_", "fct_")) and mart.split("_", 1)[1] == old
        assert (ROOT / "models" / "marts" / f"{mart}.sql").exists()
