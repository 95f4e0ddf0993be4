"""Network faults named in words: how they parse and scale, what they apply, and how recovery is measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from support.areas.network_faults import (
    FaultPlan,
    Toxic,
    apply_fault,
    lifted_at,
    parse_fault,
    recovery_bound_s,
    recovery_s,
)
from support.drivers.base import ObservedEvent
from support.harness.settings import Settings, read_ini_defaults
from support.services.proxy import FaultRecord

ROOT = Path(__file__).resolve().parent.parent


def settings(**overrides: str) -> Settings:
    return Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "1", **overrides})


@pytest.mark.parametrize(
    ("words", "plan"),
    [
        ("the network drops for 30 s", FaultPlan("", 600, down=True)),
        ("the network drops for 500 ms", FaultPlan("", 10, down=True)),
        ("the network goes off and on every 5 s for 60 s", FaultPlan("", 1200, flapping_ms=(100, 100))),
        (
            "a latency of 2 s ± 500 ms for 20 s",
            FaultPlan("", 400, toxics=(Toxic("latency", {"latency": 40, "jitter": 10}),)),
        ),
        (
            "the bandwidth throttled to 2 KB/s for 45 s",  # a rate is not a duration: not scaled
            FaultPlan("", 900, toxics=(Toxic("bandwidth", {"rate": 2}),)),
        ),
        (
            "the stream sliced into 50-byte pieces 1 ms apart for 20 s",
            FaultPlan(
                "", 400, toxics=(Toxic("slicer", {"average_size": 50, "size_variation": 25, "delay": 20}),)
            ),
        ),
        ("a half-open link for 30 s", FaultPlan("", 600, toxics=(Toxic("timeout", {"timeout": 0}),))),
        (
            "connections reset by peer after 5 s, for 30 s",
            FaultPlan("", 600, toxics=(Toxic("reset_peer", {"timeout": 100}),)),
        ),
        (
            "connections cut after 200 bytes, for 30 s",
            FaultPlan("", 600, toxics=(Toxic("limit_data", {"bytes": 200}),)),
        ),
        (
            "connections cut after 200 bytes with the close held back 10 s, for 30 s",
            FaultPlan(
                "", 600, toxics=(Toxic("limit_data", {"bytes": 200}), Toxic("slow_close", {"delay": 200}))
            ),
        ),
    ],
)
def test_faults_in_real_time_become_plans_in_suite_time(words: str, plan: FaultPlan) -> None:
    parsed = parse_fault(words, time_scale=0.02)
    assert parsed.words == words
    assert parsed.lasting_ms == pytest.approx(plan.lasting_ms)
    assert (parsed.down, parsed.flapping_ms) == (plan.down, plan.flapping_ms)
    assert [toxic.kind for toxic in parsed.toxics] == [toxic.kind for toxic in plan.toxics]
    for got, expected in zip(parsed.toxics, plan.toxics, strict=True):
        assert got.attributes == pytest.approx(expected.attributes)


def test_an_unknown_fault_is_refused_in_one_line_listing_the_known_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r'^The scenario is written wrong: unknown network fault "gremlins".* Known: "the network drops',
    ) as error:
        parse_fault("gremlins", 0.02)
    assert "\n" not in str(error.value)


class FakeNetwork:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def add_toxic(self, kind: str, stream: str = "downstream", **attributes: float) -> FaultRecord:
        self.calls.append(("toxic", kind, stream, attributes))
        return FaultRecord(kind, kind, stream, dict(attributes), 0.0)

    def down(self) -> FaultRecord:
        self.calls.append(("down",))
        return FaultRecord("down", "down", None, {}, 0.0)

    def start_flapping(self, *, up_ms: float, down_ms: float, variation: float = 0.0) -> FaultRecord:
        self.calls.append(("flapping", up_ms, down_ms, variation))
        return FaultRecord("flapping", "flapping", None, {}, 0.0)

    def heal_after(self, delay_ms: float) -> None:
        self.calls.append(("heal after", delay_ms))


def test_a_plan_applies_its_faults_and_has_the_network_heal_itself_when_its_time_is_up() -> None:
    network = FakeNetwork()
    apply_fault(
        parse_fault("connections cut after 200 bytes with the close held back 10 s, for 30 s", 0.02), network
    )
    assert network.calls == [
        ("toxic", "limit_data", "downstream", {"bytes": 200}),
        ("toxic", "slow_close", "downstream", {"delay": 200}),
        ("heal after", 600),
    ]
    network = FakeNetwork()
    apply_fault(parse_fault("the network goes off and on every 5 s for 60 s", 0.02), network)
    assert network.calls == [("flapping", 100, 100, 0.2), ("heal after", 1200)]


def test_recovery_bounds_come_from_the_backoff_connect_and_grace_settings() -> None:
    suite = settings(
        backoff_max_ms="400", backoff_jitter="0.2", detection_grace_ms="500", connect_timeout_ms="1000"
    )
    assert recovery_bound_s("at once", suite) == 0
    assert recovery_bound_s("within a retry pause", suite) == pytest.approx(0.98)
    assert recovery_bound_s("within a connection timeout and a retry pause", suite) == pytest.approx(1.98)
    with pytest.raises(ValueError, match=r'unknown recovery bound "soon".* Known: .*"at once"'):
        recovery_bound_s("soon", suite)


def test_the_network_is_back_when_every_fault_since_the_disruption_is_lifted() -> None:
    old = FaultRecord("down", "down", None, {}, applied_at=1.0)  # before the disruption: not counted
    first = FaultRecord("down", "down", None, {}, applied_at=10.0, lifted_at=10.5)
    second = FaultRecord("latency_downstream", "latency", "downstream", {}, applied_at=10.1)
    assert lifted_at([old, first, second], since=10.0) is None
    second.lifted_at = 10.7
    assert lifted_at([old, first, second], since=10.0) == 10.7
    assert lifted_at([old], since=10.0) is None


def state(value: str, at: float) -> ObservedEvent:
    return ObservedEvent("state:changed", {"state": value}, at)


def test_recovery_counts_from_the_network_healing_to_the_client_being_ready_for_good() -> None:
    stayed = [state("ready", 1.0), ObservedEvent("message", {}, 5.0)]
    assert recovery_s(stayed, healed_at=4.0) == 0
    came_back = [
        state("ready", 1.0),
        state("disconnected", 3.0),
        state("reconnecting", 3.0),
        state("ready", 4.3),
    ]
    assert recovery_s(came_back, healed_at=4.0) == pytest.approx(0.3)
    assert recovery_s(came_back[:-1], healed_at=4.0) is None
    assert recovery_s([], healed_at=4.0) is None
