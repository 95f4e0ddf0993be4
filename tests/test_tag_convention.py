"""The tag convention (docs/writing-scenarios.md), checked on every feature so the report stays organised:
each feature names its epic, each scenario has one severity and one story, and every tag means something."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from behave.model import Feature, Scenario, ScenarioOutline
from behave.parser import parse_file

from support.harness.fixtures import TAG_FIXTURES

ROOT = Path(__file__).resolve().parent.parent
FEATURE_FILES = sorted((ROOT / "features").glob("**/*.feature"))
SEVERITIES = {"blocker", "critical", "normal", "minor", "trivial"}
# Every tag is one of these; a typo (say @allure.lable.story) would otherwise vanish silently.
KNOWN_TAG = re.compile(
    r"(blocker|critical|normal|minor|trivial|smoke|wip"
    r"|allure\.label\.(epic|story):[A-Z][A-Za-z0-9_]*"
    r"|allure\.issue:\S+|allure\.link\.[a-z_]+:\S+"
    r"|journey\.[a-z_]+|area\.[a-z_]+|fixture\.[a-z_.]+)"
)


def features() -> list[Feature]:
    parsed = [parse_file(str(path)) for path in FEATURE_FILES]
    return [feature for feature in parsed if feature is not None]


def scenarios() -> list[tuple[Feature, Scenario]]:
    return [(feature, scenario) for feature in features() for scenario in feature.scenarios]


def written_scenarios(feature: Feature) -> list[Scenario]:
    """Each scenario and Scenario Outline as written in the file, under Rules too; not an Outline's rows."""
    return [
        scenario
        for scenario in feature.walk_scenarios(with_outlines=True)
        if not isinstance(getattr(scenario, "parent", None), ScenarioOutline)
    ]


def label(tags: list[str], name: str) -> list[str]:
    prefix = f"allure.label.{name}:"
    return [tag[len(prefix) :] for tag in tags if tag.startswith(prefix)]


def test_there_are_features_to_check() -> None:
    assert len(FEATURE_FILES) >= 5
    assert len(scenarios()) >= 18


@pytest.mark.parametrize("feature", features(), ids=lambda feature: feature.name)
def test_each_feature_names_exactly_one_epic(feature: Feature) -> None:
    assert len(label(feature.tags, "epic")) == 1, (
        f"{feature.filename}: tag the feature @allure.label.epic:<Epic>"
    )


@pytest.mark.parametrize(("feature", "scenario"), scenarios(), ids=lambda item: getattr(item, "name", ""))
def test_each_scenario_has_one_severity_and_one_story(feature: Feature, scenario: Scenario) -> None:
    tags = [*feature.tags, *scenario.tags]
    where = f"{scenario.filename}:{scenario.line} {scenario.name!r}"
    assert len(SEVERITIES.intersection(tags)) == 1, f"{where}: needs exactly one of @{', @'.join(SEVERITIES)}"
    assert len(label(tags, "story")) == 1, f"{where}: needs exactly one @allure.label.story:<Story>"


@pytest.mark.parametrize(("feature", "scenario"), scenarios(), ids=lambda item: getattr(item, "name", ""))
def test_every_tag_is_part_of_the_convention(feature: Feature, scenario: Scenario) -> None:
    for tag in [*feature.tags, *scenario.tags]:
        assert KNOWN_TAG.fullmatch(tag), f"{scenario.filename}: @{tag} is not a tag the convention knows"
        if tag.startswith("fixture."):
            assert tag in TAG_FIXTURES, (
                f"{scenario.filename}: @{tag} is not a fixture in support/harness/fixtures.py"
            )


@pytest.mark.parametrize("feature", features(), ids=lambda feature: feature.name)
def test_no_two_scenarios_of_a_feature_share_a_name(feature: Feature) -> None:
    # The report tells scenarios apart, and keeps each one's history, by feature file and name.
    names = Counter(scenario.name for scenario in written_scenarios(feature))
    repeated = sorted(name for name, count in names.items() if count > 1)
    assert not repeated, (
        f"{feature.filename}: more than one scenario is named "
        f"{', '.join(repr(name) for name in repeated)}; give each scenario a name of its own."
    )
