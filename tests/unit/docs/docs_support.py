"""Reading the docs' Markdown: sections, table rows, values in backticks."""

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
CODE = re.compile(r"`([^`]*)`")


def section(path: Path, heading: str) -> str:
    """The text of ``heading`` up to the next heading of its level or above."""
    text = path.read_text(encoding="utf-8")
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n")
    ends = [m.start() for m in re.finditer(rf"\n#{{1,{len(level)}}} ", text[start + 1 :])]
    return text[start : start + 1 + ends[0]] if ends else text[start:]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of every Markdown table of ``text`` (``\\|`` kept inside a cell)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows.append(cells)
    return [row for row in rows if not (row and row[0] in ("key", "option"))]


def code_value(cell: str) -> Any:
    """The first value in backticks of a cell, as YAML reads it."""
    match = CODE.search(cell)
    assert match is not None, f"no value in backticks: {cell!r}"
    return yaml.safe_load(match.group(1))
