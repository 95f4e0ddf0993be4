"""The map of behave's context (support/harness/context_map.py): every attribute the code sets is declared,
the map names each field of the world and its parts and nothing else, says truly which step files use each
one, docs/context.md is current, and a failing scenario's context reads in words with secrets by
fingerprint only."""

from __future__ import annotations

import ast
import dataclasses
import re
import typing
from pathlib import Path
from types import SimpleNamespace

import pytest

from realtime_protocol import fingerprint
from support.areas.network_faults import FaultPlan
from support.areas.structured_logging import PlantedSecret
from support.harness.context_map import ATTRIBUTES, BEHAVE, EVERY_STEP, declared
from support.harness.context_words import SAID, context_in_words
from support.harness.people import Person
from support.harness.settings import Settings, read_ini_defaults
from support.harness.world import MAIN_CLIENT, ScenarioWorld
from tools.context_doc import OUTPUT, REGENERATE, out_of_date, part_classes, render_markdown

ROOT = Path(__file__).resolve().parent.parent
# Where attributes may be set on context: behave's entry point, the hooks, the fixtures and the steps.
SETTERS = [
    ROOT / "environment.py",
    ROOT / "support" / "harness" / "hooks.py",
    ROOT / "support" / "harness" / "fixtures.py",
    *sorted((ROOT / "steps").glob("*.py")),
]


def chain(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The path below context that an attribute chain names ("world.crowd.people"), through a subscript
    (``world.crowd.people[name]``), or None when it does not start at context or a name given a part of
    it (``world = context.world``)."""
    if not isinstance(node, ast.Attribute | ast.Subscript):
        return None
    names: list[str] = []
    while isinstance(node, ast.Attribute | ast.Subscript):
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join(part for part in [aliases[node.id], *reversed(names)] if part) or None


def scan(source: str) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """What a module does with context: (paths it sets, paths it reads), each with its line. Names given a
    part of context inside a function (``world = context.world``) count as that part."""
    sets: list[tuple[str, int]] = []
    reads: list[tuple[str, int]] = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        aliases = {"context": ""}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                for name, value in _pairs(node.targets[0], node.value):
                    path = chain(value, aliases)
                    if path is not None and isinstance(value, ast.Attribute):
                        aliases[name] = path
        for node in ast.walk(function):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for target in targets:
                for part in target.elts if isinstance(target, ast.Tuple | ast.List) else [target]:
                    path = chain(part, aliases)
                    if path is not None:
                        sets.append((path, node.lineno))
            if isinstance(node, ast.Attribute):
                path = chain(node, aliases)
                if path is not None:
                    reads.append((path, node.lineno))
    return sets, reads


def _pairs(target: ast.expr, value: ast.expr) -> list[tuple[str, ast.expr]]:
    # "world = context.world", and "world, settings = context.world, context.settings"
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
        return [
            (name.id, item)
            for name, item in zip(target.elts, value.elts, strict=True)
            if isinstance(name, ast.Name)
        ]
    return []


def owner(path: str) -> str | None:
    """The declared attribute a path falls under: the longest declared path it starts with."""
    known = declared()
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scanner_finds_what_a_step_sets_on_context_directly_and_through_the_world() -> None:
    source = (
        "def step(context):\n"
        "    context.scratch = 1\n"
        "    world = context.world\n"
        "    world.crowd.people['x'] = 2\n"
        "    world.faults.plan, other = None, 3\n"
        "    crowd, settings = context.world.crowd, context.settings\n"
        "    crowd.channels = []\n"
        "    return context.world.tokens.gateway_answer\n"
    )
    sets, reads = scan(source)
    assert {path for path, _ in sets} == {
        "scratch",
        "world.crowd.people",
        "world.faults.plan",
        "world.crowd.channels",
    }
    assert "world.tokens.gateway_answer" in {path for path, _ in reads}
    assert owner("scratch") is None and owner("world.crowd.people") == "world.crowd.people"


@pytest.mark.parametrize("module", SETTERS, ids=relative)
def test_code_sets_only_attributes_the_map_declares(module: Path) -> None:
    sets, _ = scan(module.read_text(encoding="utf-8"))
    undeclared = [
        f"{relative(module)}:{line} sets context.{path}" for path, line in sets if owner(path) is None
    ]
    assert not undeclared, (
        "Declare these in support/harness/context_map.py (and regenerate docs/context.md), or keep the value "
        "in the world's part for its area: " + "; ".join(undeclared)
    )


@pytest.mark.parametrize("module", sorted((ROOT / "steps").glob("*.py")), ids=relative)
def test_the_map_names_every_step_file_that_uses_an_attribute(module: Path) -> None:
    sets, reads = scan(module.read_text(encoding="utf-8"))
    known = declared()
    wrong = set()
    for path, line in [*sets, *reads]:
        item = known.get(owner(path) or "")
        if item is None or (item.set_by == BEHAVE and EVERY_STEP in item.read_by):
            continue
        if EVERY_STEP not in item.read_by and relative(module) not in f"{item.set_by} {item.read_by}":
            wrong.add(f"context.{item.path} (line {line})")
    assert not wrong, f"support/harness/context_map.py does not name {relative(module)} for: {sorted(wrong)}"


def test_the_map_declares_each_field_of_the_world_and_its_parts_and_nothing_else() -> None:
    classes = part_classes()
    fields = {
        f"{group}.{item.name}"
        for group, kind in classes.items()
        for item in dataclasses.fields(typing.cast(typing.Any, kind))
        if f"{group}.{item.name}" not in classes
    }
    world_paths = {path for path in declared() if path.startswith("world.")}
    assert world_paths == fields, (
        f"declared but no such field: {sorted(world_paths - fields)}; "
        f"fields not declared: {sorted(fields - world_paths)}"
    )


def test_every_file_the_map_names_exists() -> None:
    for item in ATTRIBUTES:
        for named in re.findall(r"[\w/]+\.py", f"{item.set_by} {item.read_by}"):
            assert (ROOT / named).is_file(), f"context.{item.path} names {named}, which does not exist"


def test_every_way_of_saying_a_value_belongs_to_a_declared_attribute() -> None:
    assert set(SAID) <= set(declared())


def test_the_committed_context_map_is_current() -> None:
    stale = out_of_date(OUTPUT)
    assert stale is None, stale
    assert REGENERATE in render_markdown()


class FakeClient:
    state, session_id = "reconnecting", "s-42"

    def events(self) -> list[object]:
        return []


def failing_world() -> ScenarioWorld:
    settings = Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "7"})
    world = ScenarioWorld(settings, services=None, seed=3)  # type: ignore[arg-type]  # no service is needed
    world.clients[MAIN_CLIENT] = FakeClient()  # type: ignore[assignment]
    world.accounts.api_keys[MAIN_CLIENT] = key = "key_" + "k" * 32
    world.accounts.subjects[key] = "jdoe"
    world.secrets += [key, "hunter2hunter2"]
    world.crowd.people["alice"] = Person("alice", api_key="key_alice", read=("prices",), publish=())
    world.messages.published["prices"] = ["m1", "m2"]
    world.messages.sent_data["prices"] = [{"password": "hunter2hunter2"}, {"text": "hello"}]
    world.faults.plan = FaultPlan(words="the network goes down", lasting_ms=300)
    world.report.findings.append("Retries came 50 ms, 100 ms and 200 ms apart")
    world.mark("scenario start")
    return world


def test_a_failing_scenarios_context_reads_in_words_with_secrets_by_fingerprint_only() -> None:
    planted = PlantedSecret(details={"apiKey": "key_planted"}, secret="key_planted", shown={})
    context = SimpleNamespace(world=failing_world(), planted=planted, error_secret="hunter2hunter2")

    words = context_in_words(context)

    for secret in ("key_" + "k" * 32, "hunter2hunter2", "key_planted", "key_alice"):
        assert secret not in words
    assert fingerprint("hunter2hunter2") in words and fingerprint("key_" + "k" * 32) in words
    lines = {line.split("  ")[0].strip(): line for line in words.splitlines() if line.startswith("context.")}
    assert "the client: reconnecting, session s-42" in lines["context.world.clients"]
    assert "prices: 2 messages" in lines["context.world.messages.published"]
    assert "prices: 2 payloads" in lines["context.world.messages.sent_data"]
    assert "the network goes down, lasting 300 ms" in lines["context.world.faults.plan"]
    assert "1 person: alice (reads prices; posts nothing)" in lines["context.world.crowd.people"]
    # Values in words: never a Python repr of a dict, list, dataclass or object.
    assert not re.search(r"[{}\[\]]|\w+\(\w+=|<\w+ object", words), words
    assert "Not set or empty:" in words and "world.tokens.keeping" in words


def test_a_value_that_cannot_be_put_in_words_says_so_rather_than_failing() -> None:
    context = SimpleNamespace(world=SimpleNamespace(clients={"the client": object()}))
    words = context_in_words(context)
    assert "context.world.clients" in words and "(could not be put in words: AttributeError)" in words


def test_each_step_file_the_map_names_uses_that_attribute_or_its_part() -> None:
    used: dict[str, set[str]] = {}
    for module in sorted((ROOT / "steps").glob("*.py")):
        sets, reads = scan(module.read_text(encoding="utf-8"))
        used[relative(module)] = {path for path, _ in [*sets, *reads]}
    stale = []
    for item in ATTRIBUTES:
        part = item.group + "." if item.group.startswith("world.") else None
        for named in re.findall(r"steps/\w+\.py", f"{item.set_by} {item.read_by}"):
            paths = used[named]
            if not any(path == item.path or path.startswith(item.path + ".") for path in paths) and not (
                part and any(path.startswith(part) for path in paths)
            ):
                stale.append(f"context.{item.path} names {named}")
    assert not stale, f"the map names step files that do not use the attribute: {stale}"
