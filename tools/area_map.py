"""The README's "Where a change goes" table, written from the list of areas (``support/areas/__init__.py``).

Each row is one area: its feature, tag, step file, support module and self-test, a dash where the area has
no such part; then the shared vocabulary every feature may use. The table sits in README.md between two
marker comments; nothing else in the README is touched.

    .venv/bin/python -m tools.area_map           # rewrites the table in README.md
    .venv/bin/python -m tools.area_map --check   # exit 1 if the table in README.md is not the current one
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from support.areas import AREAS, ROOT, VOCABULARY

README = ROOT / "README.md"
BEGIN = "<!-- area map: written by `python -m tools.area_map` from support/areas/__init__.py; do not edit -->"
END = "<!-- end of area map -->"


def cell(path: str | None) -> str:
    return f"`{path}`" if path else "—"


def render_table(root: Path = ROOT) -> str:
    """The table as Markdown, markers included, ending with a newline."""
    lines = [
        BEGIN,
        "| area | feature | tag | steps | support | self-test |",
        "|------|---------|-----|-------|---------|-----------|",
    ]
    for area in AREAS:
        parts = area.parts(root)
        lines.append(
            f"| {area.title} | {cell(parts['feature'])} | {cell(parts['tag'])} | {cell(parts['steps'])} "
            f"| {cell(parts['support'])} | {cell(parts['self-test'])} |"
        )
    for words in VOCABULARY:
        support = ", ".join(cell(path) for path in words.support)
        tests = ", ".join(cell(path) for path in words.self_tests)
        step_file = cell(words.step_file)
        lines.append(f"| {words.title} (every feature) | — | — | {step_file} | {support} | {tests} |")
    lines.append(END)
    return "\n".join(lines) + "\n"


def replaced(readme: str, table: str) -> str:
    """``readme`` with the text between the markers (markers included) replaced by ``table``.

    Raises ValueError when the markers are missing or out of order."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md has no area map between the markers {BEGIN!r} and {END!r}")
    return readme[:start] + table + readme[end + len(END) :].removeprefix("\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.area_map",
        description="Write the README's 'Where a change goes' table, or check that it is current.",
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the table is stale")
    args = parser.parse_args(argv)
    readme = README.read_text(encoding="utf-8")
    try:
        wanted = replaced(readme, render_table())
    except ValueError as missing:
        print(f"area map: {missing}", file=sys.stderr)
        return 1
    if args.check:
        if wanted != readme:
            print("README.md's area map is out of date: run python -m tools.area_map", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted, encoding="utf-8")
    print("wrote the area map in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
