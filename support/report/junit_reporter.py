"""JUnit XML for CI, from the same verdicts as every other view of the run.

behave 1.3.3's JUnit reporter writes a scenario that never ran (``untested``: the run was interrupted or
its set-up failed) as a test case with no failure, error or skip in it, which CI counts as a pass, and it
has no place for an error outside any scenario. This reporter, put in its place by
:class:`support.report.run_record.RecordingRunner`:

- files each scenario by its :class:`~support.report.verdict.Verdict`: ``<failure>`` for a check that
  did not hold, ``<error>`` for anything broken (a step written wrong included),
  ``<skipped message="Not run: …">`` for a scenario that was selected but never ran, nothing for a pass;
  deselected scenarios are left out;
- names each feature's file and class by the feature file's path, the same however behave was called;
- writes ``TESTS-run.xml`` with one errored test case per problem outside any scenario (``before_all``,
  ``after_all``, a feature hook, a feature file that could not be read).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from behave.reporter.junit import CDATA, ElementTreeWithCDATA, FeatureReportData
from behave.reporter.junit import JUnitReporter as BehaveJUnitReporter

from support.report.allure_results import plain_message
from support.report.verdict import BROKEN, FAILED, SKIPPED, deselected, verdict

if TYPE_CHECKING:
    from support.report.run_record import RunRecord

RUN_SUITE = "TESTS-run.xml"
_ELEMENTS = {str(FAILED): "failure", str(BROKEN): "error", str(SKIPPED): "skipped"}


class JUnitReporter(BehaveJUnitReporter):
    """behave's JUnit reporter with truthful test cases and a suite for the run's own problems."""

    def __init__(self, config: Any, record: RunRecord) -> None:
        super().__init__(config)
        self.record = record
        self.why_not_run = lambda scenario: "the run was aborted before this scenario"

    def make_feature_filename(self, feature: Any) -> str:
        """The feature file as dotted words (``features.reconnect``), however behave was called: behave's own
        name drops the folder when the run selects by tags but not when it names the file, which splits a
        scenario's history in CI."""
        path = Path(feature.filename)
        if path.is_absolute():
            with contextlib.suppress(ValueError):
                path = path.relative_to(Path.cwd())
        return path.with_suffix("").as_posix().replace("/", ".")

    def _process_scenario(self, scenario: Any, report: FeatureReportData) -> None:
        if deselected(scenario, self.config):
            return  # left out by --tags or --name: not part of this run
        ruling = verdict(scenario, self.why_not_run(scenario))
        status, message = str(ruling.status), plain_message(str(ruling.status), ruling.message or "")
        feature_name = report.feature.name or self.make_feature_filename(report.feature)
        case = ElementTree.Element("testcase")
        case.set("classname", f"{report.classname}.{feature_name}")
        case.set("name", scenario.name or "")
        case.set("status", status)
        case.set("time", str(round(scenario.duration, 6)))
        if status in _ELEMENTS:
            problem = ElementTree.Element(_ELEMENTS[status])
            problem.set("message", message)
            if ruling.trace:
                problem.append(CDATA(f"\n{message}\n\n{ruling.trace}\n"))
            case.append(problem)
        report.counts_failed += status == FAILED
        report.counts_errors += status == BROKEN
        report.counts_skipped += status == SKIPPED
        report.counts_tests += 1
        output = ElementTree.Element("system-out")
        text = self.describe_scenario(scenario) if self.show_scenarios else ""
        if scenario.captured.stdout:
            text += f"\nCaptured stdout:\n{scenario.captured.stdout}\n"
        output.append(CDATA(text))
        case.append(output)
        report.testcases.append(case)

    def end(self) -> None:
        super().end()
        if not self.record.problems:
            return
        suite = ElementTree.Element("testsuite")
        suite.set("name", "run.The run itself")
        for problem in self.record.problems:
            case = ElementTree.Element("testcase")
            case.set("classname", "run.The run itself")
            case.set("name", problem.where)
            error = ElementTree.Element("error")
            error.set("type", problem.kind or "error")
            error.set("message", problem.message)
            case.append(error)
            suite.append(case)
        count = str(len(self.record.problems))
        for name, value in (("tests", count), ("errors", count), ("failures", "0"), ("skipped", "0")):
            suite.set(name, value)
        os.makedirs(self.config.junit_directory, exist_ok=True)
        with open(os.path.join(self.config.junit_directory, RUN_SUITE), "wb") as stream:
            ElementTreeWithCDATA(suite).write(stream, "UTF-8")
