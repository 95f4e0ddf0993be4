"""The step catalogue (docs/steps.md): current, complete, showing real uses, and honest about gaps."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from behave.step_registry import registry

from support.areas.network_faults import FORMS
from tools.catalogue_markdown import parameters_of
from tools.step_catalogue import (
    AREA_TITLES,
    FEATURES_DIR,
    OUTPUT,
    REGENERATE,
    STEPS_DIR,
    Catalogue,
    StepEntry,
    build_catalogue,
    main,
    out_of_date,
    render_markdown,
)

ROOT = Path(__file__).resolve().parent.parent
STEP_DECORATOR = re.compile(r"^@(given|when|then|step)\(", re.MULTILINE)

DEMO_STEPS = '''\
"""Steps about a counter, for a catalogue test."""

from behave import given, then, when


@given("a counter at {start:d}")
def counter_at(context, start):
    """Sets the counter."""


@when("the counter goes up by {amount:d}")
@when("the counter goes up")
def counter_goes_up(context, amount=1):
    """Adds to the counter.

    Example: When the counter goes up
    """


@then("the counter reads {value:d}")
def counter_reads(context, value):
    """Checks the counter.

    Example: Then the counter reads 3
    """
'''

UNUSED_STEP = """

@then("the counter is never looked at")
def counter_never_looked_at(context):
    pass
"""

DEMO_FEATURE = """\
Feature: Counting

  Background:
    Given a counter at 0

  Scenario Outline: Going up by <amount>
    When the counter goes up by <amount>

    Examples:
      | amount |
      | 2      |
      | 5      |
"""


def write_suite(base: Path, with_unused_step: bool) -> tuple[Path, Path]:
    steps, features = base / "steps", base / "features"
    steps.mkdir(parents=True)
    features.mkdir()
    (steps / "counter_steps.py").write_text(DEMO_STEPS + (UNUSED_STEP if with_unused_step else ""))
    (features / "count.feature").write_text(DEMO_FEATURE)
    return steps, features


def entry(catalogue: Catalogue, pattern: str) -> StepEntry:
    found = [step for step in catalogue.steps() if step.pattern == pattern]
    assert len(found) == 1, f"{pattern!r} appears {len(found)} times in the catalogue"
    return found[0]


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return build_catalogue(STEPS_DIR, FEATURES_DIR)


# -- the real suite ---------------------------------------------------------------------------------


def test_the_committed_catalogue_is_current(catalogue: Catalogue) -> None:
    stale = out_of_date(catalogue, OUTPUT)
    assert stale is None, stale


def test_every_step_has_an_example_and_a_description(catalogue: Catalogue) -> None:
    assert catalogue.problems() == []
    for step in catalogue.steps():
        assert step.description, f"{step.pattern!r} has no description"
        assert step.example is not None, f"{step.pattern!r} has no example"


def test_the_catalogue_lists_every_step_decorator_in_the_step_files(catalogue: Catalogue) -> None:
    decorators = sum(len(STEP_DECORATOR.findall(path.read_text())) for path in STEPS_DIR.glob("*.py"))
    assert len(catalogue.steps()) == decorators
    assert [area.title for area in catalogue.areas] == list(AREA_TITLES.values())
    assert all(area.description for area in catalogue.areas)


def test_a_step_used_in_the_features_shows_its_real_usage_line(catalogue: Catalogue) -> None:
    step = entry(catalogue, 'the client gives up, saying "{reason}"')
    assert step.example is not None
    assert step.example.feature is not None and step.example.line is not None
    # The first use in the features, parameters filled in, exactly as written there.
    assert re.fullmatch(r'(Then|And) the client gives up, saying "[^"{}]+"', step.example.text)
    feature_lines = (ROOT / step.example.feature).read_text().splitlines()
    assert feature_lines[step.example.line - 1].strip() == step.example.text
    assert f"Used in {step.example.feature}:{step.example.line}: `{step.example.text}`" in render_markdown(
        catalogue
    )


def test_every_example_from_a_feature_points_at_the_line_it_came_from(catalogue: Catalogue) -> None:
    for step in catalogue.steps():
        example = step.example
        assert example is not None and example.feature is not None and example.line is not None
        written = (ROOT / example.feature).read_text().splitlines()[example.line - 1].strip()
        keyword, _, text = written.partition(" ")
        assert example.text.startswith(keyword + " ")
        if "<" not in text:  # outline steps are shown filled in from their examples table
            assert example.text == written


def test_a_function_with_two_patterns_appears_once_per_pattern(catalogue: Catalogue) -> None:
    plain = entry(catalogue, "a client with a valid API key")
    with_trait = entry(catalogue, "a client with a valid API key that {trait:ClientTrait}")
    assert plain.function == with_trait.function == "client_with_valid_key"
    assert plain.keywords == with_trait.keywords == ("Given",)
    steps = catalogue.steps()
    assert steps.index(plain) + 1 == steps.index(with_trait)  # in the order the decorators are written


def test_every_phrase_a_parameter_accepts_is_listed_under_its_step(catalogue: Catalogue) -> None:
    markdown = render_markdown(catalogue)
    fault = entry(catalogue, "the network suffers {fault:NetworkFault}")
    section = markdown.split(f"`{fault.pattern}`", 1)[1].split("\n### ", 1)[0]
    for form in FORMS:
        assert f"  - `{form.pattern}`\n" in section
    assert "scaled to suite time by the `production_second_ms` setting" in section
    downtime = entry(
        catalogue, "their average downtime was under {seconds:ProductionSeconds} seconds of production time"
    )
    assert "scaled to suite time" in markdown.split(f"`{downtime.pattern}`", 1)[1].split("\n### ", 1)[0]
    times = entry(catalogue, "the client asked the auth service for access {count:Times}")
    listed = markdown.split(f"`{times.pattern}`", 1)[1].split("\n### ", 1)[0]
    assert "  - `only once`\n" in listed and "  - `{n} times`\n" in listed
    assert "scaled" not in listed
    # Every parameter of a registered type in every step lists all its phrases.
    for step in catalogue.steps():
        listed = markdown.split(f"### {' / '.join(step.keywords)} `{step.pattern}`", 1)[1].split("\n### ", 1)[
            0
        ]
        for name, parameter in parameters_of(step.pattern):
            assert f"`{{{name}}}` ({parameter.name})" in listed
            assert all(f"  - `{phrase}`" in listed for phrase in parameter.phrases)


def test_check_passes_on_the_real_suite_from_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.step_catalogue", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


# -- a tiny suite in a temporary directory ------------------------------------------------------------


def test_an_unused_step_without_docstring_is_reported(tmp_path: Path) -> None:
    steps, features = write_suite(tmp_path, with_unused_step=True)
    catalogue = build_catalogue(steps, features)

    unused = entry(catalogue, "the counter is never looked at")
    assert (unused.example, unused.description) == (None, "")
    problems = catalogue.problems()
    assert len(problems) == 2
    assert all("steps/counter_steps.py" in p and "counter_never_looked_at" in p for p in problems)
    assert "has no example" in problems[0]
    assert "has no description" in problems[1]
    assert "**No example yet**" in render_markdown(catalogue)


def test_check_fails_when_a_step_has_no_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps, features = write_suite(tmp_path, with_unused_step=True)
    output = tmp_path / "docs" / "steps.md"
    arguments = ["--steps", str(steps), "--features", str(features), "--output", str(output)]
    main(arguments)
    capsys.readouterr()

    assert main(["--check", *arguments]) == 1
    err = capsys.readouterr().err
    assert "is out of date" not in err
    assert "`the counter is never looked at` has no example" in err


def test_check_fails_with_one_line_when_the_file_is_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps, features = write_suite(tmp_path, with_unused_step=False)
    output = tmp_path / "docs" / "steps.md"
    arguments = ["--steps", str(steps), "--features", str(features), "--output", str(output)]

    assert main(["--check", *arguments]) == 1  # not written yet
    assert capsys.readouterr().err == f"{output.as_posix()} is out of date: run {REGENERATE}\n"

    assert main(arguments) == 0
    assert main(["--check", *arguments]) == 0
    capsys.readouterr()

    output.write_text(output.read_text().replace("Sets the counter.", "Sets the counter to zero."))
    assert main(["--check", *arguments]) == 1
    assert capsys.readouterr().err == f"{output.as_posix()} is out of date: run {REGENERATE}\n"


def test_examples_come_from_features_first_then_from_docstrings(tmp_path: Path) -> None:
    steps, features = write_suite(tmp_path, with_unused_step=False)
    catalogue = build_catalogue(steps, features)
    assert catalogue.problems() == []

    background = entry(catalogue, "a counter at {start:d}").example
    assert background is not None
    assert (background.feature, background.line, background.text) == (
        "features/count.feature",
        4,
        "Given a counter at 0",
    )
    # An outline step is shown filled in from the first row of its examples, at the outline's line.
    outline = entry(catalogue, "the counter goes up by {amount:d}").example
    assert outline is not None
    assert (outline.feature, outline.line, outline.text) == (
        "features/count.feature",
        7,
        "When the counter goes up by 2",
    )
    # Not used in a feature: the docstring's example, the one that this pattern matches.
    from_doc = entry(catalogue, "the counter goes up").example
    assert from_doc is not None
    assert (from_doc.feature, from_doc.line, from_doc.text) == (None, None, "When the counter goes up")
    assert "Not used in any feature yet; for example: `When the counter goes up`" in render_markdown(
        catalogue
    )

    assert [step.pattern for step in catalogue.steps()] == [
        "a counter at {start:d}",
        "the counter goes up by {amount:d}",
        "the counter goes up",
        "the counter reads {value:d}",
    ]
    assert [(area.title, area.description) for area in catalogue.areas] == [
        ("Counter", "Steps about a counter, for a catalogue test.")
    ]


# -- loading more than once -----------------------------------------------------------------------------


def test_loading_twice_in_one_process_gives_the_same_catalogue(
    catalogue: Catalogue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps_before, bad_before = registry.steps, registry.error_handler.bad_step_definitions

    again = build_catalogue(STEPS_DIR, FEATURES_DIR)
    assert again == catalogue
    assert render_markdown(again) == render_markdown(catalogue)

    # Another suite's steps in between do not leak into this one, nor this one's into it.
    demo_steps, demo_features = write_suite(tmp_path / "demo", with_unused_step=False)
    demo = build_catalogue(demo_steps, demo_features)
    assert len(demo.steps()) == 4
    assert build_catalogue(STEPS_DIR, FEATURES_DIR) == catalogue

    # behave records step locations relative to the current directory; without a fresh registry a
    # second load from elsewhere would clash with the first ("has already been defined").
    monkeypatch.chdir(tmp_path)
    assert render_markdown(build_catalogue(STEPS_DIR, FEATURES_DIR)) == render_markdown(catalogue)

    # behave's own registry is left exactly as it was.
    assert registry.steps is steps_before
    assert registry.error_handler.bad_step_definitions is bad_before
