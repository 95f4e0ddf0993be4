"""docs/context.md: the map of behave's ``context`` (support/harness/context_map.py) for people to read.

    .venv/bin/python -m tools.context_doc           # writes docs/context.md
    .venv/bin/python -m tools.context_doc --check   # exit 1 if docs/context.md is stale

Each part of the world is introduced by its own docstring (support/harness/world_parts.py), so the page
says what the code says.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

from support.harness.context_map import ATTRIBUTES, RULES, Attribute
from support.harness.world import ScenarioWorld

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "context.md"
REGENERATE = ".venv/bin/python -m tools.context_doc"


def part_classes() -> dict[str, type]:
    """Each group of the map ("world", "world.crowd", …) and the class whose fields it declares."""
    hints = typing.get_type_hints(ScenarioWorld)
    parts = {
        f"world.{name}": kind
        for name, kind in hints.items()
        if inspect.isclass(kind) and kind.__module__ == "support.harness.world_parts"
    }
    return {"world": ScenarioWorld, **parts}


def render_markdown() -> str:
    """The whole page: the rules, then a table of attributes for context itself and for each group."""
    lines = [
        "# What lives on behave's `context`",
        "",
        f"Written by `{REGENERATE}` from `support/harness/context_map.py`; do not edit it by hand.",
        'A failing scenario\'s report carries these values in words, as its "Context" attachment.',
        "",
        "## Rules",
        "",
        *[f"- {rule}" for rule in RULES],
    ]
    classes = part_classes()
    groups = list(dict.fromkeys(item.group for item in ATTRIBUTES))
    for group in groups:
        lines += ["", f"## `{'context' if group == 'context' else 'context.' + group}`", ""]
        if group in classes:
            lines += [_paragraph(classes[group]), ""]
        lines += ["| Attribute | What it is | Set by | Read by |", "|---|---|---|---|"]
        lines += [_row(item) for item in ATTRIBUTES if item.group == group]
    return "\n".join(lines) + "\n"


def _paragraph(kind: type) -> str:
    doc = inspect.getdoc(kind) or ""
    return " ".join(doc.split()) + f" (`{kind.__module__.replace('.', '/')}.py`, `{kind.__name__}`)"


def _row(item: Attribute) -> str:
    cells = [f"`context.{item.path}`", item.what, item.set_by, item.read_by]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def out_of_date(path: Path = OUTPUT) -> str | None:
    """The one-line complaint when the file at ``path`` is not what the map renders to, else None."""
    if path.is_file() and path.read_text(encoding="utf-8") == render_markdown():
        return None
    return f"{path} is out of date: run {REGENERATE}"


def main(argv: Sequence[str] | None = None) -> int:
    """Write docs/context.md (exit 0), or with ``--check`` only say whether it is current (exit 0 or 1);
    anything else on the command line prints the usage (exit 2)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments not in ([], ["--check"]):
        print(__doc__, file=sys.stderr)
        return 2
    if arguments:
        stale = out_of_date()
        print(stale or f"{OUTPUT} is current", file=sys.stderr if stale else sys.stdout)
        return 1 if stale else 0
    OUTPUT.write_text(render_markdown(), encoding="utf-8")
    print(f"wrote {OUTPUT} ({len(ATTRIBUTES)} attributes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
