"""The step catalogue: every step the features can use, grouped by area, each with an example.

The steps are loaded the way behave loads them (each file in `steps/` executed into behave's step
registry), the features are parsed with behave's parser, and every step line in the features is matched
against the registry to find where each step is really used. Nothing is run and no service is started.

    .venv/bin/python -m tools.step_catalogue           # writes docs/steps.md
    .venv/bin/python -m tools.step_catalogue --check   # exit 1 if docs/steps.md is stale or incomplete
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from behave.matchers import Matcher
from behave.parser import parse_file
from behave.runner_util import PathManager, load_step_modules
from behave.step_registry import StepRegistry, registry

from tools.catalogue_markdown import REGENERATE, render_markdown, slug

ROOT = Path(__file__).resolve().parent.parent
STEPS_DIR = ROOT / "steps"
FEATURES_DIR = ROOT / "features"
OUTPUT = ROOT / "docs" / "steps.md"

# Area titles by step file; a file not listed here gets a title made from its name ("foo_steps.py" → "Foo").
AREA_TITLES = {
    "service_steps.py": "Services",
    "client_steps.py": "The client",
    "network_steps.py": "The network",
    "messaging_steps.py": "Messages",
    "network_faults_steps.py": "Network faults",
    "secure_transport_steps.py": "Secure transport",
    "channel_access_steps.py": "Channel access",
    "sign_in_load_steps.py": "Sign-in load",
    "token_renewal_steps.py": "Token renewal",
    "token_safekeeping_steps.py": "Token safekeeping",
    "server_faults_steps.py": "Server faults",
    "structured_logging_steps.py": "Structured logging",
    "avatar_steps.py": "Avatar",
    "health_steps.py": "Health",
    "error_classification_steps.py": "Error classification",
    "backoff_steps.py": "Reconnection and backoff",
    "protocol_failures_steps.py": "Protocol failures",
    "coordination_steps.py": "Coordination",
    "configuration_steps.py": "Configuration",
}
STEP_TYPES = ("given", "when", "then", "step")
GHERKIN_KEYWORD = re.compile(r"^(Given|When|Then|And|But|\*)\s+")


@dataclass(frozen=True)
class Example:
    """One use of a step: where it is (None when it comes from the step's docstring) and the step line."""

    text: str
    feature: str | None = None
    line: int | None = None
    table_headings: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepEntry:
    area: str
    keywords: tuple[str, ...]
    pattern: str
    description: str
    function: str
    file: str
    line: int
    example: Example | None


@dataclass(frozen=True)
class Area:
    title: str
    description: str
    file: str
    steps: tuple[StepEntry, ...]

    @property
    def anchor(self) -> str:
        return slug(self.title)


@dataclass(frozen=True)
class Catalogue:
    areas: tuple[Area, ...]
    steps_dir: str
    features_dir: str
    # Step definitions behave could not compile; behave prints and skips them, the catalogue reports them.
    bad_definitions: tuple[str, ...] = ()

    def steps(self) -> list[StepEntry]:
        return [entry for area in self.areas for entry in area.steps]

    def problems(self) -> list[str]:
        """One line per step without an example, per step function without a description, and per step
        definition behave could not compile."""
        problems = [f"bad step definition (behave ignores it): {bad}" for bad in self.bad_definitions]
        undescribed: set[tuple[str, int]] = set()
        for entry in self.steps():
            where = f"{entry.file}:{entry.line} {entry.function}"
            if entry.example is None:
                problems.append(
                    f"{where}: `{entry.pattern}` has no example: use it in a feature "
                    f"or add an 'Example: <step line>' line to its docstring"
                )
            if not entry.description and (entry.file, entry.line) not in undescribed:
                undescribed.add((entry.file, entry.line))
                problems.append(f"{where}: `{entry.pattern}` has no description: add a docstring")
        return problems


# -- Loading the steps ---------------------------------------------------------------------------------


@contextmanager
def isolated_registry() -> Iterator[StepRegistry]:
    """behave's global step registry, emptied for the duration and restored afterwards.

    Step modules do `from behave import given, when, then`, and those decorators are bound to the global
    `behave.step_registry.registry`, so a separate StepRegistry instance would never see the steps. Instead
    the global registry is cleared (behave's own `clear()` swaps in new containers, so the saved ones are
    untouched) and put back as it was, which makes loading repeatable within one process.
    """
    saved_steps = registry.steps
    saved_bad = registry.error_handler.bad_step_definitions
    registry.clear()
    try:
        yield registry
    finally:
        registry.steps = saved_steps
        registry.error_handler.bad_step_definitions = saved_bad


def load_matchers(steps_dir: Path) -> tuple[list[Matcher], list[str]]:
    """The step matchers (one per decorator) defined in steps_dir, and the definitions behave skipped.

    Like behave's runner, the directory above steps_dir (the suite's base directory) is on sys.path while
    the step files are executed, so they can import the suite's support code.
    """
    steps_dir = steps_dir.resolve()
    with isolated_registry() as fresh, PathManager([str(steps_dir.parent)]):
        load_step_modules([str(steps_dir)])
        matchers = [matcher for step_type in STEP_TYPES for matcher in fresh.steps[step_type]]
        bad = [f"{m.describe()} at {m.location}" for m in fresh.error_handler.bad_step_definitions]
    return matchers, bad


def function_file(matcher: Matcher) -> Path:
    filename = Path(matcher.func.__code__.co_filename)
    # exec_file compiles with a path relative to the current directory.
    return filename if filename.is_absolute() else (Path.cwd() / filename).resolve()


def decorator_lines(step_file: Path) -> dict[tuple[int, str], int]:
    """Line of each step decorator by (line of the decorated function, pattern), to order stacked patterns.

    A function's first line is its first decorator's, which is what behave reports as its location.
    """
    lines: dict[tuple[int, str], int] = {}
    for node in ast.walk(ast.parse(step_file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.decorator_list:
            first = min(decorator.lineno for decorator in node.decorator_list)
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and decorator.args
                    and isinstance(decorator.args[0], ast.Constant)
                    and isinstance(decorator.args[0].value, str)
                ):
                    lines[(first, decorator.args[0].value)] = decorator.lineno
    return lines


# -- Finding where each step is used -------------------------------------------------------------------


def feature_files(features_dir: Path) -> list[Path]:
    return sorted(features_dir.rglob("*.feature"), key=lambda path: path.relative_to(features_dir).as_posix())


def first_usages(features_dir: Path, matchers: Sequence[Matcher], root: Path) -> dict[int, Example]:
    """The first use of each matcher in the features (by file, then line), keyed by id(matcher).

    Scenario outlines are expanded, so a step with parameters shows the text filled in from the first
    examples row. Background steps count where the background is written.
    """
    registry_view = StepRegistry()
    for matcher in matchers:
        registry_view.steps[matcher.step_type].append(matcher)
    usages: dict[int, Example] = {}
    for path in feature_files(features_dir):
        feature = parse_file(str(path))
        if feature is None:
            continue
        seen: list[Any] = []
        for scenario in feature.walk_scenarios():
            seen.extend(scenario.all_steps)
        # A stable sort keeps the first examples row of an outline ahead of the later ones.
        for step in sorted(seen, key=lambda step: step.line):
            matcher = registry_view.find_step_definition(step)
            if matcher is None or id(matcher) in usages:
                continue
            usages[id(matcher)] = Example(
                text=f"{step.keyword} {step.name}",
                feature=display_path(path, root),
                line=step.line,
                table_headings=tuple(step.table.headings) if step.table else (),
            )
    return usages


def docstring_example(matcher: Matcher, doc: str) -> Example | None:
    """The first 'Example: <step line>' in the docstring that this step's pattern matches."""
    for line in doc.splitlines():
        stripped = line.strip()
        if not stripped.startswith("Example:"):
            continue
        text = stripped.removeprefix("Example:").strip()
        if matcher.matches(GHERKIN_KEYWORD.sub("", text)):
            return Example(text=text)
    return None


def description_of(doc: str) -> str:
    """The docstring's first paragraph on one line, unless that paragraph is only an example."""
    first = " ".join(doc.strip().split("\n\n", 1)[0].split())
    return "" if first.startswith("Example:") else first


# -- Building the catalogue ----------------------------------------------------------------------------


def area_title(step_file: Path) -> str:
    if step_file.name in AREA_TITLES:
        return AREA_TITLES[step_file.name]
    return step_file.stem.removesuffix("_steps").replace("_", " ").capitalize()


def module_description(step_file: Path) -> str:
    doc = ast.get_docstring(ast.parse(step_file.read_text(encoding="utf-8"))) or ""
    return " ".join(doc.split("\n\n", 1)[0].split())


def display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def build_catalogue(
    steps_dir: Path = STEPS_DIR, features_dir: Path = FEATURES_DIR, root: Path | None = None
) -> Catalogue:
    """Load the steps in steps_dir, find their uses in features_dir, and group them by step file.

    Paths in the catalogue are shown relative to root (by default the directory holding steps_dir).
    """
    root = root if root is not None else steps_dir.resolve().parent
    matchers, bad = load_matchers(steps_dir)
    usages = first_usages(features_dir, matchers, root)

    # One entry per (function, pattern); a pattern registered under several keywords lists them all.
    grouped: dict[tuple[Path, int, str], list[Matcher]] = {}
    for matcher in matchers:
        key = (function_file(matcher), matcher.location.line, matcher.pattern)
        grouped.setdefault(key, []).append(matcher)

    order: dict[Path, dict[tuple[int, str], int]] = {}
    by_file: dict[Path, list[tuple[tuple[int, int], StepEntry]]] = {}
    for (step_file, line, pattern), same in grouped.items():
        if step_file not in order:
            order[step_file] = decorator_lines(step_file)
        doc = inspect.getdoc(same[0].func) or ""
        used = [usages[id(m)] for m in same if id(m) in usages]
        example = min(used, key=lambda e: (e.feature or "", e.line or 0), default=None)
        if example is None:
            example = next((e for m in same if (e := docstring_example(m, doc)) is not None), None)
        entry = StepEntry(
            area=area_title(step_file),
            keywords=tuple(sorted({m.step_type.title() for m in same}, key=keyword_rank)),
            pattern=pattern,
            description=description_of(doc),
            function=same[0].func.__name__,
            file=display_path(step_file, root),
            line=line,
            example=example,
        )
        by_file.setdefault(step_file, []).append(((line, order[step_file].get((line, pattern), line)), entry))

    areas = [
        Area(
            title=area_title(step_file),
            description=module_description(step_file),
            file=display_path(step_file, root),
            steps=tuple(entry for _, entry in sorted(entries, key=lambda item: item[0])),
        )
        for step_file, entries in by_file.items()
    ]
    areas.sort(key=area_rank)
    return Catalogue(
        areas=tuple(areas),
        steps_dir=display_path(steps_dir, root),
        features_dir=display_path(features_dir, root),
        bad_definitions=tuple(bad),
    )


def keyword_rank(keyword: str) -> int:
    return [step_type.title() for step_type in STEP_TYPES].index(keyword)


def area_rank(area: Area) -> tuple[int, str]:
    known = list(AREA_TITLES)
    name = Path(area.file).name
    return (known.index(name) if name in known else len(known), area.file)


# -- Checking and the command line ---------------------------------------------------------------------


def out_of_date(catalogue: Catalogue, path: Path = OUTPUT) -> str | None:
    """The one-line complaint when the file at path is not what the catalogue renders to, else None."""
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current == render_markdown(catalogue):
        return None
    return f"{display_path(path, ROOT)} is out of date: run {REGENERATE}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.step_catalogue",
        description="Write the step catalogue (docs/steps.md), or check that it is current and complete.",
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale or incomplete")
    parser.add_argument("--steps", type=Path, default=STEPS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--features", type=Path, default=FEATURES_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=OUTPUT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    catalogue = build_catalogue(args.steps, args.features)
    problems = catalogue.problems()
    if args.check:
        stale = out_of_date(catalogue, args.output)
        if stale:
            print(stale, file=sys.stderr)
    else:
        stale = None
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(render_markdown(catalogue), encoding="utf-8")
        print(f"wrote {display_path(args.output, ROOT)} ({len(catalogue.steps())} steps)")
    if problems:
        print(f"{len(problems)} step(s) need attention:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
    return 1 if stale or problems else 0


if __name__ == "__main__":
    sys.exit(main())
