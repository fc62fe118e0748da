"""UTF-8 copies of order files in encodings DuckDB cannot read itself (Windows-1252 above all).

DuckDB 2.0 reads UTF-8, UTF-16 and Latin-1 CSV files; every other encoding needs its `encodings`
extension, which cannot be installed here (PyPI's build of it is for DuckDB 1.4). So staging
reads a file in another encoding through a copy transcoded to UTF-8 by Python's codecs: the same
lines in the same order, so line numbers and values are the file's own. A byte the encoding does
not define (0x81 in Windows-1252) stops the build with its line, never a replacement character.

The copies live beside the warehouse (`<database>.inputs/`) because the staging view reads them
until the next build replaces them; each build's first copy removes the previous build's.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

CHUNK = 1 << 20


class TranscodeError(ValueError):
    """The file does not decode in the encoding it was said to have."""


def python_codec(encoding: str) -> str:
    """Python's name for `encoding`, or TranscodeError naming it when Python has no such codec."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise TranscodeError(f"unknown encoding '{encoding}' (var orders_encoding)") from None


def to_utf8(source: Path, encoding: str, target: Path) -> None:
    """Write `source`, decoded as `encoding`, to `target` as UTF-8, in chunks (any file size).
    A byte sequence the encoding does not define raises TranscodeError naming the line."""
    decoder = codecs.getincrementaldecoder(python_codec(encoding))(errors="strict")
    lines_before = 0
    partial = target.with_name(target.name + ".partial")
    with open(source, "rb") as raw, open(partial, "w", encoding="utf-8", newline="") as out:
        while True:
            chunk = raw.read(CHUNK)
            final = not chunk
            try:
                text = decoder.decode(chunk, final=final)
            except UnicodeDecodeError as error:
                line = lines_before + chunk[: error.start].count(b"\n") + 1
                bad = chunk[error.start:error.end].hex(" ")
                partial.unlink(missing_ok=True)
                raise TranscodeError(
                    f"orders file '{source}' is not {encoding} text: line {line} of the file (the "
                    f"header is line 1) holds the byte(s) {bad}, which {encoding} does not define "
                    f"(set var orders_encoding to the file's encoding)") from None
            out.write(text)
            lines_before += chunk.count(b"\n")
            if final:
                break
    os.replace(partial, target)


class Copies:
    """The UTF-8 copies of one build (one dbt process): made once per file, in a folder of their
    own under `root`; the first copy of a build removes the folders of earlier builds (their
    staging views are replaced in the same build)."""

    def __init__(self, root: Path):
        self.root = root
        self.made: dict[tuple, str] = {}
        self.folder: Path | None = None

    def copy(self, source: str, encoding: str) -> str:
        """The path of `source`'s UTF-8 copy (made again when the file changed)."""
        stat = os.stat(source)
        key = (os.path.abspath(source), encoding, stat.st_size, stat.st_mtime_ns)
        if key not in self.made:
            if self.folder is None:
                self.root.mkdir(parents=True, exist_ok=True)
                for earlier in self.root.iterdir():
                    shutil.rmtree(earlier, ignore_errors=True) if earlier.is_dir() else earlier.unlink()
                self.folder = Path(tempfile.mkdtemp(prefix="build-", dir=self.root))
            target = self.folder / f"{hashlib.sha256(repr(key).encode()).hexdigest()[:16]}.csv"
            to_utf8(Path(source), encoding, target)
            self.made[key] = str(target)
        return self.made[key]
