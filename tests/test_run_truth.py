"""One truth, five views: for every way a scenario or a run can end, behave's summary, the closing lines,
the exit code, JUnit and the Allure report (results and HTML summary) say the same.

Each row runs ``bin/acceptance`` on one tiny feature in a scratch copy of the project, with the suite's
real hooks, services and reports. The scratch copy adds a few steps of its own (a check that does not hold,
a step that breaks, one that waits for Ctrl-C) and wraps the suite's hooks so that a row can make any hook
fail (``TRUTH_BREAK=before_scenario``…). The table at the end of the file is the contract; the note of the
change that brought it lists what each view showed before.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.run_views import Counts, allure_results, behave_summary, closing_lines, html_summary, junit
from tests.scratch import copy_project

STEPS = """
import os
from pathlib import Path

from behave import step


@step("all is well")
def all_is_well(context):
    pass


@step("the stages are")
def the_stages_are(context):
    assert [row["stage"] for row in context.table]


@step("the note says")
def the_note_says(context):
    assert context.text


@step("a check does not hold")
def a_check_does_not_hold(context):
    raise AssertionError("Expected the auth service to be asked twice, but it was asked once.")


@step("a step breaks")
def a_step_breaks(context):
    raise RuntimeError("the step broke on purpose")


@step("the run is stopped with Ctrl-C")
def wait_for_ctrl_c(context):
    Path("reports/waiting-for-ctrl-c").touch()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.01)
    raise AssertionError("nobody pressed Ctrl-C within 60 s")


import time  # noqa: E402
"""

ENVIRONMENT = """
import os

from support.harness import hooks
from support.harness.problems import EnvironmentProblem

BREAK = os.environ.get("TRUTH_BREAK", "")


def _maybe_break(where):
    if BREAK == where:
        raise RuntimeError(f"{where} broke on purpose")
    if BREAK == where + ":environment":
        raise EnvironmentProblem(f"no free ports in {where} (on purpose)")


def before_all(context):
    _maybe_break("before_all")
    hooks.before_all(context)


def before_feature(context, feature):
    _maybe_break("before_feature")


def before_tag(context, tag):
    hooks.before_tag(context, tag)


def before_scenario(context, scenario):
    hooks.before_scenario(context, scenario)
    _maybe_break("before_scenario")


def after_scenario(context, scenario):
    hooks.after_scenario(context, scenario)
    _maybe_break("after_scenario")


def after_all(context):
    hooks.after_all(context)
    _maybe_break("after_all")
"""

FEATURES = {
    "passed": "Scenario: All is well\n    Given all is well\n",
    "failed": "Scenario: A check does not hold\n    Given all is well\n    Then a check does not hold\n",
    "broken": "Scenario: A step breaks\n    Given all is well\n    When a step breaks\n",
    "two": "Scenario: All is well\n    Given all is well\n\n  Scenario: Also well\n    Given all is well\n",
    "undefined": "Scenario: A step nobody wrote\n    Given all is well\n    When the moon turns blue\n",
    "fixture": "@fixture.no_such_fixture\n  Scenario: An unknown fixture\n    Given all is well\n",
    "tagged": (
        "@wanted\n  Scenario: Wanted\n    Given all is well\n\n"
        "  Scenario: Not wanted\n    Given all is well\n"
    ),
    "interrupted": (
        "Scenario: Before the interrupt\n    Given all is well\n\n"
        "  Scenario: Interrupted\n    Given the run is stopped with Ctrl-C\n\n"
        "  Scenario: After the interrupt\n    Given all is well\n"
    ),
    "rule": (
        "Background:\n    Given all is well\n\n"
        "  Rule: Connecting ends with a session\n\n"
        "    Background:\n      Given all is well\n\n"
        "    Scenario: The client gets a session\n"
        "      Given the stages are\n        | stage |\n        | ready |\n"
        '      And the note says\n        """\n        a doc string\n        """\n'
    ),
    "twins": (
        "Scenario: The client signs in\n    Given all is well\n    Then a check does not hold\n\n"
        "  Scenario: The client signs in\n    Given all is well\n"
    ),
    "outline": (
        "Scenario Outline: Row <n>\n    Given all is well\n\n    Examples:\n      | n |\n      | 1 |\n"
        "      | 2 |\n\n  Scenario: After the outline\n    Given all is well\n"
    ),
    "unread": "Scenario: A table nobody reads\n    Given all is well\n      | stage |\n      | ready |\n",
    "mistyped": (
        "Scenario: A fault worded wrong\n    Given the realtime services are running\n"
        "    When the network suffers a brief blip of 2 s\n"
    ),
    "unparsable": "Scenario: Nothing\n    Given all is well\n  Oops: this is not Gherkin\n",
}


@dataclass(frozen=True)
class Row:
    """One way to end, and what every view must say of it."""

    way: str
    feature: str
    expected: Counts | str  # the counts, or the closing line's reason why no scenario ran
    exit_code: int
    args: tuple[str, ...] = ()
    break_in: str = ""
    problems: int = 0
    interrupt: bool = False
    category: str = ""  # the category the closing lines file the failure under


ROWS = [
    Row("passed", "two", Counts(2, 0, 0), 0),
    Row("failed", "failed", Counts(0, 1, 0), 1, category="Product defects"),
    Row("broken by a step error", "broken", Counts(0, 1, 0), 1, category="Suite or harness defects"),
    Row("a scenario under a Rule, with a data table and a doc string", "rule", Counts(1, 0, 0), 0),
    Row("two scenarios of one name, one failing", "twins", Counts(1, 1, 0), 1, category="Product defects"),
    Row("broken in before_all", "outline", "the run's set-up failed", 1, break_in="before_all", problems=1),
    Row(
        "the environment failed in before_all",
        "passed",
        "the run's set-up failed",
        3,
        break_in="before_all:environment",
        problems=1,
    ),
    Row("broken in before_feature", "two", Counts(0, 0, 2), 1, break_in="before_feature", problems=1),
    Row(
        "broken in before_tag (an unknown fixture tag)",
        "fixture",
        Counts(0, 1, 0),
        1,
        category="Scenarios written wrong",
    ),
    Row("broken in before_scenario", "passed", Counts(0, 1, 0), 1, break_in="before_scenario"),
    Row("broken in after_scenario", "passed", Counts(0, 1, 0), 1, break_in="after_scenario"),
    Row("broken in after_all", "two", Counts(2, 0, 0), 1, break_in="after_all", problems=1),
    Row("an undefined step", "undefined", Counts(0, 1, 0), 1, category="Scenarios written wrong"),
    Row("a fault worded wrong", "mistyped", Counts(0, 1, 0), 1, category="Scenarios written wrong"),
    Row(
        "a table given to a step that reads none",
        "unread",
        Counts(0, 1, 0),
        1,
        category="Scenarios written wrong",
    ),
    Row("deselected by tags", "tagged", Counts(1, 0, 0), 0, args=("--tags=@wanted",)),
    Row(
        "nothing matched the tags",
        "two",
        "none matched the selection (2 deselected)",
        2,
        args=("--tags=@none",),
    ),
    Row("a Gherkin parse error", "unparsable", "a feature file could not be read", 2),
    Row(
        "a feature file that does not exist",
        "nosuch",
        "a feature cannot be read: truth/nosuch.feature does not exist",
        2,
    ),
    Row("behave refused its arguments", "passed", "behave refused to start", 2, args=("--no-such-option",)),
    Row("a bad setting", "passed", "a setting is wrong", 2, args=("-D", "retry_limit=lots"), problems=1),
    # behave counts the scenario it was in the middle of as an error: it began and did not finish.
    Row("interrupted by Ctrl-C", "interrupted", Counts(1, 1, 1), 130, interrupt=True, category="Interrupted"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = copy_project(tmp_path_factory.mktemp("truth"))
    (project / "steps" / "truth_table_steps.py").write_text(STEPS, encoding="utf-8")
    (project / "environment.py").write_text(ENVIRONMENT, encoding="utf-8")
    rows = project / "truth"
    rows.mkdir()
    for name, body in FEATURES.items():
        (rows / f"{name}.feature").write_text(f"Feature: Truth table, {name}\n\n  {body}", encoding="utf-8")
    return project


def run_row(project: Path, row: Row, feature: str | None = "") -> tuple[int, str]:
    """Run ``bin/acceptance`` on the row's feature (or on ``feature``; None: on the row's arguments alone)."""
    where = [] if feature is None else [f"truth/{feature or row.feature}.feature"]
    command = ["bin/acceptance", "--format=plain", *where, *row.args]
    environ = {**os.environ, "TRUTH_BREAK": row.break_in, "PYTHONUNBUFFERED": "1"}
    waiting = project / "reports" / "waiting-for-ctrl-c"
    waiting.unlink(missing_ok=True)
    process = subprocess.Popen(
        command, cwd=project, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if row.interrupt:
        deadline = time.monotonic() + 60
        while not waiting.exists():
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline, "the run never reached the scenario to interrupt"
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)  # as a terminal's Ctrl-C reaches the command
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


@pytest.mark.parametrize("row", ROWS, ids=[row.way for row in ROWS])
def test_every_view_of_the_run_says_the_same(project: Path, row: Row) -> None:
    status, output = run_row(project, row)
    reports = project / "reports"
    said = f"\n--- the run said:\n{output[-3000:]}"
    assert status == row.exit_code, f"exit code {status}, expected {row.exit_code}{said}"
    closing = closing_lines(output)
    if isinstance(row.expected, str):
        assert isinstance(closing, str) and row.expected in closing, f"closing line: {closing}{said}"
        assert not any((reports / "allure-results").glob("*-result.json")) or row.problems, said
        features = re.search(r"^(\d+) features? passed, (\d+) failed", output, re.MULTILINE)
        assert features is None or features.groups() == ("0", "0"), f"behave's summary: {features[0]}{said}"
        if row.exit_code == 2:
            assert not (reports / "allure-report" / "index.html").exists(), (
                f"a refused run built a report{said}"
            )
        return
    if row.feature == "two" and not row.args:
        assert (reports / "junit" / "TESTS-truth.two.xml").exists(), "JUnit is not named after its feature"
    expected = row.expected
    with_problems = Counts(expected.passed, expected.failed, expected.not_run, row.problems)
    views: dict[str, object] = {
        "the closing lines": closing,
        "behave's summary": behave_summary(output),
        "JUnit": junit(reports / "junit"),
        "the Allure results": allure_results(reports / "allure-results"),
    }
    wanted: dict[str, object] = {
        "the closing lines": expected,
        "behave's summary": expected,
        "JUnit": with_problems,
        "the Allure results": with_problems,
    }
    html = html_summary(reports / "allure-report")
    if html is not None:
        views["the HTML report's summary"] = Counts(
            html["passed"], html["failed"] + html["broken"], html["skipped"]
        )
        wanted["the HTML report's summary"] = Counts(
            expected.passed, expected.failed + row.problems, expected.not_run
        )
    if row.category:
        views["the closing lines' category"] = any(
            line.startswith(f"  {row.category}: ") for line in output.splitlines()
        )
        wanted["the closing lines' category"] = True
    wrong = [
        f"{view} said {views[view]}, expected {wanted[view]}" for view in views if views[view] != wanted[view]
    ]
    assert not wrong, "; ".join(wrong) + said


def test_a_refused_run_after_a_green_one_shows_nothing_of_the_green_run(project: Path) -> None:
    """The issue's reproduction: a passing run, then one with an unknown option, then one with a bad
    setting. Neither refused run may show the first run's counts, results, JUnit or report."""
    green = next(row for row in ROWS if row.way == "passed")
    status, _ = run_row(project, green)
    assert status == 0
    reports = project / "reports"
    assert (reports / "allure-report" / "index.html").exists(), "the green run built no report to begin with"
    for way in ("behave refused its arguments", "a bad setting"):
        status, output = run_row(project, next(row for row in ROWS if row.way == way))
        assert status == 2, output[-2000:]
        assert "passed" not in output.split("\n\n")[-1], (
            f"the closing lines speak of passes:\n{output[-1000:]}"
        )
        assert not (reports / "allure-report" / "index.html").exists(), (
            "an HTML report is where this refused run's would be"
        )
        stale = [
            path.name
            for path in (reports / "junit").glob("*.xml")
            if "Truth table, two" in path.read_text(encoding="utf-8")
        ]
        assert not stale, f"JUnit still holds the green run's suites: {stale}"
        assert not (reports / "allure-report.html").exists()
        html = html_summary(reports / "allure-report")
        assert html is None or html["passed"] == 0, f"the HTML report shows the green run's passes: {html}"


def test_the_rerun_file_replays_exactly_the_scenarios_that_did_not_pass(project: Path) -> None:
    status, output = run_row(project, Row("two of three fail", "tagged", Counts(), 1, args=()))
    assert status == 0, output[-2000:]  # both pass: nothing to run again
    assert not (project / "reports" / "rerun.txt").exists()
    status, output = run_row(project, next(row for row in ROWS if row.way == "failed"))
    assert status == 1
    said = next(line for line in output.splitlines() if line.startswith("Run just the scenarios"))
    replay = said.split(": ", 1)[1].split()[1:]  # after "bin/acceptance"
    status, output = run_row(project, Row("replay", "failed", Counts(), 1, args=tuple(replay)), feature=None)
    assert status == 1, output[-2000:]
    assert closing_lines(output) == Counts(0, 1, 0), output[-2000:]
    assert (project / "reports" / "rerun.txt").exists(), "the replay's own failure is not in its rerun file"


def test_a_run_whose_set_up_failed_counts_only_the_scenarios_it_selected(project: Path) -> None:
    row = Row(
        "bad setting, by tags",
        "tagged",
        "a setting is wrong",
        2,
        args=("-D", "retry_limit=lots", "--tags=@wanted"),
    )
    status, output = run_row(project, row)
    assert status == 2, output[-2000:]
    record = json.loads((project / "reports" / "run.json").read_text(encoding="utf-8"))
    assert ([s["name"] for s in record["scenarios"]], record["deselected"]) == (["Wanted"], 1)
    assert junit(project / "reports" / "junit").not_run == 1


def test_a_path_that_names_no_feature_file_is_a_refusal(project: Path) -> None:
    row = Row("not a feature", "", "", 2, args=("truth/nosuch.txt",))
    status, output = run_row(project, row, feature=None)
    assert status == 2, output[-2000:]
    assert closing_lines(output) == (
        "a feature cannot be read: truth/nosuch.txt is neither a .feature file nor a folder"
    ), output[-2000:]
