"""Allure results that tell the same truth as behave's own summary: allure-behave's formatter, mended.

behave.ini names ``support.allure_formatter:AllureFormatter``. It is allure-behave 2.16.2's formatter and
listener (``allure_behave.formatter``, ``allure_behave.listener``) with these gaps of that version mended:

1. **Scenarios under a Gherkin ``Rule:`` got no result.** allure-behave wraps only ``feature.scenarios``,
   which holds no Rule's scenarios; a hook's ``allure.attach`` then failed with ``KeyError: None`` and a step
   with a data table or doc string under a Rule crashed behave (the queue of steps went out of step). Here
   every scenario of ``feature.walk_scenarios()`` gets its result: under Rules, and each row of an Outline.
2. **Same-named scenarios shared one historyId** (md5 of the feature's name, the scenario's name and the
   row's values), so Allure showed a failure as a mere retry of a pass. Here the id is made of the feature
   file's path, the Rule's name, the scenario's name, the Examples block and row, and, when that same
   combination comes again in the file, its occurrence number (see ``scenario_identities``).
3. **The status came from the steps only**, so an error in ``before_scenario``, ``after_scenario``, a
   fixture tag's ``before_tag``/``after_tag`` or a cleanup was reported as passed or skipped. Here it comes
   from behave's own verdict (``verdict``): the scenario's status, its hook failure and error message, and
   its steps' statuses.
4. **Scenarios behave never ran were missing** (an interrupted run, a ``before_feature`` that failed). Here
   each one the run selected gets a skipped result saying why it did not run.
5. **An undefined step's message was behave's Python snippet.** Here it is the suite's own sentence, from
   ``support.written_wrong.undefined_step_message``.
6. **A Rule's tags were not labels** and its name was not in the title path. Here a tag on a Rule counts
   for its scenarios, as in Gherkin.

Everything else (labels from ``@allure.label.*`` tags, links, parameters, attachments of data tables and
doc strings, Allure test plans) is allure-behave's and allure_commons' own.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import allure_commons
from allure_behave.formatter import AllureFormatter as AllureBehaveFormatter
from allure_behave.listener import AllureListener as AllureBehaveListener
from allure_behave.utils import (
    TEST_PLAN_SKIP_REASON,
    get_fullname,
    get_title_path,
    is_planned_scenario,
    scenario_name,
    scenario_parameters,
    step_status_details,
)
from allure_commons.logger import AllureFileLogger
from allure_commons.mapping import labels_set, parse_tag
from allure_commons.model2 import Label, Link, Status, StatusDetails, TestResult
from allure_commons.types import LabelType, Severity
from allure_commons.utils import (
    format_exception,
    format_traceback,
    get_testplan,
    md5,
    now,
    platform_label,
    uuid4,
)
from behave.configuration import Configuration
from behave.formatter.base import Formatter, StreamOpener
from behave.model import Feature, Rule, Scenario, ScenarioOutline, Step
from behave.model_type import Status as BehaveStatus
from behave.reporter.base import Reporter

from support.written_wrong import undefined_step_message

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
    """``id(scenario)`` → (historyId, testCaseId) for each scenario of ``feature``, Rules' and rows' too.

    historyId: the feature file's path, the Rule's name ("" outside one), the scenario's name (an Outline's
    own name for its rows) and the row (``example_row``). When that combination comes again in the same file
    (two scenarios of one name, two rows alike), the later ones add their occurrence number (1, 2…; the
    first adds nothing), so each result has an id of its own that stays the same from run to run.
    testCaseId: the same without the row, per scenario or Outline as written; an Outline's rows share it, as
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
            case_ids[id(item)] = md5(*_numbered(case, case_seen))
        if isinstance(item, ScenarioOutline):
            continue
        outline = outline_of(item)
        written = outline if outline is not None else item
        history = (path, rule.name if rule else "", written.name, *example_row(item))
        identities[id(item)] = (md5(*_numbered(history, history_seen)), case_ids[id(written)])
    return identities


def _numbered(parts: tuple[str, ...], seen: Counter[tuple[str, ...]]) -> tuple[str, ...]:
    occurrence = seen[parts]
    seen[parts] += 1
    return parts if occurrence == 0 else (*parts, f"occurrence {occurrence}")


def scenario_tags(scenario: Scenario) -> list[str]:
    """The feature's tags, the Rule's, then the scenario's (an Outline row's include its Examples block's)."""
    rule = rule_of(scenario)
    return [*scenario.feature.tags, *(rule.tags if rule else []), *scenario.tags]


def scenario_labels(scenario: Scenario) -> list[Label]:
    """As allure-behave: severity normal unless a tag says otherwise, ``@allure.label.*`` tags, plain tags."""
    parsed = [parse_tag(tag) for tag in scenario_tags(scenario)]
    default = [Label(name=LabelType.SEVERITY, value=Severity.NORMAL)]
    return labels_set([label for label in [*default, *parsed] if isinstance(label, Label)])


def scenario_links(scenario: Scenario, issue_pattern: str | None, link_pattern: str | None) -> list[Link]:
    parsed = [parse_tag(tag, issue_pattern, link_pattern) for tag in scenario_tags(scenario)]
    return [link for link in parsed if isinstance(link, Link)]


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


# -- the listener and the formatter ------------------------------------------------------------------


class AllureListener(AllureBehaveListener):
    """allure-behave's listener with this module's ids, labels and verdicts; results for scenarios not run."""

    def __init__(self, behave_config: Configuration) -> None:
        super().__init__(behave_config)
        self.identities: dict[int, tuple[str, str]] = {}
        self.reported: set[int] = set()  # id() of each scenario that has its result
        self.features_started = 0
        self.interrupted = False
        self.failures = 0

    # A feature's scenarios, known once behave hands the feature to the formatter.

    def know_feature(self, feature: Feature) -> None:
        self.identities.update(scenario_identities(feature))

    def start_scenario(self, scenario: Scenario) -> None:
        self.current_scenario_uuid = uuid = uuid4()
        self.group_context.enter()
        self.steps.clear()  # only this scenario's steps from here on
        if id(scenario) not in self.identities:
            self.know_feature(scenario.feature)
        history_id, test_case_id = self.identities[id(scenario)]
        rule = rule_of(scenario)
        result = TestResult(uuid=uuid, start=now())
        result.name = scenario_name(scenario)
        result.fullName = get_fullname(scenario)
        result.titlePath = [*get_title_path(scenario), *([rule.name] if rule else [])]
        result.historyId = history_id
        result.testCaseId = test_case_id
        result.description = "\n".join(scenario.description)
        result.parameters = scenario_parameters(scenario)
        result.links.extend(scenario_links(scenario, self.issue_pattern, self.link_pattern))
        result.labels.extend(scenario_labels(scenario))
        result.labels.append(Label(name=LabelType.FEATURE, value=scenario.feature.name))
        result.labels.append(Label(name=LabelType.FRAMEWORK, value="behave"))
        result.labels.append(Label(name=LabelType.LANGUAGE, value=platform_label()))
        self.logger.schedule_test(uuid, result)

    @allure_commons.hookimpl
    def stop_test(
        self, parent_uuid: Any, uuid: Any, name: Any, context: Any, exc_type: Any, exc_val: Any, exc_tb: Any
    ) -> None:
        if isinstance(exc_val, KeyboardInterrupt):
            self.interrupted = True  # a Ctrl-C outside any step or hook
        self.stop_scenario(context["scenario"])

    def stop_scenario(self, scenario: Scenario) -> None:
        if self._dropped(scenario):
            self.logger.drop_test(self.current_scenario_uuid)
            self.current_scenario_uuid = None
            self.steps.clear()
            return
        self._notice(scenario)
        self.finish(scenario, verdict(scenario, self.not_run_reason(scenario)))

    def _dropped(self, scenario: Scenario) -> bool:
        """allure-behave's rule: no result for a scenario behave skipped (deselected by tags or name) unless
        ``show_skipped``, nor for one the Allure test plan or ``hide_excluded`` leaves out."""
        if scenario.hook_failed:
            return False
        selected = scenario.should_run_with_tags(self.behave_config.tag_expression)
        selected = selected and scenario.should_run_with_name_select(self.behave_config)
        skipped_by_option = scenario.status == BehaveStatus.skipped and not self.behave_config.show_skipped
        excluded = self.hide_excluded and (scenario.skip_reason == TEST_PLAN_SKIP_REASON or not selected)
        return bool(skipped_by_option or excluded)

    def _notice(self, scenario: Scenario) -> None:
        """Remember what a later scenario's "Not run" must say: a Ctrl-C, a first failure under ``--stop``."""
        if scenario.status.has_failed():
            self.failures += 1
        if any(isinstance(step.exception, KeyboardInterrupt) for step in scenario.all_steps):
            self.interrupted = True
        if scenario.hook_failed and not scenario.error_message:
            self.interrupted = True

    def finish(self, scenario: Scenario, result: Verdict) -> None:
        """Close the scenario's Allure result with ``result``: its steps first, then its status."""
        if self.current_step_uuid is not None:  # a step cut short (Ctrl-C between behave's calls)
            self.logger.stop_step(
                self.current_step_uuid,
                stop=now(),
                status=Status.BROKEN,
                statusDetails=StatusDetails(message=f"The step was cut short: {INTERRUPTED}."),
            )
            self.current_step_uuid = None
        self.flush_steps()
        test_result = self.logger.get_test(self.current_scenario_uuid)
        test_result.stop = now()
        test_result.status = result.status
        test_result.statusDetails = result.details()
        self.logger.close_test(self.current_scenario_uuid)
        self.reported.add(id(scenario))
        self.group_context.append_test(self.current_scenario_uuid)
        self.group_context.exit()
        self.current_scenario_uuid = None

    def stop_behave_step(self, result: Step) -> None:
        # behave hands the formatter the step itself as its result.
        step = step_verdict(result)
        self.logger.stop_step(
            self.current_step_uuid, stop=now(), status=step.status, statusDetails=step.details()
        )
        self.current_step_uuid = None

    # Scenarios behave never ran.

    def not_run_reason(self, scenario: Scenario) -> str:
        """Why a selected scenario's steps never ran, in a few words after "Not run: "."""
        for container in (rule_of(scenario), scenario.feature):
            if container is not None:
                reason = hook_not_run_reason(container)
                if reason is not None:
                    return reason
        if self.interrupted:
            return INTERRUPTED
        if self.behave_config.dry_run:
            return "a dry run (--dry-run) runs no steps"
        if self.behave_config.stop and self.failures:
            return "the run stopped at its first failure (--stop)"
        return "the run was aborted before this scenario (context.abort() or a hook stopped it)"

    def report_not_run(self, feature: Feature) -> None:
        """A skipped result, saying why, for each scenario of ``feature`` that the run selected but behave
        never ran (its status is still "untested") and that has no result yet."""
        if self.features_started == 0:
            return  # before_all stopped the run: behave, and the suite's own run set-up result, say why
        for container in (feature, *feature.iter_rules()):
            if container.hook_failed and not container.error_message:
                self.interrupted = True
        for scenario in feature.walk_scenarios():
            if id(scenario) in self.reported or scenario.status != BehaveStatus.untested:
                continue
            if not scenario.should_run(self.behave_config):
                continue
            self.start_scenario(scenario)
            for step in scenario.all_steps:
                self.schedule_step(step)
            self.finish(scenario, Verdict(Status.SKIPPED, f"Not run: {self.not_run_reason(scenario)}"))


class NotRunReporter(Reporter):
    """behave calls each reporter after each feature, whether it ran or not (``Runner.run_model``); this one
    has the listener write results for the feature's scenarios that never ran."""

    def __init__(self, config: Configuration, listener: AllureListener) -> None:
        super().__init__(config)
        self.listener = listener

    def feature(self, feature: Feature) -> None:
        self.listener.report_not_run(feature)


class AllureFormatter(AllureBehaveFormatter):
    """allure-behave's formatter with this module's listener, every scenario wrapped, Rules included."""

    def __init__(self, stream_opener: StreamOpener, config: Configuration) -> None:
        Formatter.__init__(self, stream_opener, config)
        self.listener = AllureListener(config)
        self.file_logger = AllureFileLogger(self.stream_opener.name)
        allure_commons.plugin_manager.register(self.listener)
        allure_commons.plugin_manager.register(self.file_logger)
        self.testplan = get_testplan()
        config.reporters.append(NotRunReporter(config, self.listener))

    def uri(self, uri: str) -> None:
        self.listener.features_started += 1
        super().uri(uri)

    def feature(self, feature: Feature) -> None:
        self.listener.know_feature(feature)
        self._wrap_scenario(feature.walk_scenarios())

    def _wrap_scenario(self, scenarios: Iterable[Scenario]) -> None:
        for scenario in scenarios:
            scenario.run = allure_commons.test(scenario.run, context={"scenario": scenario})
            is_planned_scenario(scenario, self.testplan)
