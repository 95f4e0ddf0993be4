"""The suite's Allure formatter (support/report/allure_formatter.py),
each gap of allure-behave 2.16.2 it mends shown
on a bare behave project of a few lines: behave runs in a process of its own and the test reads the
*-result.json files it wrote. Where it helps to see what is mended, the same project runs under plain
allure-behave too and shows the gap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from behave.parser import parse_feature

from support.report.verdict import SEPARATOR, scenario_identities

ROOT = Path(__file__).resolve().parent.parent


def identity(*parts: str) -> str:
    """A scenario's identity as support.report.verdict words it: its non-empty parts, in order."""
    return SEPARATOR.join(part for part in parts if part)


OURS = "support.report.allure_formatter:AllureFormatter"
PLAIN = "allure_behave.formatter:AllureFormatter"

STEPS = """
import signal

from behave import step


@step("it passes")
def it_passes(context):
    pass


@step("it fails")
def it_fails(context):
    raise AssertionError("It did not work.")


@step("the accounts")
def the_accounts(context):
    assert context.table is not None and context.table.headings == ["name", "role"], "No accounts."


@step("the message is")
def the_message_is(context):
    assert context.text == "Hello, Ada.", "No message."


@step("the link runs at {speed:d} Mbit/s")
def the_link_runs_at(context, speed):
    assert speed < 100, f"The link cannot run at {speed} Mbit/s."


@step("tout va bien")
def tout_va_bien(context):
    pass


@step("ça échoue")
def ca_echoue(context):
    raise AssertionError("Ça n'a pas marché.")


@step("the run is interrupted")
def the_run_is_interrupted(context):
    signal.raise_signal(signal.SIGINT)  # as Ctrl-C does: KeyboardInterrupt in the middle of a step


@step("the run is aborted")
def the_run_is_aborted(context):
    context.abort(reason="enough")
"""

# after_scenario attaches to the scenario's result, as support/harness/hooks.py does for every scenario.
ATTACHING = """
import allure


def after_scenario(context, scenario):
    allure.attach(f"story of {scenario.name}", name="What happened")
"""


@dataclass(frozen=True)
class Run:
    """One behave run: its exit code, console output and the Allure results it wrote."""

    returncode: int
    output: str
    directory: Path

    @property
    def results(self) -> list[dict[str, Any]]:
        return [json.loads(path.read_text()) for path in sorted(self.directory.glob("*-result.json"))]

    def named(self, name: str) -> list[dict[str, Any]]:
        return [result for result in self.results if result["name"] == name]

    def result(self, name: str) -> dict[str, Any]:
        found = self.named(name)
        names = sorted(result["name"] for result in self.results)
        assert len(found) == 1, f"There should be one result named {name!r}, not {len(found)}; all: {names}"
        return found[0]

    def attachment(self, source: str) -> str:
        return (self.directory / source).read_text(encoding="utf-8")


def run_behave(
    tmp_path: Path,
    features: Mapping[str, str],
    *args: str,
    environment: str = "",
    formatter: str = OURS,
    project: str | None = None,
) -> Run:
    """Write a bare behave project (features/, its steps and environment.py) and run behave on it with
    ``formatter`` writing Allure results; console output is behave's plain format."""
    where = tmp_path / (project or formatter.split(".")[0])
    (where / "features" / "steps").mkdir(parents=True, exist_ok=True)
    (where / "features" / "steps" / "steps.py").write_text(STEPS, encoding="utf-8")
    (where / "features" / "environment.py").write_text(environment, encoding="utf-8")
    (where / "behave.ini").write_text("[behave]\nshow_skipped = false\n", encoding="utf-8")
    for name, text in features.items():
        (where / "features" / name).write_text(text, encoding="utf-8")
    results = where / "allure-results"
    for old in results.glob("*"):
        old.unlink()
    completed = subprocess.run(
        [sys.executable, "-m", "behave", "-f", formatter, "-o", str(results), "-f", "plain", *args],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return Run(completed.returncode, completed.stdout + completed.stderr, results)


def message(result: dict[str, Any]) -> str:
    return str((result.get("statusDetails") or {}).get("message") or "")


def labels(result: dict[str, Any], name: str) -> list[str]:
    return sorted(str(label["value"]) for label in result["labels"] if label["name"] == name)


def steps(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(step["name"], step["status"]) for step in result["steps"]]


def step_attachments(result: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(step name, attachment name, its source file) for each attachment of each step."""
    for step in result["steps"]:
        for attachment in step.get("attachments", []):
            yield step["name"], attachment["name"], attachment["source"]


# -- 1. scenarios under a Rule ------------------------------------------------------------------------

RULE_FEATURE = '''
Feature: Sign-in
  Background:
    Given it passes

  Scenario: Before any rule
    Given it passes

  Rule: Accounts need a role
    Background:
      Given the accounts
        | name | role  |
        | ada  | admin |

    Scenario: Ada signs in
      When the message is
        """
        Hello, Ada.
        """
      Then it passes
'''


def test_a_scenario_under_a_rule_has_its_result_with_the_rules_background_table_and_doc_string(
    tmp_path: Path,
) -> None:
    run = run_behave(tmp_path, {"sign_in.feature": RULE_FEATURE}, environment=ATTACHING)
    assert run.returncode == 0, run.output
    result = run.result("Ada signs in")
    assert result["status"] == "passed"
    assert result["titlePath"][-2:] == ["Sign-in", "Accounts need a role"]
    assert steps(result) == [
        ("Given it passes", "passed"),
        ("Given the accounts", "passed"),
        ("When the message is", "passed"),
        ("Then it passes", "passed"),
    ]
    attached = {(step, name): run.attachment(source) for step, name, source in step_attachments(result)}
    assert set(attached) == {("Given the accounts", ".table"), ("When the message is", ".text")}
    assert attached["Given the accounts", ".table"].splitlines() == ["name,role", "ada,admin"]
    assert attached["When the message is", ".text"] == "Hello, Ada."
    # The hook's allure.attach lands in the scenario's own result.
    [story] = result["attachments"]
    assert (story["name"], run.attachment(story["source"])) == ("What happened", "story of Ada signs in")
    assert run.result("Before any rule")["status"] == "passed"


def test_plain_allure_behave_gives_a_scenario_under_a_rule_no_result_and_crashes_on_its_table(
    tmp_path: Path,
) -> None:
    run = run_behave(tmp_path, {"sign_in.feature": RULE_FEATURE}, environment=ATTACHING, formatter=PLAIN)
    assert run.named("Ada signs in") == []
    assert "KeyError: None" in run.output


def test_an_outline_under_a_rule_has_a_result_for_each_row(tmp_path: Path) -> None:
    feature = """
Feature: Links
  Rule: Links have a top speed
    Scenario Outline: A link runs at <speed> Mbit/s
      Given the link runs at <speed> Mbit/s

      Examples:
        | speed |
        | 10    |
        | 200   |
"""
    run = run_behave(tmp_path, {"links.feature": feature})
    slow, fast = (
        run.result("A link runs at 10 Mbit/s -- @1.1 "),
        run.result("A link runs at 200 Mbit/s -- @1.2 "),
    )
    assert (slow["status"], fast["status"]) == ("passed", "failed")
    assert message(fast).strip() == "AssertionError: The link cannot run at 200 Mbit/s."
    assert slow["parameters"] == [{"name": "speed", "value": "10"}]
    assert fast["parameters"] == [{"name": "speed", "value": "200"}]
    assert slow["titlePath"][-1] == fast["titlePath"][-1] == "Links have a top speed"
    assert slow["historyId"] != fast["historyId"]
    assert slow["testCaseId"] == fast["testCaseId"], "an Outline's rows are one test case, as Allure means"


# -- Outlines: named and tagged Examples -------------------------------------------------------------

EXAMPLES_FEATURE = """
Feature: Links
  Scenario Outline: A link runs at <speed> Mbit/s
    Given the link runs at <speed> Mbit/s

    @fast
    Examples: Fast links
      | speed |
      | 10    |

    @slow
    Examples: Slow links
      | speed |
      | 10    |
"""


def test_named_and_tagged_examples_give_each_row_its_own_history_and_its_blocks_tags(tmp_path: Path) -> None:
    run = run_behave(tmp_path, {"links.feature": EXAMPLES_FEATURE})
    fast = run.result("A link runs at 10 Mbit/s -- @1.1 Fast links")
    slow = run.result("A link runs at 10 Mbit/s -- @2.1 Slow links")
    assert fast["historyId"] != slow["historyId"], "rows of two Examples blocks are two scenarios"
    assert (labels(fast, "tag"), labels(slow, "tag")) == (["fast"], ["slow"])
    assert fast["parameters"] == slow["parameters"] == [{"name": "speed", "value": "10"}]
    only_fast = run_behave(tmp_path, {"links.feature": EXAMPLES_FEATURE}, "--tags=@fast", project="only")
    assert [result["name"] for result in only_fast.results] == [fast["name"]]


# -- # language: fr ----------------------------------------------------------------------------------


def test_a_french_feature_with_a_rule_and_an_outline(tmp_path: Path) -> None:
    feature = """# language: fr
Fonctionnalité: Connexion
  Contexte:
    Soit tout va bien

  Règle: Les comptes
    Scénario: Un compte se connecte
      Quand tout va bien
      Alors ça échoue

    Plan du scénario: Plusieurs comptes <n>
      Soit tout va bien

      Exemples: Petits
        | n |
        | 1 |
"""
    run = run_behave(tmp_path, {"connexion.feature": feature})
    failed = run.result("Un compte se connecte")
    assert failed["status"] == "failed"
    assert "Ça n'a pas marché." in message(failed)
    assert steps(failed) == [
        ("Soit tout va bien", "passed"),
        ("Quand tout va bien", "passed"),
        ("Alors ça échoue", "failed"),
    ]
    assert failed["titlePath"][-2:] == ["Connexion", "Les comptes"]
    assert run.result("Plusieurs comptes 1 -- @1.1 Petits")["status"] == "passed"


# -- a Rule's tags -----------------------------------------------------------------------------------


def test_a_rules_tags_are_labels_of_its_scenarios(tmp_path: Path) -> None:
    feature = """
@allure.label.epic:Core_journeys
Feature: Sign-in
  Scenario: Outside the rule
    Given it passes

  @critical @allure.label.story:Roles @roles
  Rule: Accounts need a role
    Scenario: Inside the rule
      Given it passes

    @minor
    Scenario: Inside the rule, minor
      Given it passes
"""
    run = run_behave(tmp_path, {"sign_in.feature": feature})
    outside, inside = run.result("Outside the rule"), run.result("Inside the rule")
    minor = run.result("Inside the rule, minor")
    assert labels(inside, "epic") == labels(outside, "epic") == ["Core_journeys"]
    assert (labels(inside, "story"), labels(inside, "tag"), labels(inside, "severity")) == (
        ["Roles"],
        ["roles"],
        ["critical"],
    )
    assert labels(minor, "severity") == ["minor"], "the scenario's own severity wins over its Rule's"
    assert (labels(outside, "story"), labels(outside, "tag"), labels(outside, "severity")) == (
        [],
        [],
        ["normal"],
    )


# -- 2. same-named scenarios -------------------------------------------------------------------------

TWICE_FEATURE = """
Feature: Twins
  Scenario: Twice
    Given it passes

  Scenario: Twice
    Given it fails

  Rule: One
    Scenario: Twice
      Given it passes

  Rule: Two
    Scenario: Twice
      Given it passes
"""


def test_same_named_scenarios_have_results_of_their_own_and_a_failure_is_a_failure(tmp_path: Path) -> None:
    run = run_behave(tmp_path, {"twins.feature": TWICE_FEATURE})
    twice = run.named("Twice")
    assert sorted(result["status"] for result in twice) == ["failed", "passed", "passed", "passed"]
    assert len({result["historyId"] for result in twice}) == 4
    assert len({result["testCaseId"] for result in twice}) == 4
    [failed] = [result for result in twice if result["status"] == "failed"]
    assert message(failed).strip() == "AssertionError: It did not work."


def test_history_ids_stay_the_same_from_run_to_run_and_a_second_twin_leaves_the_first_ones_alone(
    tmp_path: Path,
) -> None:
    def ids(run: Run) -> dict[tuple[str, str], str]:
        return {(str(r["titlePath"][-1]), r["status"]): r["historyId"] for r in run.named("Twice")}

    first = ids(run_behave(tmp_path, {"twins.feature": TWICE_FEATURE}))
    again = ids(run_behave(tmp_path, {"twins.feature": TWICE_FEATURE}))
    assert first == again
    alone = TWICE_FEATURE.replace("  Scenario: Twice\n    Given it fails\n", "")
    without_twin = ids(run_behave(tmp_path, {"twins.feature": alone}))
    assert without_twin == {key: value for key, value in first.items() if key[1] == "passed"}


def test_a_history_id_is_the_file_the_rule_the_name_the_row_and_an_occurrence_only_when_repeated() -> None:
    feature = parse_feature(
        TWICE_FEATURE + EXAMPLES_FEATURE.split("Feature: Links")[1], filename="features/twins.feature"
    )
    scenarios = feature.walk_scenarios()
    ids = scenario_identities(feature)
    history = [ids[id(scenario)][0] for scenario in scenarios]
    path = "features/twins.feature"
    assert history == [
        identity(path, "", "Twice"),
        identity(path, "", "Twice", "occurrence 1"),
        identity(path, "One", "Twice"),
        identity(path, "Two", "Twice"),
        identity(path, "Two", "A link runs at <speed> Mbit/s", "Examples: Fast links", "speed=10"),
        identity(path, "Two", "A link runs at <speed> Mbit/s", "Examples: Slow links", "speed=10"),
    ]
    test_cases = [ids[id(scenario)][1] for scenario in scenarios]
    assert test_cases[:4] == [
        identity(path, "", "Twice"),
        identity(path, "", "Twice", "occurrence 1"),
        identity(path, "One", "Twice"),
        identity(path, "Two", "Twice"),
    ]
    assert test_cases[4] == test_cases[5] == identity(path, "Two", "A link runs at <speed> Mbit/s")


def test_plain_allure_behave_gives_same_named_scenarios_one_history_so_a_failure_looks_like_a_retry(
    tmp_path: Path,
) -> None:
    run = run_behave(tmp_path, {"twins.feature": TWICE_FEATURE.split("  Rule:")[0]}, formatter=PLAIN)
    assert sorted(result["status"] for result in run.named("Twice")) == ["failed", "passed"]
    assert len({result["historyId"] for result in run.named("Twice")}) == 1


# -- 3. hooks and cleanups -----------------------------------------------------------------------------

HOOKS = """
import allure
from behave.fixture import fixture, use_fixture


@fixture
def broken_cleanup(context):
    yield
    raise RuntimeError("cleanup broke")


def before_tag(context, tag):
    if tag == "fixture.broken":
        raise LookupError("no such fixture")
    if tag == "fixture.cleanup":
        use_fixture(broken_cleanup, context)


def before_scenario(context, scenario):
    if "before_breaks" in scenario.tags:
        raise RuntimeError("set-up broke")


def after_scenario(context, scenario):
    allure.attach(f"story of {scenario.name}", name="What happened")
    if "after_breaks" in scenario.tags:
        raise RuntimeError("tear-down broke")
    if "after_asserts" in scenario.tags:
        raise AssertionError("The client left work running.")
"""

HOOKS_FEATURE = """
Feature: Hooks
  @after_breaks
  Scenario: after_scenario raises
    Given it passes

  @before_breaks
  Scenario: before_scenario raises
    Given it passes

  @after_asserts
  Scenario: after_scenario finds a leak
    Given it passes

  @fixture.broken
  Scenario: a fixture tag fails
    Given it passes

  @fixture.cleanup
  Scenario: a fixture's cleanup fails
    Given it passes

  @after_breaks
  Scenario: a step fails and after_scenario raises
    Given it fails

  Rule: Hooks count under a Rule too
    @after_breaks
    Scenario: after_scenario raises under a rule
      Given it passes
"""


@pytest.fixture(scope="module")
def hooks_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_behave(tmp_path_factory.mktemp("hooks"), {"hooks.feature": HOOKS_FEATURE}, environment=HOOKS)


@pytest.mark.parametrize(
    ("scenario", "status", "said", "step_status"),
    [
        (
            "after_scenario raises",
            "broken",
            "HOOK-ERROR in after_scenario: RuntimeError: tear-down broke",
            "passed",
        ),
        (
            "before_scenario raises",
            "broken",
            "HOOK-ERROR in before_scenario: RuntimeError: set-up broke",
            "skipped",
        ),
        (
            "after_scenario finds a leak",
            "failed",
            "HOOK-ERROR in after_scenario: AssertionError: The client left work running.",
            "passed",
        ),
        (
            "a fixture tag fails",
            "broken",
            "HOOK-ERROR in before_tag(tag=fixture.broken): LookupError: no such fixture",
            "skipped",
        ),
        (
            "a fixture's cleanup fails",
            "broken",
            "CLEANUP-ERROR in cleanup_fixture: RuntimeError: cleanup broke",
            "passed",
        ),
        (
            "a step fails and after_scenario raises",
            "failed",
            "AssertionError: It did not work.\nHOOK-ERROR in after_scenario: RuntimeError: tear-down broke",
            "failed",
        ),
        (
            "after_scenario raises under a rule",
            "broken",
            "HOOK-ERROR in after_scenario: RuntimeError: tear-down broke",
            "passed",
        ),
    ],
)
def test_a_hook_or_cleanup_that_fails_fails_the_scenario_and_says_which(
    hooks_run: Run, scenario: str, status: str, said: str, step_status: str
) -> None:
    result = hooks_run.result(scenario)
    assert (result["status"], message(result)) == (status, said)
    assert [status for _, status in steps(result)] == [step_status]
    [story] = result["attachments"]
    assert hooks_run.attachment(story["source"]) == f"story of {scenario}"


def test_plain_allure_behave_reports_a_failed_hook_as_passed_or_skipped(tmp_path: Path) -> None:
    run = run_behave(tmp_path, {"hooks.feature": HOOKS_FEATURE}, environment=HOOKS, formatter=PLAIN)
    assert run.result("after_scenario raises")["status"] == "passed"
    assert run.result("after_scenario finds a leak")["status"] == "passed"
    assert run.result("before_scenario raises")["status"] == "skipped"
    assert run.result("a fixture's cleanup fails")["status"] == "passed"


# -- undefined steps ---------------------------------------------------------------------------------


def test_an_undefined_step_is_broken_and_says_the_scenario_is_written_wrong(tmp_path: Path) -> None:
    feature = """
Feature: Typos
  Scenario: A typo
    Given it passess
    Then it passes
"""
    run = run_behave(tmp_path, {"typos.feature": feature})
    result = run.result("A typo")
    expected = (
        'The scenario is written wrong: no step reads "Given it passess". The nearest known phrasings: '
        '"Given it passes"'
    )
    assert result["status"] == "broken"
    assert message(result).startswith(expected), message(result)
    assert "You can implement step definitions" not in json.dumps(result)
    assert steps(result) == [("Given it passess", "broken"), ("Then it passes", "skipped")]
    assert message(result["steps"][0]) == message(result)


# -- 4. scenarios behave never ran -------------------------------------------------------------------

INTERRUPTED = {
    "a.feature": """
Feature: First
  Scenario: Before the interrupt
    Given it passes

  Scenario: Interrupted
    Given it passes
    When the run is interrupted
    Then it passes

  Scenario: After the interrupt
    Given it passes
""",
    "b.feature": """
Feature: Second
  Scenario: In the next feature
    Given it passes

  @excluded
  Scenario: Not selected
    Given it passes
""",
}


def test_an_interrupted_runs_remaining_scenarios_are_skipped_and_say_why(tmp_path: Path) -> None:
    run = run_behave(tmp_path, INTERRUPTED, "--tags=~@excluded")
    assert "ABORTED" in run.output
    assert run.result("Before the interrupt")["status"] == "passed"
    interrupted = run.result("Interrupted")
    assert interrupted["status"] == "broken"
    assert message(interrupted) == (
        'The run was interrupted (Ctrl-C) during this step: "When the run is interrupted".'
    )
    for name in ("After the interrupt", "In the next feature"):
        result = run.result(name)
        assert (result["status"], message(result)) == ("skipped", "Not run: the run was interrupted (Ctrl-C)")
        assert steps(result) == [("Given it passes", "skipped")]
    assert run.named("Not selected") == [], "a scenario the tags leave out has no result"


def test_plain_allure_behave_leaves_out_the_scenarios_an_interrupt_kept_from_running(tmp_path: Path) -> None:
    run = run_behave(tmp_path, INTERRUPTED, "--tags=~@excluded", formatter=PLAIN)
    assert sorted(result["name"] for result in run.results) == ["Before the interrupt", "Interrupted"]


def test_after_context_abort_the_scenarios_not_run_are_skipped_and_say_why(tmp_path: Path) -> None:
    aborted = {
        name: text.replace("the run is interrupted", "the run is aborted")
        for name, text in INTERRUPTED.items()
    }
    run = run_behave(tmp_path, aborted, "--tags=~@excluded")
    assert run.result("Interrupted")["status"] == "passed", "behave lets the scenario that aborts finish"
    expected = "Not run: the run was aborted before this scenario (context.abort() or a hook stopped it)"
    for name in ("After the interrupt", "In the next feature"):
        result = run.result(name)
        assert (result["status"], message(result)) == ("skipped", expected)


def test_a_failed_before_feature_or_before_rule_skips_its_scenarios_and_says_why(tmp_path: Path) -> None:
    environment = """
def before_feature(context, feature):
    if "set_up_breaks" in feature.tags:
        raise RuntimeError("feature set-up broke")


def before_rule(context, rule):
    if "set_up_breaks" in rule.tags:
        raise RuntimeError("rule set-up broke")
"""
    features = {
        "a.feature": """
@set_up_breaks
Feature: Broken set-up
  Scenario: Never run
    Given it passes
""",
        "b.feature": """
Feature: Sound set-up
  Scenario: Run
    Given it passes

  @set_up_breaks
  Rule: Broken rule
    Scenario: Never run under the rule
      Given it passes
""",
    }
    run = run_behave(tmp_path, features, environment=environment)
    assert run.returncode != 0
    assert run.result("Run")["status"] == "passed"
    feature_skipped, rule_skipped = run.result("Never run"), run.result("Never run under the rule")
    assert (feature_skipped["status"], message(feature_skipped)) == (
        "skipped",
        "Not run: before_feature failed: RuntimeError: feature set-up broke",
    )
    assert (rule_skipped["status"], message(rule_skipped)) == (
        "skipped",
        "Not run: before_rule failed: RuntimeError: rule set-up broke",
    )
    plain = run_behave(
        tmp_path, {"a.feature": features["a.feature"]}, environment=environment, formatter=PLAIN
    )
    assert plain.named("Never run") == []
