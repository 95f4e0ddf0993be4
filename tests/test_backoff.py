"""Reading a reconnection schedule against its policy, and a crowd's retry spread, from made-up events; and a
scenario setting its clients' timings."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, cast

import pytest

from support.areas.backoff import (
    PlannedRetry,
    Policy,
    RetrySpread,
    begun,
    histogram,
    judge,
    lockstep_problems,
    planned_retries,
    ready_lifetimes_ms,
    schedule_html,
    schedule_problems,
    schedule_text,
    spread_text,
    spreads,
)
from support.drivers.base import ObservedEvent
from support.harness.settings import Settings, read_ini_defaults
from support.harness.world import ScenarioWorld

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "7"})
POLICY = Policy(initial_ms=50, multiplier=2, max_ms=400, jitter=0.2)
T0 = 100.0


def scheduled(ms: float, attempt: int, delay_ms: float, base_ms: float) -> ObservedEvent:
    data = {"attempt": attempt, "delay_ms": delay_ms, "base_delay_ms": base_ms, "reason": "refused"}
    return ObservedEvent("reconnect:scheduled", data, T0 + ms / 1000)


def connecting(ms: float) -> ObservedEvent:
    return ObservedEvent("state:changed", {"state": "connecting"}, T0 + ms / 1000)


def following(delays: list[float], late_ms: float = 1.0, policy: Policy = POLICY) -> list[ObservedEvent]:
    """The events of a client that planned these pauses, each retry beginning ``late_ms`` after its pause and
    failing at once."""
    events, now = [], 0.0
    for number, delay in enumerate(delays, start=1):
        events.append(scheduled(now, number, delay, policy.base_ms(number)))
        now += delay + late_ms
        events.append(connecting(now))
    return events


def test_the_policy_has_no_pause_before_the_first_retry_then_grows_to_the_cap() -> None:
    assert [POLICY.base_ms(number) for number in range(1, 7)] == [0, 50, 100, 200, 400, 400]
    assert POLICY.bounds_ms(2) == pytest.approx((40, 60))
    assert POLICY.bounds_ms(6) == pytest.approx((320, 400))  # jitter never takes a pause above the cap
    assert POLICY.allowed_spread_ms(1) == 0
    assert Policy(50, 10, 400, 0).base_ms(10_000) == 400  # far past the cap, no overflow


def test_each_retry_is_paired_with_the_moment_it_began() -> None:
    events = [*following([0, 55, 90]), scheduled(500, 4, 210, 200)]
    retries = planned_retries(events, T0)
    assert [retry.number for retry in retries] == [1, 2, 3, 4]
    assert retries[1].waited_ms == pytest.approx(56)
    assert retries[3].began_at is None
    assert begun(retries) == 3
    assert planned_retries(events, T0 + 1) == []  # nothing since a later moment


def test_a_schedule_that_follows_the_policy_has_no_problems() -> None:
    rows = judge(planned_retries(following([0, 55, 90, 230, 330, 400]), T0), POLICY, 6, late_ms=100)
    assert schedule_problems(rows, POLICY) == []
    text = schedule_text(rows, POLICY)
    assert "320–400 ms" in text and "as the policy says" in text
    assert "<table>" in schedule_html(rows, POLICY)


@pytest.mark.parametrize(
    ("planned", "problem"),
    [
        (PlannedRetry(3, 100, 100, T0, T0 + 0.101), "retry 2 was counted as retry 3"),
        (PlannedRetry(2, 50, 100, T0, T0 + 0.051), "based on a 100 ms pause, the policy says 50 ms"),
        (PlannedRetry(2, 61, 50, T0, T0 + 0.062), "was 61 ms, outside the 40–60 ms the policy allows"),
        (PlannedRetry(2, 401, 50, T0, T0 + 0.402), "was 401 ms, above the cap of 400 ms"),
        (
            PlannedRetry(2, 50, 50, T0, T0 + 0.010),
            "began 10.0 ms after it was planned, before its 50 ms pause",
        ),
        (PlannedRetry(2, 50, 50, T0, T0 + 0.200), "more than 100 ms after its 50 ms pause"),
    ],
)
def test_each_departure_from_the_policy_is_named(planned: PlannedRetry, problem: str) -> None:
    first = PlannedRetry(1, 0, 0, T0 - 1, T0 - 1)
    rows = judge([first, planned], POLICY, 2, late_ms=100)
    assert any(problem in found for found in rows[1].problems), rows[1].problems


def test_missing_retries_and_a_cap_never_reached_are_problems() -> None:
    rows = judge(planned_retries(following([0, 50]), T0), POLICY, 3, late_ms=100)
    problems = schedule_problems(rows, POLICY)
    assert "retries 3 were never planned" in problems
    assert any("never reach the cap of 400 ms" in problem for problem in problems)


def crowd(moments: list[list[float]]) -> dict[str, list[ObservedEvent]]:
    return {f"client {index}": [connecting(ms) for ms in each] for index, each in enumerate(moments)}


def test_a_crowd_drawing_across_the_window_is_not_in_lockstep() -> None:
    rng = random.Random(1)
    moments = [[rng.uniform(0, 2), 50 + rng.uniform(-10, 10)] for _ in range(30)]
    measured = spreads(crowd(moments), T0, 2, POLICY)
    assert [spread.retry for spread in measured] == [1, 2]
    assert measured[1].allowed_ms == pytest.approx(20)
    assert measured[1].expected_ms == pytest.approx(20 * 29 / 31)
    assert lockstep_problems(measured) == []
    assert "immediate by policy" in spread_text(measured)


def test_a_crowd_retrying_together_is_in_lockstep() -> None:
    moments = [[1.0, 51.0 + index * 0.1] for index in range(30)]
    (problem,) = lockstep_problems(spreads(crowd(moments), T0, 2, POLICY))
    assert problem.startswith("retry 2 began within 2.9 ms across 30 clients")


def test_a_retry_the_policy_makes_at_once_may_bunch_up() -> None:
    assert lockstep_problems([RetrySpread(1, (0.0, 0.0, 0.0), 0.0)]) == []


def test_the_histogram_has_a_bar_per_slice_as_tall_as_its_share() -> None:
    assert histogram([0, 0, 0, 10], bins=2) == "█▃"
    assert histogram([5, 5]).strip() == "█"
    assert histogram([]) == ""


def test_a_scenario_sets_its_clients_timings_before_making_any() -> None:
    world = ScenarioWorld(settings=SETTINGS, services=cast(Any, None), seed=1)
    assert world.client_timings().retry_limit == SETTINGS.retry_limit
    timings = world.adjust_client_timings(retry_limit=2, backoff_jitter=0.5)
    assert (timings.retry_limit, timings.backoff_jitter) == (2, 0.5)
    assert world.client_timings().backoff_initial_ms == SETTINGS.backoff_initial_ms
    with pytest.raises(ValueError, match='unknown client timing "retries"'):
        world.adjust_client_timings(retries=2)
    world.clients["the client"] = cast(Any, object())
    with pytest.raises(RuntimeError, match="before any client is made"):
        world.adjust_client_timings(retry_limit=1)


def test_how_long_each_connection_stayed_ready_before_it_was_lost() -> None:
    def event(name: str, at: float, **data: object) -> ObservedEvent:
        return ObservedEvent(name, dict(data), at)

    events = [
        event("state:changed", 1.0, state="ready"),  # before the moment: not counted
        event("connection:lost", 1.5),
        event("state:changed", 10.0, state="ready"),
        event("connection:lost", 10.08),
        event("state:changed", 10.3, state="ready"),  # still ready: not counted
    ]
    assert ready_lifetimes_ms(events, since=5.0) == pytest.approx([80.0])


def test_the_longest_the_first_retries_may_wait_is_the_sum_of_their_upper_bounds() -> None:
    policy = Policy(initial_ms=50, max_ms=400, multiplier=2.0, jitter=0.2)
    expected = sum(policy.bounds_ms(number)[1] for number in (1, 2, 3)) / 1000
    assert policy.longest_s(3) == pytest.approx(expected)
