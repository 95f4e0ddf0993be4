"""Saying, in a failure message, what a client is doing and what led there, in the scenario's words."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hamcrest import equal_to

from support.drivers.base import ObservedEvent
from support.harness.observations import (
    connection_trouble,
    describe_client,
    describe_health,
    describe_since_shutdown,
)
from support.harness.people import Person
from support.harness.settings import Settings, read_ini_defaults
from support.harness.waiting import check, holds_throughout, wait_for
from support.harness.world import MAIN_CLIENT, ScenarioWorld

ROOT = Path(__file__).resolve().parent.parent


def event(name: str, at: float, **data: Any) -> ObservedEvent:
    return ObservedEvent(name=name, data=data, at=at)


def change(state: str, at: float, reason: str = "") -> ObservedEvent:
    return event("state:changed", at, state=state, reason=reason)


READY = [change("connecting", 1, "the application asked to connect"), change("ready", 2, "a new session")]
GAVE_UP = [
    change("connecting", 1, "the application asked to connect"),
    change("authenticating", 1.1, "presenting credentials"),
    event("auth:error", 1.2, status=401, error="invalid_client", description="The API key is not recognised"),
    change("failed", 1.3, "gave up: the auth service said invalid_client: The API key is not recognised"),
]
RECONNECTING = [
    *READY,
    event("connection:lost", 3, reason="the connection was reset", code=1006),
    change("reconnecting", 3.1, "retry 1 after: the connection was reset"),
    event("reconnect:scheduled", 3.1, attempt=1, delay_ms=0.0, reason="the connection was reset"),
    change("connecting", 3.2, "retry 1"),
    change("reconnecting", 3.3, "retry 4 after: the server refused the connection"),
    event("reconnect:scheduled", 3.3, attempt=4, delay_ms=383.4, reason="the server refused the connection"),
]


def plain(message: str) -> None:
    """A sentence for people: no tuples, lists, dicts, reprs or objects in it."""
    assert not re.search(r"[\[\]{}<>]|\(\s*'|'\s*,", message), message
    assert "ObservedEvent" not in message and "\n" not in message


def test_a_failed_client_is_said_to_have_failed_with_the_reason_it_gave() -> None:
    with pytest.raises(AssertionError) as caught:
        wait_for(
            lambda: "failed",
            equal_to("ready"),
            within_s=0.01,
            what="the client to be ready",
            seen=lambda state: describe_client(GAVE_UP, state),
        )
    assert str(caught.value) == (
        "Waited 0.01 s for the client to be ready, but it did not happen: the client had already failed: it "
        "gave up: the auth service said invalid_client: The API key is not recognised."
    )
    plain(str(caught.value))


def test_a_failed_client_without_a_reason_is_said_to_have_failed_with_its_last_error() -> None:
    seen = [*READY, event("connection:lost", 3, reason="the connection was reset"), change("failed", 4)]
    assert describe_client(seen) == "the client had already failed: the connection was reset"


def test_a_reconnecting_client_is_said_to_be_on_its_latest_retry_and_why() -> None:
    told = describe_client(RECONNECTING, "reconnecting")
    assert told == (
        "the client is still reconnecting (retry 4, waiting 383 ms, after: the server refused the connection)"
    )
    plain(told)


def test_a_client_on_its_way_says_how_far_it_got_and_the_last_error_since_it_was_ready() -> None:
    seen = [
        *RECONNECTING,
        change("connecting", 3.7, "retry 4"),
        change("authenticating", 3.8, "presenting credentials"),
        event(
            "auth:error", 3.9, status=503, description="Down for maintenance", error="temporarily_unavailable"
        ),
    ]
    assert describe_client(seen) == (
        "the client is still authenticating (presenting credentials); its last error: Down for maintenance"
    )


def test_a_client_that_never_set_out_is_said_to_be_still_initialized() -> None:
    assert describe_client([]) == "the client has not set out to connect: it is still initialized"
    assert (
        describe_client([], "initialized", who="ann")
        == "ann has not set out to connect: it is still initialized"
    )


def test_a_client_whose_state_did_not_change_since_a_moment_says_so() -> None:
    told = describe_client(READY, "ready", since=5.0, since_words="the disruption")
    assert told == "the client is ready; its state has not changed since the disruption"
    assert describe_client(RECONNECTING, since=3.0) == describe_client(RECONNECTING)  # it did change since


def test_a_closed_client_says_why() -> None:
    seen = [
        *READY,
        change("closing", 5, "the application asked to shut down"),
        change("closed", 6, "shutdown complete"),
    ]
    assert describe_client(seen) == "the client is closed: shutdown complete"


def test_a_secret_in_what_the_client_reported_is_never_shown() -> None:
    seen = [change("failed", 1, "gave up: refused api_key=key_abcdef123 with token: eyJhbGciOi.eyJzdWIi.sig")]
    told = describe_client(seen)
    assert "key_abcdef123" not in told and "eyJ" not in told
    assert "[REDACTED]" in told


def test_health_says_the_status_the_state_and_each_part_that_is_not_up() -> None:
    health = {
        "status": "degraded",
        "state": "reconnecting",
        "session_id": "s-1",
        "last_error": "the server refused the connection",
        "subsystems": {
            "auth": {"status": "up"},
            "avatar": {
                "status": "degraded",
                "mode": "voice_only",
                "last_error": "the avatar service said 503",
            },
        },
    }
    told = describe_health(health, RECONNECTING)
    assert told == (
        "the client reports itself degraded, and it is still reconnecting (retry 4, waiting 383 ms, after: "
        "the server refused the connection); its last error: the server refused the connection; its avatar "
        "is degraded (mode voice_only, last error the avatar service said 503)"
    )
    plain(told)


def test_trouble_with_the_connection_is_told_in_words() -> None:
    assert connection_trouble(RECONNECTING, 2.5) == [
        "it lost its connection (the connection was reset)",
        "it went into reconnecting (retry 1 after: the connection was reset)",
        "it went into connecting (retry 1)",
        "it went into reconnecting (retry 4 after: the server refused the connection)",
    ]
    assert connection_trouble(RECONNECTING, 10) == []


def test_holding_and_checking_say_what_was_seen_too() -> None:
    with pytest.raises(AssertionError) as held:
        holds_throughout(
            lambda: "reconnecting",
            equal_to("ready"),
            during_s=0.01,
            what="the client to stay ready",
            seen=lambda state: describe_client(RECONNECTING, state),
        )
    assert str(held.value) == (
        "Expected the client to stay ready for 0.01 s, but it changed: the client is still reconnecting "
        "(retry 4, waiting 383 ms, after: the server refused the connection)."
    )
    with pytest.raises(AssertionError) as checked:
        check(
            "failed", equal_to("ready"), what="the client's state", seen=lambda s: describe_client(GAVE_UP, s)
        )
    assert str(checked.value).startswith(
        "Checked the client's state, and it was not as expected: the client had already failed"
    )


# -- the scenario's waits for a state ------------------------------------------------------------------


class StuckClient:
    """Stands in for a driver: a client stuck in one state, having reported ``seen``."""

    def __init__(self, state: str, seen: list[ObservedEvent]) -> None:
        self.state, self._seen = state, seen

    def events(self) -> list[ObservedEvent]:
        return list(self._seen)


def world_with(client: StuckClient) -> ScenarioWorld:
    settings = Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"wait_timeout_ms": "20"})
    world = ScenarioWorld(settings, services=None, seed=1)  # type: ignore[arg-type]  # no service is needed
    world.clients[MAIN_CLIENT] = client  # type: ignore[assignment]
    return world


def test_a_wait_for_the_client_to_be_ready_says_it_had_already_failed_and_why() -> None:
    world = world_with(StuckClient("failed", GAVE_UP))
    with pytest.raises(AssertionError) as caught:
        world.await_state("ready", what="the client to be ready")
    assert str(caught.value) == (
        "Waited 0.02 s for the client to be ready, but it did not happen: the client had already failed: it "
        "gave up: the auth service said invalid_client: The API key is not recognised."
    )


def test_a_wait_for_the_client_to_be_ready_again_says_it_never_left_ready() -> None:
    world = world_with(StuckClient("ready", READY))
    world.moments["disruption"] = 10.0
    with pytest.raises(AssertionError) as caught:
        world.await_state("ready", what="the client to be ready again", since="disruption")
    assert str(caught.value) == (
        "Waited 0.02 s for the client to be ready again, but it did not happen: the client is ready; its "
        "state has not changed since the disruption."
    )


def test_a_wait_for_a_crowd_says_what_each_client_not_ready_is_doing() -> None:
    world = world_with(StuckClient("ready", READY))
    for name, client in [
        ("ann", StuckClient("failed", GAVE_UP)),
        ("bob", StuckClient("reconnecting", RECONNECTING)),
        ("cy", StuckClient("ready", READY)),
    ]:
        world.clients[name] = client  # type: ignore[assignment]
        world.crowd.people[name] = Person(name=name, api_key="k", read=(), publish=())
    with pytest.raises(AssertionError) as caught:
        world.crowd.await_ready()
    assert str(caught.value) == (
        "Waited 0.02 s for every client of the crowd to be ready, but it did not happen: 2 of 3 not ready: "
        "ann had already failed: it gave up: the auth service said invalid_client: The API key is not "
        "recognised; bob is still reconnecting (retry 4, waiting 383 ms, after: the server refused the "
        "connection)."
    )


def test_what_a_client_did_after_shutting_down_is_told_in_words() -> None:
    seen = [*READY, change("closing", 5, "asked to shut down"), change("closed", 6), change("connecting", 7)]
    told = describe_since_shutdown(seen, "connecting", ["closing", "closed", "connecting"], 1)
    assert told == (
        "since shutting down the client went through closing, then closed, then connecting, and the gateway "
        "saw 1 new connection; now it is still connecting"
    )
