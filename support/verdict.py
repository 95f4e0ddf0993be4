"""What became of one scenario, decided once from behave's own model, for every view of the run.

behave's summary, the closing lines, the exit code, JUnit and the Allure report all tell each scenario's
end from this one verdict, so they cannot disagree. A verdict has Allure's vocabulary of statuses:

- ``passed``: every step passed and no hook or fixture failed;
- ``failed``: a check did not hold (an ``AssertionError``, in a step or in a hook such as the check for
  work a client left running);
- ``broken``: something else went wrong: an error in a step, a hook or a fixture, a step that no
  definition reads, a phrase the suite does not know (the message says which, and the categories in
  ``support.allure_results`` sort them into product, suite, environment or "written wrong");
- ``skipped``: selected but never run, with the reason (the run was interrupted, its set-up failed…).

A scenario left out by ``--tags`` or ``--name`` has no verdict: it was deselected, not skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from behave.model_type import Status

from support.written_wrong import undefined_step_message

PASSED, FAILED, BROKEN, SKIPPED = "passed", "failed", "broken", "skipped"
NOT_RUN = "Not run: "
INTERRUPTED = "Interrupted: the run was stopped (Ctrl-C) while this scenario ran."
_HOOK_ERROR = re.compile(r"HOOK-ERROR in (?P<hook>\w+)(?:\(tag=(?P<tag>[^)]*)\))?: ")


@dataclass(frozen=True)
class Verdict:
    """``status``: passed, failed, broken or skipped; ``message``: what went wrong, in plain words ("" if
    passed); ``where``: the step line or hook it happened in ("" if passed)."""

    status: str
    message: str = ""
    where: str = ""


def scenario_verdict(scenario: Any, not_run_reason: str | None = None) -> Verdict | None:
    """The verdict on one behave ``Scenario`` (an Outline's row included) after the run, or None when it
    was deselected. ``not_run_reason`` says why a selected scenario that never ran did not."""
    status = scenario.status
    if status == Status.passed and not scenario.hook_failed:
        return Verdict(PASSED)
    if status == Status.skipped and not scenario.hook_failed:
        if _selected(scenario):
            return Verdict(SKIPPED, NOT_RUN + (scenario.skip_reason or "a step skipped the scenario"))
        return None
    if status == Status.untested and not scenario.hook_failed:
        return Verdict(SKIPPED, NOT_RUN + (not_run_reason or "behave did not reach it"))
    return _failure(scenario)


def _selected(scenario: Any) -> bool:
    # should_run() without a config says whether a hook or step excluded it (mark_skipped): a scenario
    # deselected by --tags or --name is still "runnable" by that test but was filtered by the runner.
    return bool(getattr(scenario, "skip_reason", None))


def _failure(scenario: Any) -> Verdict:
    for step in scenario.all_steps:
        if step.status == Status.undefined:
            return Verdict(BROKEN, undefined_step_message(step), _step_line(step))
        if step.status in (Status.failed, Status.error) and step.exception is not None:
            return Verdict(_status_of(step.exception), _said(step.exception), _step_line(step))
    if scenario.hook_failed or scenario.error_message:
        return _hook_verdict(scenario)
    return Verdict(BROKEN, f"behave ended the scenario as {status_name(scenario.status)} without saying why.")


def _hook_verdict(scenario: Any) -> Verdict:
    text = (scenario.error_message or "").strip().splitlines()
    found = _HOOK_ERROR.match(text[0]) if text else None
    where = ""
    if found:
        where = f"the {found['hook']} hook" + (f" (tag @{found['tag']})" if found["tag"] else "")
    exception = scenario.exception
    if exception is not None:
        said = _said(exception)
        status = _status_of(exception)
    else:
        said = _HOOK_ERROR.sub("", text[0]) if text else "a hook failed"
        status = BROKEN
    return Verdict(status, f"{said} (in {where})" if where else said, where)


def _status_of(exception: BaseException) -> str:
    return FAILED if isinstance(exception, AssertionError) else BROKEN


def _said(exception: BaseException) -> str:
    """The exception as the Allure message format has it: ``Kind: text``, or the text of a check."""
    if isinstance(exception, KeyboardInterrupt):
        return INTERRUPTED
    text = str(exception).strip()
    if isinstance(exception, AssertionError):
        return text or "A check failed without saying why."
    return f"{type(exception).__name__}: {text}" if text else type(exception).__name__


def _step_line(step: Any) -> str:
    return f"{step.keyword} {step.name} ({step.location})"


def status_name(status: Status) -> str:
    return str(getattr(status, "name", status))
