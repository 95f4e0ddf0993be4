"""One name per area, everywhere: each feature, its tag, step file, support module and self-test carry the
area's name (support/areas/__init__.py), nothing in those places belongs to no area, the layers of support/
import only downwards, and the README's area map is the one the list gives."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from behave.parser import parse_file

from support.areas import AREAS, ROOT, VOCABULARY, Area
from tools.area_map import BEGIN, END, render_table, replaced

NAMES = {area.name for area in AREAS}


def test_every_feature_is_one_area_and_every_area_has_its_feature() -> None:
    features = {path.stem for path in (ROOT / "features").glob("*.feature")}
    for name in sorted(features - NAMES):
        pytest.fail(
            f"features/{name}.feature belongs to no area: add it to AREAS in support/areas/__init__.py "
            f"and tag the feature @area.{name}"
        )
    for name in sorted(NAMES - features):
        pytest.fail(
            f"The area {name} in support/areas/__init__.py has no feature: write features/{name}.feature"
        )


@pytest.mark.parametrize("area", AREAS, ids=lambda area: area.name)
def test_a_feature_carries_its_own_area_tag_and_no_other(area: Area) -> None:
    feature = parse_file(str(ROOT / area.place("feature")))
    assert feature is not None
    area_tags = [tag for tag in feature.tags if tag.startswith(("area.", "journey."))]
    assert area_tags == [area.tag], (
        f"{area.place('feature')} must carry its area's tag @{area.tag} and no other area's, "
        f"but it carries {' '.join('@' + tag for tag in area_tags) or 'none'}"
    )
    # An area's tag selects its feature and nothing else, so no scenario carries one of its own.
    for scenario in feature.walk_scenarios(with_outlines=True):
        stray = [tag for tag in scenario.tags if tag.startswith(("area.", "journey."))]
        where = f"features/{stray[0].split('.', 1)[1]}.feature" if stray else ""
        assert not stray, (
            f"{scenario.filename}:{scenario.line} tags a scenario @{stray[0]}: area tags belong on the "
            f"feature only, so that --tags=@{stray[0]} selects exactly {where}"
        )


def test_no_two_features_share_an_area_tag() -> None:
    tags = [area.tag for area in AREAS]
    assert len(tags) == len(set(tags))


def test_every_step_file_belongs_to_an_area_or_the_shared_vocabulary() -> None:
    known = {area.place("steps") for area in AREAS} | {words.step_file for words in VOCABULARY}
    for path in (ROOT / "steps").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        assert relative in known, (
            f"{relative} is named after no area: step files live in steps/ itself, as "
            "steps/<area>_steps.py for an area listed in support/areas/__init__.py"
        )


def test_every_area_module_is_named_after_its_area_and_has_its_self_test() -> None:
    for path in (ROOT / "support" / "areas").glob("*.py"):
        if path.name == "__init__.py":
            continue
        assert path.stem in NAMES, (
            f"support/areas/{path.name} is named after no area: name it after its feature, or add the area "
            "to AREAS in support/areas/__init__.py"
        )
        assert (ROOT / "tests" / f"test_{path.stem}.py").exists(), (
            f"support/areas/{path.name} has no self-test: tests/test_{path.stem}.py"
        )


def test_the_shared_vocabulary_points_at_what_exists() -> None:
    for words in VOCABULARY:
        for path in (words.step_file, *words.support, *words.self_tests):
            assert (ROOT / path).exists(), f"{words.title}: {path} does not exist"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


# Each layer of support/ with the layers it must not import: services and drivers sit at the bottom.
FORBIDDEN = {
    "support/services": ("support.report", "support.areas", "support.harness.world", "support.harness.hooks"),
    "support/drivers": ("support.report", "support.areas", "support.harness.world", "support.harness.hooks"),
    "support/areas": ("support.report", "support.harness.hooks"),
    "reference_client": ("support", "tools"),
    "support": ("tools", "steps"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_import_only_downwards(layer: str) -> None:
    for path in sorted((ROOT / layer).rglob("*.py")):
        for module in imported_modules(path):
            for forbidden in FORBIDDEN[layer]:
                assert module != forbidden and not module.startswith(forbidden + "."), (
                    f"{path.relative_to(ROOT)} imports {module}, which {layer}/ must not use"
                )


def test_the_readme_area_map_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert replaced(readme, render_table()) == readme, (
        "README.md's area map is out of date: run .venv/bin/python -m tools.area_map"
    )


def test_the_area_map_fails_without_its_markers() -> None:
    with pytest.raises(ValueError, match="no area map"):
        replaced("# a README without the map\n", render_table())
    table = render_table()
    assert table.startswith(BEGIN) and table.rstrip().endswith(END)


# Parts small enough to read whole. The reference client's public API is the one exception: it is what a
# user of the client sees, and its internals live in modules of their own.
MAX_MODULE_LINES = 400
MAX_PUBLIC_METHODS = 25
API_EXCEPTIONS = {("reference_client/client.py", "RealtimeClient")}
PRODUCT = ("support", "steps", "tools", "reference_client", "realtime_protocol")


def product_modules() -> list[Path]:
    return [*sorted(path for top in PRODUCT for path in (ROOT / top).rglob("*.py")), ROOT / "environment.py"]


def test_no_module_is_over_the_line_limit() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in product_modules()
        if (lines := path.read_text(encoding="utf-8").count("\n")) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines, to split by concept: {long}"


def test_no_class_has_more_public_methods_than_the_limit() -> None:
    crowded = {}
    for path in product_modules():
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and (where, node.name) not in API_EXCEPTIONS:
                kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
                methods = [item for item in node.body if isinstance(item, kinds)]
                public = [method.name for method in methods if not method.name.startswith("_")]
                if len(public) > MAX_PUBLIC_METHODS:
                    crowded[f"{where}:{node.name}"] = len(public)
    assert not crowded, f"classes with over {MAX_PUBLIC_METHODS} public methods, to split: {crowded}"
