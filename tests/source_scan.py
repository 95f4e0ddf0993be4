"""Finding, in Python sources, every place a kind of thing is written by name: the events the reference
client emits (``self._events.emit("state:changed", state=…)``) and the entries the services journal
(``self.journal.record("session resumed", session=…)``), with the facts each names.

A name passed on from a parameter (``def _note(self, kind, record): self._journal.record(kind, …)``) is
followed to the calls of that function in the same file; what cannot be followed is reported, so a new way of
writing cannot slip past the self-tests that hold every name to a class.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.harness.facts import Kinds, field_names


@dataclass(frozen=True)
class Written:
    """One place a name is written: ``file:line``, the name, and the facts given by keyword there (a
    ``**mapping`` is left out: its keys are not in the source)."""

    where: str
    name: str
    facts: frozenset[str]


@dataclass(frozen=True)
class Scan:
    written: list[Written]
    unresolved: list[str]  # ``file:line: the expression`` for each name that could not be read


def scan(root: Path, method: str, receiver: Callable[[str], bool], passed_on: Iterable[str] = ()) -> Scan:
    """Every call ``<receiver>.<method>(name, fact=…)`` in the ``.py`` files under ``root`` (``root`` may be
    one file) whose receiver's source text ``receiver`` accepts. ``passed_on`` names, as ``file.py:
    expression``, the calls that only pass on names written elsewhere (and scanned there): they are not
    unresolved."""

    def chosen(call: ast.Call) -> bool:
        func = call.func
        return isinstance(func, ast.Attribute) and func.attr == method and receiver(ast.unparse(func.value))

    return _scan(root, chosen, _keywords, passed_on)


def scan_made(root: Path, cls: str, passed_on: Iterable[str] = ()) -> Scan:
    """Every ``cls(name, {fact: …})`` under ``root``: a name and its facts made as an object to be written
    later (the gateway's ``Note("trouble programmed", {...})``)."""

    def chosen(call: ast.Call) -> bool:
        return isinstance(call.func, ast.Name) and call.func.id == cls

    def facts(call: ast.Call) -> frozenset[str]:
        given = call.args[1] if len(call.args) > 1 else None
        keys = given.keys if isinstance(given, ast.Dict) else []
        return frozenset(
            key.value for key in keys if isinstance(key, ast.Constant) and isinstance(key.value, str)
        )

    return _scan(root, chosen, facts, passed_on)


def together(*scans: Scan) -> Scan:
    """Several scans as one: what each found, in order."""
    return Scan(
        [place for found in scans for place in found.written],
        [place for found in scans for place in found.unresolved],
    )


def _scan(
    root: Path,
    chosen: Callable[[ast.Call], bool],
    facts: Callable[[ast.Call], frozenset[str]],
    passed_on: Iterable[str],
) -> Scan:
    written: list[Written] = []
    unresolved: list[str] = []
    for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
        found = _scan_module(ast.parse(path.read_text(encoding="utf-8")), path.name, chosen, facts)
        written += found.written
        unresolved += [place for place in found.unresolved if _without_line(place) not in set(passed_on)]
    return Scan(written, unresolved)


def _keywords(call: ast.Call) -> frozenset[str]:
    return frozenset(keyword.arg for keyword in call.keywords if keyword.arg is not None)


def _without_line(place: str) -> str:
    file, _, rest = place.partition(":")
    return f"{file}:{rest.partition(':')[2]}"


def missing(written: Iterable[Written], kinds: Kinds[Any]) -> list[str]:
    """What the classes registered in ``kinds`` do not cover: each name with no class, and each place whose
    facts no class for its name has every one of, as ``file:line: name (facts)``."""
    problems = []
    for place in written:
        classes = [field_names(cls) for cls in kinds.classes(place.name)]
        if not classes:
            problems.append(f"{place.where}: {place.name!r} has no class")
        elif not any(place.facts <= fields for fields in classes):
            problems.append(f"{place.where}: {place.name!r} names facts no class has: {sorted(place.facts)}")
    return problems


def _scan_module(
    tree: ast.Module,
    file: str,
    chosen: Callable[[ast.Call], bool],
    facts: Callable[[ast.Call], frozenset[str]],
) -> Scan:
    written: list[Written] = []
    unresolved: list[str] = []
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    for call, enclosing in _calls_with_function(tree, functions):
        if not (call.args and chosen(call)):
            continue
        names = _literal_names(call.args[0])
        if names is None:
            names = _forwarded(call.args[0], enclosing, tree)
        if names is None:
            unresolved.append(f"{file}:{call.lineno}: {ast.unparse(call.args[0])}")
            continue
        written += [Written(f"{file}:{call.lineno}", name, facts(call)) for name in names]
    return Scan(written, unresolved)


def _calls_with_function(
    tree: ast.Module, functions: list[ast.FunctionDef | ast.AsyncFunctionDef]
) -> list[tuple[ast.Call, ast.FunctionDef | ast.AsyncFunctionDef | None]]:
    """Every call, with the innermost function it is in (None at module level)."""
    innermost: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for function in functions:  # ast.walk goes outside in, so inner functions overwrite outer ones
        for node in ast.walk(function):
            if isinstance(node, ast.Call):
                innermost[id(node)] = function
    return [(node, innermost.get(id(node))) for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _literal_names(node: ast.expr) -> list[str] | None:
    """The names a literal gives (``"a"``, or ``"a" if x else "b"``); None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        body, orelse = _literal_names(node.body), _literal_names(node.orelse)
        return body + orelse if body is not None and orelse is not None else None
    return None


def _forwarded(
    node: ast.expr, function: ast.FunctionDef | ast.AsyncFunctionDef | None, tree: ast.Module
) -> list[str] | None:
    """The literal names passed for a parameter of ``function`` by the calls to it in the same module."""
    if function is None or not isinstance(node, ast.Name):
        return None
    parameters = [argument.arg for argument in function.args.args]
    if node.id not in parameters:
        return None
    position = parameters.index(node.id) - (1 if parameters and parameters[0] == "self" else 0)
    names: list[str] = []
    for call in (each for each in ast.walk(tree) if isinstance(each, ast.Call)):
        called = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
        if called != function.name or len(call.args) <= position:
            continue
        given = _literal_names(call.args[position])
        if given is None:
            return None
        names += given
    return names or None
