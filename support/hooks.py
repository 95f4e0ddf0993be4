"""behave's hooks, called from environment.py: the run's set-up and tear-down, and each scenario's."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import allure
from behave.fixture import use_fixture
from behave.model import Scenario
from behave.runner import Context

from support.allure_results import (
    allure_results_dir,
    clean_results,
    finish_results,
    record_run_problem,
    run_facts,
    write_run_files,
)
from support.drivers import ObservedEvent, describe_target
from support.fixtures import TAG_FIXTURES
from support.problems import EnvironmentProblem
from support.reporting import redact, story
from support.runtime import BackgroundLoop
from support.services.stack import ServiceStack
from support.settings import Settings, read_ini_defaults
from support.timeline import render_timeline
from support.transcript import transcript_table
from support.world import ScenarioWorld, scenario_seed

ROOT = Path(__file__).resolve().parent.parent


def before_all(context: Context) -> None:
    context.settings = settings = load_settings(context)
    print(replay_hint(settings.seed), flush=True)
    context.allure_results = results = allure_results_dir(
        context.config.format or [], context.config.outfiles or []
    )
    if results is not None:
        clean_results(results)
        write_run_files(
            results, run_facts(settings.as_report(), describe_target(settings.client)), os.environ
        )
    # Scenarios still open when the run ends (interrupted by Ctrl-C) are closed by after_all.
    context.open_worlds = []
    context.services = ServiceStack(settings)
    try:
        context.services.start()
    except EnvironmentProblem as problem:
        if results is not None:
            record_run_problem(results, "Start the realtime services", problem)
        raise


def replay_hint(seed: int) -> str:
    return f"Seed {seed} — replay this run with: behave -D seed={seed}"


def load_settings(context: Context) -> Settings:
    defines = dict(context.config.userdata_defines or [])
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), os.environ, defines)


def before_tag(context: Context, tag: str) -> None:
    if tag.startswith("fixture."):
        if tag not in TAG_FIXTURES:
            raise LookupError(f"Unknown fixture tag @{tag}; known: {', '.join(sorted(TAG_FIXTURES))}")
        use_fixture(TAG_FIXTURES[tag], context)


def before_scenario(context: Context, scenario: Scenario) -> None:
    seed = scenario_seed(context.settings.seed, scenario.feature.filename, scenario.name)
    context.services.reset(seed)
    context.world = ScenarioWorld(settings=context.settings, services=context.services, seed=seed)
    context.open_worlds.append(context.world)
    context.world.mark("scenario start")


def after_scenario(context: Context, scenario: Scenario) -> None:
    world: ScenarioWorld = context.world
    # Events are read before the clients are disposed, so the story ends where the scenario did.
    events = {name: driver.events() for name, driver in world.clients.items()}
    leaks = world.close()
    context.open_worlds.remove(world)
    attach_what_happened(context, scenario, world, events)
    if leaks:
        raise AssertionError(f"The client left work running after the scenario: {'; '.join(leaks)}")


def attach_what_happened(
    context: Context, scenario: Scenario, world: ScenarioWorld, events: dict[str, list[ObservedEvent]]
) -> None:
    """The scenario's picture, transcript and story, for the report; secrets are redacted from each."""
    start, end = world.since("scenario start"), time.monotonic()
    journal = context.services.journal_entries()
    # What the scenario measured comes first, so the numbers are not lost among hundreds of events.
    findings = "".join(f"{finding}\n\n" for finding in world.findings)
    attachments = (
        ("Connection timeline", render_timeline(events, journal, start, end, scenario.name), "SVG"),
        ("Message transcript", transcript_table(context.services.transcript(), start), "HTML"),
        ("What happened", f"Scenario seed {world.seed}\n\n{findings}{story(events, journal, start)}", "TEXT"),
    )
    for name, body, kind in attachments:
        allure.attach(
            redact(body, world.secrets), name=name, attachment_type=getattr(allure.attachment_type, kind)
        )


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
