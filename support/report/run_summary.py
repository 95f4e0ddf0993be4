"""The acceptance run's closing lines and exit code, read from the run record (support/report/run_record.py).

Exit codes (the CI acceptance stage relies on them):

- 0: every selected scenario ran and passed;
- 1: a scenario failed, broke or was written wrong, or the run itself hit an error (an ``after_all``
  hook, say): a product defect, a defect in the suite or a scenario to correct;
- 2: the run was refused and no scenario ran: behave refused its arguments, a setting is wrong, a feature
  file could not be read, or no scenario matched the selection;
- 3: the environment failed, not the product (services could not start, set-up timed out);
- 130: the run was interrupted (Ctrl-C); what ran before is reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from support.harness.written_wrong import WRITTEN_WRONG
from support.report.allure_results import ENVIRONMENT_PROBLEMS, WRITTEN_WRONG_SCENARIOS, category_of
from support.report.run_record import RERUN, Problem, RunRecord, ScenarioRecord
from support.report.verdict import BROKEN, FAILED, PASSED, SKIPPED

PASSED_ALL, FAILED_SOME, REFUSED, ENVIRONMENT_FAILED, INTERRUPTED = 0, 1, 2, 3, 130
SHOWN_FAILURES = 10
SHOWN_CHARACTERS = 300
SETTINGS_ERROR = "SettingsError"


@dataclass(frozen=True)
class Closing:
    """The closing lines and the exit code of one run."""

    lines: list[str]
    status: int


def refused(reason: str) -> Closing:
    """behave stopped before running anything and said ``reason`` (its own last error line)."""
    return Closing([f"acceptance: no scenario ran — behave refused to start: {reason}"], REFUSED)


def summarize(
    record: RunRecord | None, behave_status: int, behave_said: str = "", *, interrupted: bool = False
) -> Closing:
    """The closing lines and exit code of a run, from its record (None if behave wrote none);
    ``interrupted``: Ctrl-C was pressed while behave ran."""
    if interrupted and (record is None or record.stage != "finished"):
        return Closing(
            ["acceptance: INTERRUPTED (Ctrl-C) while behave was starting; no scenario ran."], INTERRUPTED
        )
    if record is None:
        return refused(behave_said or f"it stopped with status {behave_status} and wrote no run record")
    if record.stage == "refused":
        return Closing([_no_scenario_ran(record.problems[-1].message)], REFUSED)
    if record.stage != "finished":
        said = f" ({behave_said})" if behave_said else ""
        return Closing(
            [f"acceptance: the run did not finish: behave stopped with status {behave_status}{said}"],
            behave_status if behave_status > 0 else FAILED_SOME,
        )
    set_up = next((p for p in record.problems if p.where == "before_all"), None)
    if set_up is not None:
        return _set_up_failed(record, set_up)
    return _finished(record)


def _no_scenario_ran(why: str) -> str:
    return f"acceptance: no scenario ran — {why}"


def _set_up_failed(record: RunRecord, problem: Problem) -> Closing:
    not_run = f" ({len(record.scenarios)} selected scenario(s) not run)" if record.scenarios else ""
    if problem.kind == SETTINGS_ERROR:
        return Closing([_no_scenario_ran(f"a setting is wrong: {problem.message}")], REFUSED)
    category = category_of(BROKEN, problem.message)
    if category is ENVIRONMENT_PROBLEMS:
        return Closing(
            [
                _no_scenario_ran(f"the run's set-up failed{not_run}: {problem.message}"),
                "acceptance: the ENVIRONMENT failed, not the product: no scenario could be tried. "
                "Fix the machine or run again.",
            ],
            ENVIRONMENT_FAILED,
        )
    return Closing(
        [_no_scenario_ran(f"the run's set-up failed{not_run}: {problem.kind}: {problem.message}")],
        FAILED_SOME,
    )


def _finished(record: RunRecord) -> Closing:
    counts = Counter(scenario.status for scenario in record.scenarios)
    failures = [s for s in record.scenarios if s.status in (FAILED, BROKEN)]
    if not record.scenarios and not record.problems:
        selection = f"{record.deselected} deselected" if record.deselected else "the features hold none"
        return Closing([_no_scenario_ran(f"none matched the selection ({selection})")], REFUSED)
    headline = f"acceptance: {counts[PASSED]} passed, {len(failures)} failed"
    if counts[SKIPPED]:
        headline += f", {counts[SKIPPED]} not run"
    if record.deselected:
        headline += f" ({record.deselected} deselected)"
    lines = [headline, *_failure_lines(failures)]
    lines += [f"  The run itself: {problem.where} — {problem.message}" for problem in record.problems]
    not_run = [s for s in record.scenarios if s.status == SKIPPED]
    if not_run:
        lines.append(f"  Not run: {not_run[0].message.removeprefix('Not run: ')}")
    if failures or not_run:
        again = f"bin/acceptance @{RERUN}" + (f" -D seed={record.seed}" if record.seed else "")
        lines.append(f"Run just the scenarios that did not pass again, the same way: {again}")
    if record.interrupted:
        lines.append("acceptance: the run was INTERRUPTED (Ctrl-C): the results above are what ran before.")
        return Closing(lines, INTERRUPTED)
    if any(category_of(s.status, s.message) is ENVIRONMENT_PROBLEMS for s in failures):
        lines.append(
            "acceptance: the ENVIRONMENT failed, not the product: the scenarios above could not be tried. "
            "Fix the machine or run again."
        )
        return Closing(lines, ENVIRONMENT_FAILED)
    if failures or record.problems or not_run:
        return Closing(lines, FAILED_SOME)
    return Closing(lines, PASSED_ALL)


def _failure_lines(failures: list[ScenarioRecord]) -> list[str]:
    lines = []
    for scenario in failures[:SHOWN_FAILURES]:
        category = category_of(scenario.status, scenario.message)
        kind = category.name if category else "Unsorted"
        first = scenario.message.splitlines()[0] if scenario.message else "(no message)"
        if category is WRITTEN_WRONG_SCENARIOS:
            first = first.removeprefix(WRITTEN_WRONG)  # the category says it already
        # behave names an unnamed Examples block's row "<name> -- @1.1 ", with a space at the end.
        lines.append(_shortened(f"  {kind}: {scenario.name.strip()} — {first}"))
    if len(failures) > SHOWN_FAILURES:
        lines.append(f"  … and {len(failures) - SHOWN_FAILURES} more: see the report")
    return lines


def _shortened(text: str, limit: int = SHOWN_CHARACTERS) -> str:
    """At most ``limit`` characters and " …", cut at a word and so marked (the report has the whole text)."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(";,:") + " …"
