"""The one query over the client's typed events and the services' typed records (support/harness/queries),
and that steps read events and records only through it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from support.drivers.base import ObservedEvent
from support.drivers.events import (
    AuthCleanup,
    ConnectionLost,
    Disconnected,
    OtherEvent,
    PartCleanup,
    SessionCleanup,
    StateChanged,
)
from support.harness.queries import Events, Records
from support.services.journal import Journal
from support.services.records import (
    GatewayPublish,
    GatewayPublishAccepted,
    GatewayPublishRefused,
    TlsHandshake,
)

ROOT = Path(__file__).resolve().parent.parent


def seen(name: str, at: float, **data: Any) -> ObservedEvent:
    return ObservedEvent(name, data, at)


EVENTS = Events(
    [
        seen("state:changed", 1.0, state="connecting", reason="asked"),
        seen("state:changed", 2.0, state="ready", reason="a new session"),
        seen("connection:lost", 3.0, reason="reset", code=1006),
        seen("state:changed", 3.1, state="reconnecting", reason="retry 1"),
        seen("state:changed", 3.5, state="connecting", reason="retry 1"),
        seen("state:changed", 4.0, state="ready", reason="resumed"),
        seen("video:started", 4.5, resolution="720p"),
        seen("session:cleanup", 5.0, session_id="s-1", subscriptions=[], unsent=0),
        seen("auth:cleanup", 5.1, reason="shutdown", tokens_cleared=["access_token"]),
        seen("disconnected", 5.2, code=1000, reason="shutdown"),
    ]
)


def test_of_picks_a_kind_oldest_first_since_a_moment_and_with_facts() -> None:
    assert [change.state for change in EVENTS.of(StateChanged)] == [
        "connecting",
        "ready",
        "reconnecting",
        "connecting",
        "ready",
    ]
    assert [change.at for change in EVENTS.of(StateChanged, since=3.1)] == [3.1, 3.5, 4.0]
    assert [change.reason for change in EVENTS.of(StateChanged, state="ready")] == [
        "a new session",
        "resumed",
    ]
    assert EVENTS.of(StateChanged, since=2.5, state="ready", reason="a new session") == []


def test_first_last_and_count() -> None:
    assert EVENTS.first(StateChanged, state="ready").at == 2.0  # type: ignore[union-attr]
    assert EVENTS.last(StateChanged, state="ready").at == 4.0  # type: ignore[union-attr]
    assert EVENTS.first(StateChanged, since=4.1) is None
    assert EVENTS.last(StateChanged, state="failed") is None
    assert EVENTS.count(StateChanged) == 5
    assert EVENTS.count(ConnectionLost, code=1006) == 1
    assert EVENTS.count(ConnectionLost, code=1000) == 0


def test_where_takes_a_test_and_a_kind_takes_its_subclasses_and_tuples() -> None:
    assert [change.at for change in EVENTS.where(StateChanged, lambda change: change.at > 3.5)] == [4.0]
    assert [type(event) for event in EVENTS.of(PartCleanup)] == [SessionCleanup, AuthCleanup]
    assert [event.kind for event in EVENTS.of((PartCleanup, Disconnected))] == [
        "session:cleanup",
        "auth:cleanup",
        "disconnected",
    ]


def test_an_unknown_kind_is_there_to_be_found_and_everything_can_be_walked_in_order() -> None:
    (other,) = EVENTS.of(OtherEvent, kind="video:started")
    assert other.data == {"resolution": "720p"} and other.at == 4.5
    assert len(EVENTS) == 10
    assert [event.at for event in EVENTS] == sorted(event.at for event in EVENTS)


def test_a_fact_the_kind_does_not_have_is_an_error_not_an_empty_answer() -> None:
    with pytest.raises(TypeError, match="StateChanged has no fact stat; it has at, previous, reason, state"):
        EVENTS.of(StateChanged, stat="ready")


def test_records_are_read_from_a_journal_by_kind_service_and_facts() -> None:
    journal = Journal("gateway")
    journal.record("publish accepted", session="s", id="m1", channel="news")
    journal.record("publish refused", session="s", subject="reader", id="m2", channel="news")
    journal.record("publish accepted", session="s", id="m3", channel="sport")
    journal.record("tls handshake")
    records = Records(journal)
    assert [record.id for record in records.of(GatewayPublishAccepted, channel="news")] == ["m1"]
    assert [record.id for record in records.of(GatewayPublish)] == ["m1", "m2", "m3"]
    assert records.first(GatewayPublishRefused).subject == "reader"  # type: ignore[union-attr]
    assert records.count(TlsHandshake, service="gateway") == 1
    assert records.count(TlsHandshake, service="auth service") == 0
    mixed = Records([*journal.entries(), *Journal("auth service").entries()])
    assert mixed.count(GatewayPublish, since=journal.entries()[1].at) == 2


# What steps must not do: read an event's or an entry's facts out of a dictionary, or look one up by name.
DIGGING = re.compile(
    r"\.data\.get\(|\.data\[|\.detail\b|journal\.(entries|count)\(\s*\"|observations\.(named|first|names)\b"
    r"|\.name\s*(==|!=|in)\s"
)


def test_no_step_digs_in_an_event_or_an_entry_or_looks_one_up_by_name() -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((ROOT / "steps").glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if DIGGING.search(line)
    ]
    assert found == []


def test_the_guard_sees_digging() -> None:
    for line in [
        'event.data.get("state")',
        'entry.detail.get("session")',
        'journal.entries("session started")',
        'journal.count("tls handshake")',
        'observations.named(events, "subscribed")',
        'e.name == "state:changed"',
    ]:
        assert DIGGING.search(line), line
    assert not DIGGING.search('context.world.logs.count("reference_client", logging.DEBUG)')
