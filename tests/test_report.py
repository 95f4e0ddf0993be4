"""The report and the acceptance stage as their users get them: the main command run on a deliberately
failing feature, what it prints and exits with, the results and HTML it leaves, and that HTML opened in
a real browser. Each run happens in a scratch copy of the project."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.report.allure_report import HISTORY, build
from support.report.allure_results import CATEGORIES, category_of
from tests.scratch import copy_project
from tools.report_browser import inspect_report

FAILING = "Expecting more messages than the server ever sent"
PASSING = "Pushed messages arrive in order"
NEVER_ARRIVED = "messages 21, 22, 23, 24, 25 never arrived"
# tests/deliberate_failure is tagged with this epic and story; its feature is the feature's name.
GROUPS = ["Self test", "A deliberately failing scenario", "Deliberate failure"]
# Makes every server fail to bind, as on a machine with no free ports: an environment problem.
NO_PORTS = """
import asyncio.base_events

async def _refuse(self, *args, **kwargs):
    raise OSError(98, "Address already in use (simulated by the self-test)")

asyncio.base_events.BaseEventLoop.create_server = _refuse
"""


@dataclass(frozen=True)
class Run:
    project: Path
    status: int
    output: str

    @property
    def results(self) -> Path:
        return self.project / "reports" / "allure-results"

    @property
    def report(self) -> Path:
        return self.project / "reports" / "allure-report"

    @property
    def single_file(self) -> Path:
        return self.project / "reports" / "allure-report.html"

    def result(self, name: str) -> dict[str, Any]:
        for path in self.results.glob("*-result.json"):
            result = json.loads(path.read_text(encoding="utf-8"))
            if result["name"] == name:
                return result
        raise AssertionError(f"no result for {name!r} in {self.results}")

    def attachment(self, name: str, scenario: str = FAILING) -> str:
        found = [a for a in _attachments(self.result(scenario)) if a["name"] == name]
        assert len(found) == 1, f"expected one {name!r} attachment, found {len(found)}"
        return (self.results / found[0]["source"]).read_text(encoding="utf-8")


def _attachments(item: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from item.get("attachments", [])
    for step in item.get("steps", []):
        yield from _attachments(step)


def acceptance(project: Path, *args: str, environ: dict[str, str] | None = None) -> Run:
    finished = subprocess.run(
        ["bin/acceptance", "--format=progress", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **(environ or {})},
    )
    return Run(project, finished.returncode, finished.stdout + finished.stderr)


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    project = copy_project(tmp_path_factory.mktemp("failing"))
    return acceptance(project, "tests/deliberate_failure", "-D", "seed=7", "-D", "wait_timeout_ms=500")


# -- the acceptance stage --------------------------------------------------------------------------


def test_a_product_defect_exits_1_and_the_closing_lines_say_what_failed(failing_run: Run) -> None:
    assert failing_run.status == 1, failing_run.output[-3000:]
    lines = failing_run.output.splitlines()
    assert "acceptance: 1 passed, 1 failed" in lines
    [named] = [line for line in lines if line.startswith("  Product defects: ")]
    assert FAILING in named and NEVER_ARRIVED in named
    assert "HTML report:    reports/allure-report/index.html" in lines
    assert "One-file copy:  reports/allure-report.html (opens with a double click)" in lines


def test_the_failed_scenario_is_in_a_rerun_file_that_replays_it_with_the_same_seed(failing_run: Run) -> None:
    rerun = (failing_run.project / "reports" / "rerun.txt").read_text(encoding="utf-8")
    assert [line for line in rerun.splitlines() if line and not line.startswith("#")] == [
        "tests/deliberate_failure/deliberate_failure.feature:17"
    ]
    assert "bin/acceptance @reports/rerun.txt -D seed=7" in failing_run.output.splitlines()[-1]


def test_junit_xml_records_one_failure_for_the_ci_test_tab(failing_run: Run) -> None:
    [junit] = (failing_run.project / "reports" / "junit").glob("*.xml")
    suite = ElementTree.parse(junit).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")


# -- the results ------------------------------------------------------------------------------------


def test_the_failure_message_is_plain_english_not_a_python_exception(failing_run: Run) -> None:
    result = failing_run.result(FAILING)
    message = result["statusDetails"]["message"]
    assert result["status"] == "failed"
    assert message.startswith("Waited 0.5 s for all 25 messages on 'prices' to arrive")
    assert NEVER_ARRIVED in message
    step_messages = [step["statusDetails"]["message"] for step in result["steps"] if "statusDetails" in step]
    assert step_messages == [message]


def test_the_failed_scenario_carries_a_timeline_picture(failing_run: Run) -> None:
    picture = ElementTree.fromstring(failing_run.attachment("Connection timeline"))
    assert picture.tag == "{http://www.w3.org/2000/svg}svg"
    text = " ".join(picture.itertext())
    assert FAILING in text and "ready" in text and "20 received" in text


def test_the_transcript_lists_every_pushed_message_with_its_sequence_number(failing_run: Run) -> None:
    table = failing_run.attachment("Message transcript")
    for seq in range(1, 21):
        assert f"<td>message</td><td>{seq}</td><td>prices</td>" in table
    assert "<td>message</td><td>21</td>" not in table


def test_the_failed_scenario_carries_its_context_in_words_and_the_passing_one_does_not(
    failing_run: Run,
) -> None:
    words = failing_run.attachment("Context")
    assert "context.world.clients" in words and "the client: ready, session " in words
    assert "context.world.secrets" in words and "fp:" in words and "key_" not in words
    passed = [a["name"] for a in _attachments(failing_run.result(PASSING))]
    assert "Context" not in passed


def test_no_attachment_shows_the_api_key_or_a_token(failing_run: Run) -> None:
    for scenario in (FAILING, PASSING):
        for name in ("Connection timeline", "Message transcript", "What happened"):
            text = failing_run.attachment(name, scenario)
            assert "key_" not in text and "eyJ" not in text, f"{name} of {scenario!r} shows a secret"


def test_an_issue_tag_becomes_a_link_built_from_the_configured_pattern(failing_run: Run) -> None:
    links = failing_run.result(FAILING)["links"]
    assert [(link["type"], link["url"]) for link in links] == [
        ("issue", "https://issues.example.com/browse/RT-42")
    ]


def test_the_run_writes_its_environment_executor_and_categories(failing_run: Run) -> None:
    properties = (failing_run.results / "environment.properties").read_text(encoding="utf-8")
    assert "seed=7" in properties.splitlines()
    assert properties.startswith("target=reference client")
    executor = json.loads((failing_run.results / "executor.json").read_text(encoding="utf-8"))
    assert executor["name"] in ("local", "CI", "GitHub Actions", "GitLab CI", "Jenkins")


# -- the HTML report --------------------------------------------------------------------------------


def test_the_report_files_the_failure_under_product_defects(failing_run: Run) -> None:
    for report in (failing_run.report, failing_run.single_file):
        assert report_categories(report) == {"Product defects": [FAILING]}, report


def test_each_category_gets_the_failures_the_python_rules_put_in_it(tmp_path: Path) -> None:
    # Allure matches categories.json's patterns in JavaScript; the exit code comes from the same rules in
    # Python. A message of each kind, and some near misses, must land in the same place for both.
    samples = {
        "set-up refused": ("broken", "Environment problem: the mock services could not start (gateway)"),
        "set-up refused, told later": ("broken", "While tidying up: Environment problem: ports"),
        "written wrong": ("broken", "The scenario is written wrong: no step reads 'Given a blue moon'."),
        "interrupted": ("broken", "The run was interrupted (Ctrl-C) while this scenario ran."),
        "hook interrupted": ("broken", "A hook was interrupted (Ctrl-C) and the run stopped there."),
        "interrupted, told later": ("broken", "Cleaning up: The run was interrupted (Ctrl-C)."),
        "suite error": ("broken", "The test suite itself hit an error (KeyError): 'channel'"),
        "suite error over lines": ("broken", "The test suite itself hit an error\n(KeyError): 'channel'"),
        "product defect": ("failed", "Waited 5 s for the client to be ready, but it did not happen."),
        "product defect over lines": ("failed", "Expected 25 messages;\ninstead 20 arrived."),
        "passed": ("passed", ""),
    }
    expected: dict[str, list[str]] = {}
    for name, (status, message) in samples.items():
        category = category_of(status, message)
        if category is not None:
            expected.setdefault(category.name, []).append(name)
    missing = [category.name for category in CATEGORIES if category.name not in expected]
    assert not missing, f"add a sample message for each new category to this test: {missing}"
    results = tmp_path / "results"
    results.mkdir()
    (results / "categories.json").write_text(
        json.dumps([c.as_allure() for c in CATEGORIES]), encoding="utf-8"
    )
    for name, (status, message) in samples.items():
        result = {"uuid": name, "historyId": name, "name": name, "fullName": name, "status": status}
        result["statusDetails"] = {"message": message}
        (results / f"{name}-result.json").write_text(json.dumps(result), encoding="utf-8")
    assert build(results, tmp_path / "report") == 0
    categories = report_categories(tmp_path / "report")
    assert {name: sorted(tests) for name, tests in categories.items()} == {
        name: sorted(tests) for name, tests in expected.items()
    }
    assert list(categories) == [category.name for category in CATEGORIES if category.name in categories]


@pytest.mark.parametrize("opened", ["served", "single file"])
def test_the_report_opens_in_a_real_browser_and_shows_what_a_reader_needs(
    failing_run: Run, opened: str
) -> None:
    view = inspect_report(failing_run.report if opened == "served" else failing_run.single_file, FAILING)
    assert sorted(view.scenarios) == sorted([FAILING, PASSING])
    assert view.groups == {FAILING: GROUPS, PASSING: GROUPS}, (
        "scenarios are not grouped by epic, feature, story"
    )
    assert view.categories == {"Product defects": [FAILING]}
    assert view.metadata.get("seed") == "7", f"the environment's seed is not shown: {view.metadata}"
    assert view.metadata.get("target", "").startswith("reference client"), view.metadata
    executor = json.loads((failing_run.results / "executor.json").read_text(encoding="utf-8"))
    assert view.metadata.get("executor", "").startswith(executor["name"]), f"no executor: {view.metadata}"
    shown = ["Connection timeline", "Message transcript", "What happened", "Log", "Context"]
    assert view.attachments == shown
    assert view.timeline_rendered, "the timeline attachment did not render as a picture"
    assert NEVER_ARRIVED in view.status_message and "AssertionError" not in view.status_message


def test_the_report_keeps_the_previous_runs_in_its_history(failing_run: Run, tmp_path: Path) -> None:
    results, report = tmp_path / "results", tmp_path / "report"
    for run in range(1, 4):
        shutil.rmtree(results, ignore_errors=True)
        shutil.copytree(failing_run.results, results)
        assert build(results, report) == 0
        kept = len((report / HISTORY).read_text(encoding="utf-8").splitlines())
        assert kept == run, f"{report / HISTORY} keeps {kept} runs after {run} builds"
        for copy in (report, tmp_path / "report.html"):
            trend = status_dynamics(copy)
            assert len(trend) == run, f"{copy} shows {len(trend)} runs in its trend, not {run}"
    assert trend[0]["statistic"] == {**trend[0]["statistic"], "failed": 1, "passed": 1}


def test_without_node_the_report_is_skipped_in_one_line_and_the_results_stay(
    failing_run: Run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results"
    shutil.copytree(failing_run.results, results)
    assert build(results, tmp_path / "report", cli=tmp_path / "no-such-allure") == 0
    said = capsys.readouterr().out.strip()
    assert "\n" not in said and "so no HTML report was built" in said
    assert not (tmp_path / "report").exists() and not (tmp_path / "report.html").exists()
    assert any(results.glob("*-result.json"))


def test_with_a_node_too_old_for_allure_3_the_report_is_skipped_in_one_line(
    failing_run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old_node = tmp_path / "bin" / "node"
    old_node.parent.mkdir()
    old_node.write_text("#!/bin/sh\necho v18.19.0\n", encoding="utf-8")
    old_node.chmod(0o755)
    monkeypatch.setenv("PATH", f"{old_node.parent}{os.pathsep}{os.environ['PATH']}")
    results = tmp_path / "results"
    shutil.copytree(failing_run.results, results)
    assert build(results, tmp_path / "report") == 0
    said = capsys.readouterr().out.strip()
    assert said.startswith("report: Node.js v18.19.0 is too old") and "so no HTML report was built" in said
    assert "\n" not in said and not (tmp_path / "report").exists()


# -- an environment that fails ---------------------------------------------------------------------


def test_an_environment_failure_exits_3_and_says_the_product_was_not_at_fault(tmp_path: Path) -> None:
    broken = tmp_path / "no-free-ports"
    broken.mkdir()
    (broken / "sitecustomize.py").write_text(NO_PORTS, encoding="utf-8")
    project = copy_project(tmp_path / "project")
    run = acceptance(project, "--tags=@smoke", environ={"PYTHONPATH": str(broken)})
    assert run.status == 3, run.output[-3000:]
    assert "acceptance: the ENVIRONMENT failed, not the product" in run.output
    [outcome] = [
        line for line in run.output.splitlines() if line.startswith("acceptance: no scenario ran — ")
    ]
    assert "the run's set-up failed" in outcome
    assert "the mock services could not start (auth service)" in outcome
    assert list(report_categories(run.report)) == ["Environment problems"]


# -- reading a built report -------------------------------------------------------------------------


def report_widget(report: Path, name: str) -> Any:
    """One of the report's data files, from a report folder or from inside a single-file report."""
    if report.is_dir():
        return json.loads((report / "widgets" / name).read_text(encoding="utf-8"))
    embedded = re.search(rf'd\("widgets/{re.escape(name)}","([^"]*)"\)', report.read_text(encoding="utf-8"))
    assert embedded is not None, f"no widgets/{name} in {report}"
    return json.loads(base64.b64decode(embedded.group(1)))


def report_categories(report: Path) -> dict[str, list[str]]:
    """Each category the report lists, in its order, with the names of the results under it."""
    tree = report_widget(report, "categories.json")
    nodes = tree["nodes"]

    def results_under(node_id: str) -> list[str]:
        node = nodes[node_id]
        if node["type"] == "tr":
            return [node["name"]]
        return [name for child in node.get("childrenIds", []) for name in results_under(child)]

    return {nodes[root]["name"]: results_under(root) for root in tree["roots"]}


def status_dynamics(report: Path) -> list[dict[str, Any]]:
    """The points of the report's trend chart: one per run, the oldest first."""
    charts = report_widget(report, "charts.json")["general"].values()
    trends = [chart["data"] for chart in charts if chart["type"] == "statusDynamics"]
    assert len(trends) == 1, f"{report} has {len(trends)} trend charts (Status dynamics), not one"
    return list(trends[0])
