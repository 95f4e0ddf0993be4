"""Client drivers against the real services on loopback: one loop for a crowd of reference clients, connecting
them together, closing them together, and leaving nothing behind; and a caller signing in over HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hamcrest import empty

from support.drivers import ClientDriver, ClientSetup, close_all, connect_all, make_driver, make_drivers
from support.drivers.reference import ReferenceClientDriver
from support.drivers.sign_in_caller import SignInCaller, summarise_answers
from support.harness.runtime import BackgroundLoop
from support.harness.settings import Settings, read_ini_defaults
from support.harness.waiting import wait_for
from support.harness.world import ScenarioWorld
from support.harness.world_parts import Configuration
from support.services.stack import ServiceStack

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "7"})


@pytest.fixture(scope="module")
def stack() -> Iterator[ServiceStack]:
    services = ServiceStack(SETTINGS)
    services.start()
    try:
        yield services
    finally:
        assert services.stop() == []


@pytest.fixture
def world(stack: ServiceStack) -> Iterator[ScenarioWorld]:
    stack.reset(seed=11)
    scenario = ScenarioWorld(settings=SETTINGS, services=stack, seed=11)
    try:
        yield scenario
    finally:
        assert scenario.close() == []


def loop_threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == f"loop:{name}"]


def all_ready(drivers: list[ClientDriver]) -> None:
    wait_for(
        lambda: [driver.state for driver in drivers if driver.state != "ready"],
        empty(),
        within_s=SETTINGS.wait_timeout_s,
        what="every client to be ready",
    )


def test_a_crowd_of_clients_shares_one_loop_thread(world: ScenarioWorld) -> None:
    before = len(loop_threads("clients"))
    people = [world.new_person() for _ in range(6)]
    drivers = world.create_crowd(people)
    assert len(loop_threads("clients")) == before + 1
    assert all(isinstance(driver, ReferenceClientDriver) for driver in drivers)
    assert list(world.clients) == [person.name for person in people]

    world.crowd.connect()
    told = [world.crowd.connect_told[person.name] for person in people]
    assert told == sorted(told) and told[-1] - told[0] < 1.0
    all_ready(drivers)
    sessions = {driver.session_id for driver in drivers}
    assert len(sessions) == 6 and None not in sessions

    assert world.close() == []
    assert len(loop_threads("clients")) == before
    assert all(driver.state == "closed" for driver in drivers)


def test_the_shared_loop_runs_until_the_last_client_is_disposed(stack: ServiceStack) -> None:
    drivers = make_drivers("reference", [setup(stack, seed) for seed in range(3)])
    loop = drivers[0]._loop  # type: ignore[attr-defined]
    assert all(driver._loop is loop for driver in drivers)  # type: ignore[attr-defined]
    assert drivers[0].dispose() == [] and loop.running
    assert drivers[0].dispose() == []  # disposing twice lets go only once
    assert drivers[1].dispose() == [] and loop.running
    assert drivers[2].dispose() == []
    assert not loop.running
    assert loop not in BackgroundLoop.still_running()


def test_closing_together_shuts_every_client_down_at_once(stack: ServiceStack) -> None:
    stack.reset(seed=12)
    drivers = make_drivers("reference", [setup(stack, seed, registered=True) for seed in range(20)])
    try:
        connect_all(drivers)
        all_ready(drivers)
        started = time.monotonic()
        close_all(drivers)
        took = time.monotonic() - started
        assert [driver.state for driver in drivers] == ["closed"] * 20
        assert took < SETTINGS.wait_timeout_s
    finally:
        leftovers = [leftover for driver in drivers for leftover in driver.dispose()]
    assert leftovers == []


def test_a_single_client_keeps_a_loop_of_its_own(stack: ServiceStack) -> None:
    driver = make_driver("reference", setup(stack, 1))
    assert driver._loop.name == "client"  # type: ignore[attr-defined]
    assert driver.dispose() == []


def test_no_setups_make_no_drivers_and_leave_no_loop() -> None:
    before = BackgroundLoop.still_running()
    assert make_drivers("reference", []) == []
    assert BackgroundLoop.still_running() == before
    assert connect_all([]) == []


def test_a_caller_signing_in_over_http_is_throttled_after_the_limit(world: ScenarioWorld) -> None:
    caller = world.caller_for_sign_ins()
    assert caller is world.caller_for_sign_ins()
    limit = SETTINGS.auth_failure_limit
    caller.burst([world.new_api_key(registered=False) for _ in range(limit + 2)])
    assert summarise_answers(caller.answers) == (
        f"{limit} answered 401 invalid_client, then 2 answered 429 rate_limited"
    )
    assert all(0 < (answer.retry_after_s or 0) <= 1 for answer in caller.answers[limit:])
    other = SignInCaller(world.services.endpoints.auth_url, "someone-else", SETTINGS.wait_timeout_s)
    assert other.attempt(world.new_api_key()).status == 200
    journal = world.services.auth_journal
    assert {entry.detail["caller"] for entry in journal.entries("sign-in throttled")} == {caller.client_id}


def setup(stack: ServiceStack, seed: int, registered: bool = False) -> ClientSetup:
    """How a client with its own key (known to the auth service, if asked) would be set up."""
    key = f"key-driver-test-{seed}"
    if registered:
        stack.auth.register_account(key, subject=f"person-{seed}")
    return ClientSetup(
        endpoints=stack.endpoints, api_key=key, timings=Configuration().client_timings(SETTINGS), seed=seed
    )
