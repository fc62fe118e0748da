"""Every relative link in README.md and docs/*.md points to a file that exists, and every
#anchor to a heading of that file (GitHub's heading ids). No dbt, no network: a second or so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(path: Path) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(path: Path) -> set[str]:
    """GitHub's ids for the page's headings: lower case, punctuation dropped, spaces to
    hyphens, a repeated id numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    ids = set()
    for line in prose_lines(path):
        match = HEADING.match(line)
        if not match:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2))  # a link's text only
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        ids.add(slug if count == 0 else f"{slug}-{count}")
    return ids


def links(path: Path) -> list[str]:
    found = []
    for line in prose_lines(path):
        found += LINK.findall(INLINE_CODE.sub("", line))
    return found


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        file_part, _, anchor = target.partition("#")
        file = (page.parent / file_part).resolve() if file_part else page
        if not file.exists():
            broken.append(f"{target}: no file {file_part}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def test_the_checker_sees_links_and_headings(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title\n\n## Two fit paths: Python or SQL (`fit_sql/`)\n\n## A title\n\n"
                    "[here](#two-fit-paths-python-or-sql-fit_sql) [again](#a-title-1) `[no](code.md)`\n"
                    "```\n[not a link](fenced.md)\n```\n![img](pic.png)\n", encoding="utf-8")
    assert links(page) == ["#two-fit-paths-python-or-sql-fit_sql", "#a-title-1", "pic.png"]
    assert anchors(page) == {"a-title", "two-fit-paths-python-or-sql-fit_sql", "a-title-1"}
