"""behave's hooks, called from environment.py: the run's set-up and tear-down, and each scenario's."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import allure
from behave.fixture import use_fixture_by_tag
from behave.model import Scenario, Step
from behave.runner import Context

from support.drivers import ObservedEvent, describe_target
from support.harness.context_words import context_in_words
from support.harness.fixtures import TAG_FIXTURES
from support.harness.interruption import CTRL_C
from support.harness.runtime import BackgroundLoop
from support.harness.settings import Settings, read_ini_defaults
from support.harness.world import ScenarioWorld, scenario_seed
from support.harness.written_wrong import ScenarioWrittenWrong, unread_argument
from support.report.allure_results import (
    allure_results_dir,
    finish_results,
    run_facts,
    write_run_files,
)
from support.report.story import Attachment, redact
from support.services.stack import ServiceStack

ROOT = Path(__file__).resolve().parents[2]


def before_all(context: Context) -> None:
    CTRL_C.install()
    context.settings = settings = load_settings(context)
    # The run record (support/report/run_record.py) reads the seed chosen here for the closing lines.
    context.config.userdata["seed"] = str(settings.seed)
    print(replay_hint(settings.seed), flush=True)
    # The outputs were cleared by the command before behave started (support/report/acceptance.py).
    context.allure_results = results = allure_results_dir(
        context.config.format or [], context.config.outfiles or []
    )
    if results is not None:
        write_run_files(
            results, run_facts(settings.as_report(), describe_target(settings.client)), os.environ
        )
    # Scenarios still open when the run ends (interrupted by Ctrl-C) are closed by after_all.
    context.open_worlds = []
    context.services = ServiceStack(settings)
    context.services.start()


def replay_hint(seed: int) -> str:
    return f"Seed {seed} — replay this run with: bin/acceptance -D seed={seed}"


def load_settings(context: Context) -> Settings:
    defines = dict(context.config.userdata_defines or [])
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), os.environ, defines)


def before_tag(context: Context, tag: str) -> None:
    if tag.startswith("fixture."):
        if tag not in TAG_FIXTURES:
            raise ScenarioWrittenWrong(
                "fixture tag", f"@{tag}", [f"@{known}" for known in sorted(TAG_FIXTURES)]
            )
        use_fixture_by_tag(tag, context, TAG_FIXTURES)


def before_scenario(context: Context, scenario: Scenario) -> None:
    CTRL_C.raise_if_missed(context.aborted)
    seed = scenario_seed(context.settings.seed, scenario.feature.filename, scenario.name)
    context.services.reset(seed)
    context.world = ScenarioWorld(settings=context.settings, services=context.services, seed=seed)
    context.open_worlds.append(context.world)
    context.world.logs.install()
    context.world.mark("scenario start")
    # A data table or doc string the step would ignore is a mistake in the feature, said before it runs.
    for step in scenario.all_steps:
        reason = unread_argument(step)
        if reason is not None:
            raise ScenarioWrittenWrong(reason)


def after_scenario(context: Context, scenario: Scenario) -> None:
    world: ScenarioWorld = context.world
    # Events are read before the clients are disposed, so the story ends where the scenario did.
    events = {name: driver.events() for name, driver in world.clients.items()}
    # A failing scenario's context, in words, for its report: read before the clients are disposed too.
    described = context_in_words(context) if scenario.status.has_failed() else None
    leaks = world.close()
    context.open_worlds.remove(world)
    attach_what_happened(context, scenario, world, events, described)
    if leaks:
        raise AssertionError(f"The client left work running after the scenario: {'; '.join(leaks)}")


def attach_what_happened(
    context: Context,
    scenario: Scenario,
    world: ScenarioWorld,
    events: dict[str, list[ObservedEvent]],
    described: str | None = None,
) -> None:
    """The scenario's picture, transcript, story and log, and its context in words when ``described`` (a
    failing scenario's), for the report; secrets are redacted from each."""
    attachments = world.report_attachments(scenario.name, events)
    if described is not None:
        attachments.append(Attachment("Context", described, "TEXT"))
    for attachment in attachments:
        allure.attach(
            redact(attachment.body, world.secrets),
            name=attachment.name,
            attachment_type=getattr(allure.attachment_type, attachment.kind),
        )


def before_step(context: Context, step: Step) -> None:
    CTRL_C.raise_if_missed(context.aborted)


def after_all(context: Context) -> None:
    for world in getattr(context, "open_worlds", []):
        world.close()
    services: ServiceStack | None = getattr(context, "services", None)
    leftovers = services.stop() if services is not None else []
    # An interrupt can land anywhere, even while a client's loop is being set up: stop whatever is left.
    forced = BackgroundLoop.still_running()
    for loop in forced:
        loop.stop(grace=1.0)
    if forced and not context.aborted:
        leftovers += [f"the {loop.name} loop" for loop in forced]
    results = getattr(context, "allure_results", None)
    if results is not None:
        finish_results(results)
    settings = getattr(context, "settings", None)
    if settings is not None:
        # Past behave's output capture, so the seed shows at the end of the run too.
        print(replay_hint(settings.seed), file=sys.__stdout__)
    threads = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
    if leftovers or threads:
        raise RuntimeError(
            "The run left work behind: "
            f"tasks {', '.join(leftovers) or 'none'}; threads {', '.join(threads) or 'none'}"
        )
