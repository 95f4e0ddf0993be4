"""The five views of one acceptance run, each read the way its users read it, reduced to the same counts.

- behave's summary line (``N scenarios passed, N failed, N skipped, N error, N hook_error, N untested``);
- the closing lines of ``bin/acceptance`` (``acceptance: N passed, N failed, N not run (N deselected)``);
- the exit code;
- JUnit XML (``reports/junit/*.xml``: a ``<failure>`` or ``<error>`` fails a test case, ``<skipped>`` did
  not run it; ``TESTS-run.xml`` holds the problems outside any scenario);
- the Allure results and the HTML report's summary.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

BEHAVE_SCENARIOS = re.compile(r"^(?P<counts>\d+ scenarios? passed, .*)$", re.MULTILINE)
CLOSING = re.compile(
    r"^acceptance: (?P<passed>\d+) passed, (?P<failed>\d+) failed(?:, (?P<not_run>\d+) not run)?"
    r"(?: \((?P<deselected>\d+) deselected\))?$",
    re.MULTILINE,
)
NOTHING_RAN = re.compile(r"^acceptance: no scenario ran — (?P<why>.*)$", re.MULTILINE)
RUN_ITSELF = "The run itself: "


@dataclass(frozen=True)
class Counts:
    """Scenarios that passed, failed (or broke) and were selected but not run; problems outside any."""

    passed: int = 0
    failed: int = 0
    not_run: int = 0
    problems: int | None = None  # None where a view has no place for them

    def __str__(self) -> str:
        said = f"{self.passed} passed, {self.failed} failed, {self.not_run} not run"
        return said + (
            f", {self.problems} problem(s) outside any scenario" if self.problems is not None else ""
        )


def behave_summary(output: str) -> Counts | None:
    """behave's own count of scenarios, or None when it printed none (it refused to start)."""
    found = BEHAVE_SCENARIOS.search(output)
    if found is None:
        return None
    counts = {
        status: int(number) for number, status in re.findall(r"(\d+) (?:scenarios? )?(\w+)", found["counts"])
    }
    failed = sum(
        counts.get(status, 0) for status in ("failed", "error", "hook_error", "undefined", "pending")
    )
    return Counts(counts.get("passed", 0), failed, counts.get("untested", 0))


def closing_lines(output: str) -> Counts | str:
    """The closing headline's counts, or the reason it gives for no scenario running."""
    found = CLOSING.search(output)
    if found is not None:
        return Counts(int(found["passed"]), int(found["failed"]), int(found["not_run"] or 0))
    nothing = NOTHING_RAN.search(output)
    assert nothing is not None, f"the run printed no closing line:\n{output[-2000:]}"
    return nothing["why"]


def junit(directory: Path) -> Counts:
    passed = failed = not_run = problems = 0
    for path in sorted(directory.glob("*.xml")):
        suite = ElementTree.parse(path).getroot()
        for case in suite.iter("testcase"):
            if path.name == "TESTS-run.xml":
                problems += 1
            elif case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.find("skipped") is not None:
                not_run += 1
            else:
                passed += 1
    return Counts(passed, failed, not_run, problems)


def allure_results(directory: Path) -> Counts:
    statuses: list[str] = []
    problems = 0
    for path in sorted(directory.glob("*-result.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        if str(result.get("name", "")).startswith(RUN_ITSELF):
            problems += 1
        else:
            statuses.append(result["status"])
    return Counts(
        statuses.count("passed"),
        statuses.count("failed") + statuses.count("broken"),
        statuses.count("skipped"),
        problems,
    )


def html_summary(report: Path) -> dict[str, int] | None:
    """The HTML report's own totals (passed, failed, broken, skipped), or None if it was not built."""
    summary = report / "widgets" / "summary.json"
    if not summary.exists():
        return None
    statistic = json.loads(summary.read_text(encoding="utf-8"))["statistic"]
    return {status: int(statistic.get(status, 0)) for status in ("passed", "failed", "broken", "skipped")}
