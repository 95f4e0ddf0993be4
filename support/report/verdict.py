"""What became of one scenario, decided once from behave's own model, for every view of the run.

behave's summary counts it; the Allure formatter (``support.report.allure_formatter``), the JUnit reporter
(``support.report.junit_reporter``) and the run record behind the closing lines and the exit code
(``support.report.run_record``) all take each scenario's end from :func:`verdict`, so they cannot disagree. A
verdict speaks Allure's vocabulary:

- ``passed``: every step passed and no hook, fixture or cleanup failed;
- ``failed``: a check did not hold (an ``AssertionError``, in a step, a hook or a cleanup);
- ``broken``: anything else went wrong: an error in a step, hook, fixture or cleanup, a step no definition
  reads or a phrase the suite does not know (the message says which; the categories in
  ``support.report.allure_results``
  sort them into product, suite, environment, interrupted or "written wrong");
- ``skipped``: behave skipped it (deselected by ``--tags``/``--name``: no view lists it), or it was selected
  but never ran: "Not run: " and why (the run was interrupted, a ``before_feature`` hook failed…).

Each scenario also has an identity (:func:`scenario_identities`): its feature file, Rule, name and example
row, numbered when the same comes again, so history follows the right scenario and a repeated name cannot
hide a failure.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allure_behave.utils import step_status_details
from allure_commons.model2 import Status, StatusDetails
from allure_commons.utils import format_exception, format_traceback
from behave.model import Feature, Rule, Scenario, ScenarioOutline, Step
from behave.model_type import Status as BehaveStatus

from support.harness.written_wrong import undefined_step_message

SEPARATOR = " :: "
NOT_RUN = "Not run: "
PASSED, FAILED, BROKEN, SKIPPED = Status.PASSED, Status.FAILED, Status.BROKEN, Status.SKIPPED
INTERRUPTED = "the run was interrupted (Ctrl-C)"
HOOK_INTERRUPTED = "A hook was interrupted (Ctrl-C) and the run stopped there."
_HOOK_ERROR = re.compile(r"HOOK-ERROR in (?P<hook>\w+)(?:\(tag=(?P<tag>[^)]*)\))?: (?P<text>.*)", re.DOTALL)
_CLEANUP_ERROR = re.compile(r"^CLEANUP-ERROR in \S+: (?P<kind>[\w.]+)(?::.*)?$", re.MULTILINE)
_PASSED_STEPS = (BehaveStatus.passed, BehaveStatus.pending_warn)
_NOT_RUN_STEPS = (BehaveStatus.untested, BehaveStatus.skipped)


@dataclass(frozen=True)
class Verdict:
    """One scenario's (or step's) result as Allure shows it: ``status`` is an Allure status value."""

    status: str
    message: str | None = None
    trace: str | None = None

    def details(self) -> StatusDetails | None:
        if self.message is None and self.trace is None:
            return None
        return StatusDetails(message=self.message, trace=self.trace)


# -- where a scenario sits in its feature file ---------------------------------------------------------


def rule_of(scenario: Scenario) -> Rule | None:
    """The Rule a scenario (or an Outline's row) belongs to, if any."""
    parent = getattr(scenario, "parent", None)
    while parent is not None and not isinstance(parent, Feature):
        if isinstance(parent, Rule):
            return parent
        parent = getattr(parent, "parent", None)
    return None


def outline_of(scenario: Scenario) -> ScenarioOutline | None:
    """The Outline a scenario is a row of, if it is one."""
    parent = getattr(scenario, "parent", None)
    return parent if isinstance(parent, ScenarioOutline) else None


def feature_path(filename: str) -> str:
    """The feature file as behave names it, relative to the directory behave runs in, with ``/``."""
    path = Path(filename)
    if path.is_absolute():
        with contextlib.suppress(ValueError):  # outside the directory behave runs in: kept whole
            path = path.relative_to(Path.cwd())
    return path.as_posix()


def example_row(scenario: Scenario) -> list[str]:
    """An Outline row as words: its Examples block's name (may be empty), then ``heading=value`` per cell."""
    row, outline = scenario._row, outline_of(scenario)
    if row is None or outline is None:
        return []
    examples_name = next(
        (
            examples.name
            for examples in outline.examples
            if examples.table is not None and any(each is row for each in examples.table.rows)
        ),
        "",
    )
    return [
        f"Examples: {examples_name}",
        *(f"{name}={value}" for name, value in zip(row.headings, row.cells, strict=True)),
    ]


def scenario_identities(feature: Feature) -> dict[int, tuple[str, str]]:
    """``id(scenario)`` → (identity, test case) for each scenario of ``feature``, Rules' and rows' too, as
    words joined by " :: " (Allure's historyId and testCaseId are their hashes, ``allure_id``).

    identity: the feature file's path, the Rule's name ("" outside one), the scenario's name (an Outline's
    own name for its rows) and the row (``example_row``). When that combination comes again in the same file
    (two scenarios of one name, two rows alike), the later ones add their occurrence number (1, 2…; the
    first adds nothing), so each result has an id of its own that stays the same from run to run.
    test case: the same without the row, per scenario or Outline as written; an Outline's rows share it, as
    Allure means (one test case, several parameter sets).
    """
    path = feature_path(feature.filename)
    history_seen: Counter[tuple[str, ...]] = Counter()
    case_seen: Counter[tuple[str, ...]] = Counter()
    case_ids: dict[int, str] = {}
    identities: dict[int, tuple[str, str]] = {}
    for item in feature.walk_scenarios(with_outlines=True):
        rule = rule_of(item)
        if isinstance(item, ScenarioOutline) or outline_of(item) is None:
            case = (path, rule.name if rule else "", item.name)
            case_ids[id(item)] = SEPARATOR.join(part for part in _numbered(case, case_seen) if part)
        if isinstance(item, ScenarioOutline):
            continue
        outline = outline_of(item)
        written = outline if outline is not None else item
        history = (path, rule.name if rule else "", written.name, *example_row(item))
        identity = SEPARATOR.join(part for part in _numbered(history, history_seen) if part)
        identities[id(item)] = (identity, case_ids[id(written)])
    return identities


def _numbered(parts: tuple[str, ...], seen: Counter[tuple[str, ...]]) -> tuple[str, ...]:
    occurrence = seen[parts]
    seen[parts] += 1
    return parts if occurrence == 0 else (*parts, f"occurrence {occurrence}")


# -- behave's verdict, in Allure's terms ---------------------------------------------------------------


def status_of(exception: BaseException | None) -> str:
    """Allure's rule: a failed check (AssertionError) is ``failed``, any other error ``broken``."""
    return Status.FAILED if isinstance(exception, AssertionError) else Status.BROKEN


def step_verdict(step: Step) -> Verdict:
    """One step's result: from the exception it raised, else from its behave status."""
    status = step.status
    if step.hook_failed:
        return _step_hook_verdict(step)
    if status in _PASSED_STEPS:
        return Verdict(Status.PASSED)
    if status in _NOT_RUN_STEPS:
        return Verdict(Status.SKIPPED)
    if status in (BehaveStatus.undefined, BehaveStatus.untested_undefined):
        return Verdict(Status.BROKEN, undefined_step_message(step))
    if isinstance(step.exception, KeyboardInterrupt):
        return Verdict(Status.BROKEN, f"The run was interrupted (Ctrl-C) during this step: {_said(step)}.")
    if step.exception is not None:
        details = step_status_details(step)
        return Verdict(status_of(step.exception), (details.message or "").strip(), details.trace)
    return Verdict(Status.BROKEN, step.error_message or f"The step {_said(step)} ended {status.name}.")


def _step_hook_verdict(step: Step) -> Verdict:
    exception = step.exception
    if exception is None:
        return Verdict(Status.BROKEN, HOOK_INTERRUPTED)
    said = (
        step.error_message
        or f"HOOK-ERROR in before_step or after_step: {format_exception(type(exception), exception)}"
    )
    return Verdict(status_of(exception), said.strip(), format_traceback(step.exc_traceback))


def _said(step: Step) -> str:
    return f'"{step.keyword} {step.name}"'


def verdict(scenario: Scenario, not_run: str) -> Verdict:
    """A scenario's result, as behave's summary counts it.

    - a failing step (its exception: AssertionError ``failed``, else ``broken``; undefined: ``broken``) gives
      the status and the message;
    - a failed hook (``before_tag``/``before_scenario``/``after_scenario``/``after_tag``) or cleanup gives
      them when no step failed, and otherwise adds its error on a line of its own;
    - a scenario whose steps never ran and nothing failed is ``skipped``, "Not run: " ``not_run``;
    - otherwise behave's status: passed or skipped.
    """
    failing = next((step for step in scenario.all_steps if _step_failed(step)), None)
    parts = [
        part
        for part in (
            step_verdict(failing) if failing is not None else None,
            _hook_verdict(scenario),
            _cleanup_verdict(scenario),
        )
        if part is not None
    ]
    if parts:
        message = "\n".join(part.message for part in parts if part.message)
        trace = "\n".join(part.trace for part in parts if part.trace) or None
        return Verdict(parts[0].status, message, trace)
    status = scenario.status
    if status == BehaveStatus.passed:
        return Verdict(Status.PASSED)
    if status == BehaveStatus.skipped:
        return Verdict(Status.SKIPPED, scenario.skip_reason or None)
    if status == BehaveStatus.untested:
        return Verdict(Status.SKIPPED, f"Not run: {not_run}")
    return Verdict(Status.BROKEN, f"behave ended the scenario {status.name} without saying why.")


def not_run_reason(
    scenario: Scenario, *, interrupted: bool, stopped_at_failure: bool, dry_run: bool = False
) -> str:
    """Why a selected scenario never ran, in a few words after "Not run: ": a before-hook of its Rule or
    feature failed, the run was interrupted, it was a dry run, ``--stop`` ended it, or it was aborted."""
    for container in (rule_of(scenario), scenario.feature):
        reason = hook_not_run_reason(container) if container is not None else None
        if reason is not None:
            return reason
    if interrupted:
        return INTERRUPTED
    if dry_run:
        return "a dry run (--dry-run) runs no steps"
    if stopped_at_failure:
        return "the run stopped at its first failure (--stop)"
    return "the run was aborted before this scenario (context.abort() or a hook stopped it)"


def deselected(scenario: Scenario, config: Any = None) -> bool:
    """behave skipped the scenario without a failure: ``--tags`` or ``--name`` left it out (or a step or
    hook skipped it on purpose). behave's summary counts it as skipped; no other view lists it. With behave's
    ``config``, a scenario the run never reached (its set-up failed) counts as deselected when the selection
    leaves it out, as it would have been."""
    if scenario.status == BehaveStatus.untested and config is not None and not scenario.hook_failed:
        return not scenario.should_run(config)
    return scenario.status == BehaveStatus.skipped and not scenario.hook_failed


def _step_failed(step: Step) -> bool:
    return step.hook_failed or step.status.has_failed() or step.status == BehaveStatus.undefined


def _hook_verdict(scenario: Scenario) -> Verdict | None:
    if not scenario.hook_failed:
        return None
    if not scenario.error_message:
        # behave keeps no message for a KeyboardInterrupt (or SystemExit) in a hook.
        return Verdict(Status.BROKEN, HOOK_INTERRUPTED)
    return Verdict(
        status_of(scenario.exception),
        scenario.error_message.strip(),
        format_traceback(scenario.exc_traceback),
    )


def _cleanup_verdict(scenario: Scenario) -> Verdict | None:
    """A cleanup that raised (a fixture's, or one added with ``context.add_cleanup``). behave keeps only the
    status; its "CLEANUP-ERROR in <cleanup>: <error>" line and traceback are in the scenario's captured output
    when output is captured (as it is with ``junit = true``)."""
    if scenario.status != BehaveStatus.cleanup_error:
        return None
    output = scenario.captured.stdout if scenario.captured is not None else ""
    found = list(_CLEANUP_ERROR.finditer(output))
    if not found:
        return Verdict(
            Status.BROKEN,
            "CLEANUP-ERROR in a cleanup of the scenario (a fixture's or context.add_cleanup's): behave "
            "printed its error and traceback in its output.",
        )
    assertions = all(error["kind"].rsplit(".", 1)[-1] == "AssertionError" for error in found)
    return Verdict(
        Status.FAILED if assertions else Status.BROKEN,
        "\n".join(error.group(0).strip() for error in found),
        output[found[0].start() :],
    )


def hook_not_run_reason(container: Feature | Rule) -> str | None:
    """Why a feature's or Rule's scenarios never ran, if one of its before-hooks failed: "before_feature
    failed: RuntimeError: …" (behave's own ``HOOK-ERROR in before_feature: RuntimeError: …``)."""
    if not container.hook_failed:
        return None
    if not container.error_message:
        return INTERRUPTED
    for line in container.error_message.splitlines():
        found = _HOOK_ERROR.fullmatch(line.strip())
        if found is not None and found["hook"].startswith("before_"):
            tag = f" @{found['tag']}" if found["tag"] else ""
            return f"{found['hook']}{tag} failed: {found['text']}"
    return None
