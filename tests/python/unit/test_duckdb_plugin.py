"""The dbt-duckdb plugin's folder of UTF-8 copies (segmentation/duckdb_plugin.py)."""

import tempfile
from pathlib import Path

from segmentation.duckdb_plugin import copies_root


def test_the_copies_of_a_relative_warehouse_are_named_from_where_dbt_runs(tmp_path, monkeypatch):
    """The staging view names each copy by this path: relative, it would resolve against the
    directory of whoever reads the view later, and the view would find no file there."""
    monkeypatch.chdir(tmp_path)
    assert copies_root("segmentation.duckdb") == Path.cwd() / "segmentation.duckdb.inputs"
    assert copies_root("/data/wh.duckdb") == Path("/data/wh.duckdb.inputs")
    monkeypatch.setenv("HOME", str(Path.cwd() / "home"))
    assert copies_root("~/wh.duckdb") == Path.cwd() / "home" / "wh.duckdb.inputs"


def test_an_in_memory_warehouse_keeps_its_copies_in_the_temp_folder():
    for database in (None, ":memory:", "md:shop"):
        assert copies_root(database) == Path(tempfile.gettempdir()) / "segmentation.inputs"
