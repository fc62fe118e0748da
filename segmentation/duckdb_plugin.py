"""The dbt-duckdb plugin of the project (profiles.yml, target duckdb): SQL functions that staging
calls on DuckDB.

`segmentation_utf8_copy(file, encoding)`: the path of a UTF-8 copy of an order file in an
encoding DuckDB does not read itself (segmentation.transcode), or `!` and a one-line message
when the file does not decode; the macro `duckdb__orders_read_path` raises that message.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb.sqltypes import VARCHAR

from segmentation.transcode import Copies, TranscodeError


def copies_root(database: str | None) -> Path:
    """Beside the warehouse file, or in the temp folder for an in-memory warehouse; absolute, as
    the staging view names its copies: a relative warehouse path (the profile's default,
    `segmentation.duckdb`) is resolved from the directory dbt runs in, so that the view still
    finds them when the warehouse is opened from another directory; `~` is the home folder, as
    DuckDB reads it in the warehouse's path."""
    if not database or database == ":memory:" or database.startswith(("md:", "motherduck:")):
        return Path(tempfile.gettempdir()) / "segmentation.inputs"
    return Path(os.path.abspath(os.path.expanduser(database + ".inputs")))


class Plugin(BasePlugin):
    def initialize(self, plugin_config):
        self.copies = Copies(copies_root(getattr(self.creds, "path", None)))

    def configure_connection(self, conn):
        def utf8_copy(file: str, encoding: str) -> str:
            try:
                return self.copies.copy(file, encoding)
            except (TranscodeError, OSError) as error:
                return "!" + str(error)

        conn.create_function("segmentation_utf8_copy", utf8_copy, [VARCHAR, VARCHAR], VARCHAR,
                             side_effects=True)
