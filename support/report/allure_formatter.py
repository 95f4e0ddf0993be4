"""Allure results that tell the same truth as behave's own summary: allure-behave's formatter, mended.

behave.ini names ``support.report.allure_formatter:AllureFormatter``. It is allure-behave 2.16.2's
formatter and listener (``allure_behave.formatter``, ``allure_behave.listener``) with these gaps of
that version mended:

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
   ``support.harness.written_wrong.undefined_step_message``.
6. **A Rule's tags were not labels** and its name was not in the title path. Here a tag on a Rule counts
   for its scenarios, as in Gherkin.

Everything else (labels from ``@allure.label.*`` tags, links, parameters, attachments of data tables and
doc strings, Allure test plans) is allure-behave's and allure_commons' own.
"""

from __future__ import annotations

from collections.abc import Iterable
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
)
from allure_commons.logger import AllureFileLogger
from allure_commons.mapping import labels_set, parse_tag
from allure_commons.model2 import Label, Link, Status, StatusDetails, TestResult
from allure_commons.types import LabelType, Severity
from allure_commons.utils import (
    get_testplan,
    now,
    platform_label,
    uuid4,
)
from behave.configuration import Configuration
from behave.formatter.base import Formatter, StreamOpener
from behave.model import Feature, Scenario, Step
from behave.model_type import Status as BehaveStatus
from behave.reporter.base import Reporter

from support.report.allure_results import allure_id
from support.report.verdict import (
    INTERRUPTED,
    Verdict,
    not_run_reason,
    rule_of,
    scenario_identities,
    step_verdict,
    verdict,
)


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
        identity, test_case = self.identities[id(scenario)]
        rule = rule_of(scenario)
        result = TestResult(uuid=uuid, start=now())
        result.name = scenario_name(scenario)
        result.fullName = get_fullname(scenario)
        result.titlePath = [*get_title_path(scenario), *([rule.name] if rule else [])]
        result.historyId = allure_id(identity)
        result.testCaseId = allure_id(test_case)
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
        cut_short, self.current_step_uuid = self.current_step_uuid, None
        # A step cut short by Ctrl-C between behave's calls is still open; one whose close the Ctrl-C
        # interrupted is not (the logger no longer holds it).
        if cut_short is not None and self.logger.get_item(cut_short) is not None:
            self.logger.stop_step(
                cut_short,
                stop=now(),
                status=Status.BROKEN,
                statusDetails=StatusDetails(message=f"The step was cut short: {INTERRUPTED}."),
            )
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
        # Forget the step before closing it: a Ctrl-C in between must not leave it to be closed twice.
        uuid, self.current_step_uuid = self.current_step_uuid, None
        self.logger.stop_step(uuid, stop=now(), status=step.status, statusDetails=step.details())

    # Scenarios behave never ran.

    def not_run_reason(self, scenario: Scenario) -> str:
        """Why a selected scenario's steps never ran, as this listener has seen the run so far."""
        return not_run_reason(
            scenario,
            interrupted=self.interrupted,
            stopped_at_failure=bool(self.behave_config.stop and self.failures),
            dry_run=bool(self.behave_config.dry_run),
        )

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
        allure_commons.plugin_manager.register(self.listener)
        # A dry run (--dry-run) writes no results: its "skipped" scenarios would mix with the last run's.
        self.file_logger = None if config.dry_run else AllureFileLogger(self.stream_opener.name)
        if self.file_logger is not None:
            allure_commons.plugin_manager.register(self.file_logger)
            config.reporters.append(NotRunReporter(config, self.listener))
        self.testplan = get_testplan()

    def close(self) -> None:
        if self.file_logger is not None:
            super().close()
            return
        Formatter.close(self)  # calls close_stream: the listener ends its session
        allure_commons.plugin_manager.unregister(self.listener)

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
