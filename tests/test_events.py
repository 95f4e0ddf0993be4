"""The client's events, typed (support/drivers/events): every kind the reference client emits and
docs/protocol.md names has a class, and the decoder turns what a driver saw into the typed event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.drivers.base import ObservedEvent
from support.drivers.events import (
    KINDS,
    AuthFailed,
    AvatarSessionCleanup,
    ConfigUpdated,
    Event,
    MessageDelivered,
    OtherEvent,
    PartCleanup,
    PublishUnsent,
    ReconnectScheduled,
    SessionCleanup,
    StateChanged,
    decode,
)
from support.harness.facts import UnreadableFacts
from tests.source_scan import Scan, missing, scan, scan_made, together

ROOT = Path(__file__).resolve().parent.parent


# The link hands on the events the sans-I/O session core made (``reaction.emit("session:resumed", …)``), which
# the scan reads where they are made.
PASSED_ON = {"link.py: event.name"}


def emitted(root: Path) -> Scan:
    """Every event emitted under ``root``: straight away, or made as the session core's ``Emit``."""
    return together(scan(root, "emit", lambda _: True, PASSED_ON), scan_made(root, "Emit", PASSED_ON))


# -- every kind has a class --------------------------------------------------------------------------------


def test_every_event_the_reference_client_emits_has_a_class_with_its_facts() -> None:
    found = emitted(ROOT / "reference_client")
    assert found.unresolved == []
    assert len({place.name for place in found.written}) >= 45  # the scan did find the client's events
    assert missing(found.written, KINDS) == []
    assert sorted(KINDS.names() - {place.name for place in found.written}) == []  # no class for nothing


def test_every_event_kind_the_protocol_document_names_has_a_class() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = text.split("## Client events", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {name for cell in first_cells for name in re.findall(r"`([a-z_]+(?::[a-z_]+)?)`", cell)}
    assert {"state:changed", "publish:refused", "session:cleanup", "subsystem:initialized"} <= named
    assert sorted(named - KINDS.names()) == []


def test_the_scan_reports_an_event_kind_without_a_class(tmp_path: Path) -> None:
    module = tmp_path / "client.py"
    module.write_text(
        "class Client:\n"
        "    def go(self, on):\n"
        '        self._events.emit("state:changed", state="ready", previous="connecting", reason="")\n'
        '        self._events.emit("video:started" if on else "video:stopped", resolution="720p")\n'
        '        self._events.emit("state:changed", state="ready", mood="cheerful")\n'
        "        self._events.emit(self.kind)\n",
        encoding="utf-8",
    )
    found = emitted(module)
    assert found.unresolved == ["client.py:6: self.kind"]
    assert missing(found.written, KINDS) == [
        "client.py:4: 'video:started' has no class",
        "client.py:4: 'video:stopped' has no class",
        "client.py:5: 'state:changed' names facts no class has: ['mood', 'state']",
    ]


# -- decoding --------------------------------------------------------------------------------------------


def test_an_event_is_decoded_to_its_class_with_its_facts_and_time() -> None:
    event = decode("reconnect:scheduled", {"attempt": 3, "delay_ms": 250, "reason": "reset"}, at=4.5)
    assert event == ReconnectScheduled(attempt=3, delay_ms=250, base_delay_ms=0.0, reason="reset", at=4.5)
    assert event.kind == "reconnect:scheduled"
    assert KINDS.classes("reconnect:scheduled") == [ReconnectScheduled]
    assert event.facts() == {"attempt": 3, "delay_ms": 250, "base_delay_ms": 0.0, "reason": "reset"}


def test_a_fact_left_out_takes_its_default_and_one_no_class_knows_is_not_kept_on_the_event() -> None:
    event = decode("auth:error", {"status": None, "error": "invalid_client", "trace": "x"})
    assert isinstance(event, AuthFailed)
    assert (event.status, event.error, event.retryable, event.retry_after_ms) == (
        None,
        "invalid_client",
        False,
        None,
    )
    assert not hasattr(event, "trace")


def test_an_unknown_kind_is_kept_as_another_event_with_all_it_said() -> None:
    event = decode("video:started", {"resolution": "720p"}, at=2.0)
    assert event == OtherEvent(kind="video:started", data={"resolution": "720p"}, at=2.0)
    assert event.facts() == {"resolution": "720p"}
    assert KINDS.classes("video:started") == []


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("state:changed", {"state": 3}, "client event 'state:changed': state should be str, not 3"),
        ("message", {"seq": "7"}, "client event 'message': seq should be int, not '7'"),
        (
            "auth:error",
            {"retryable": "yes"},
            "client event 'auth:error': retryable should be bool, not 'yes'",
        ),
        ("publish:unsent", {"ids": ["a", 2]}, "client event 'publish:unsent': ids should be list[str], not"),
        ("reconnect:scheduled", {"delay_ms": True}, "delay_ms should be float, not True"),
        ("config:updated", {"new": ["level"]}, "new should be dict[str, Any], not ['level']"),
    ],
)
def test_a_fact_of_the_wrong_type_is_refused_naming_the_kind_and_the_fact(
    name: str, data: dict, said: str
) -> None:
    with pytest.raises(UnreadableFacts, match=re.escape(said)):
        decode(name, data)


def test_a_number_where_a_float_is_due_and_none_where_allowed_are_taken() -> None:
    assert decode("reconnect:scheduled", {"delay_ms": 5}).delay_ms == 5  # type: ignore[attr-defined]
    assert decode("error:classified", {"close_code": None}).close_code is None  # type: ignore[attr-defined]
    assert decode("message", {"data": {"n": 1}}) == MessageDelivered(data={"n": 1})
    assert decode("config:updated", {"new": {"level": "DEBUG"}}) == ConfigUpdated(new={"level": "DEBUG"})


def test_one_name_with_two_shapes_is_told_apart_by_its_component() -> None:
    avatar = decode(
        "session:cleanup", {"component": "avatar", "session_id": "s-1", "closed_at_service": True}
    )
    realtime = decode("session:cleanup", {"session_id": "r-1", "subscriptions": ["news"], "unsent": 2})
    assert isinstance(avatar, AvatarSessionCleanup) and avatar.closed_at_service is True
    assert isinstance(realtime, SessionCleanup) and realtime.subscriptions == ["news"]
    assert isinstance(avatar, PartCleanup) and isinstance(realtime, PartCleanup)


def test_an_observed_event_carries_its_typed_event_with_the_time_it_was_seen() -> None:
    observed = ObservedEvent(
        "state:changed", {"state": "ready", "previous": "connected", "reason": "x"}, at=9.0
    )
    assert observed.event == StateChanged(state="ready", previous="connected", reason="x", at=9.0)
    assert observed.event is observed.event  # decoded once
    assert isinstance(ObservedEvent("publish:unsent", {"ids": ["m1"], "count": 1}).event, PublishUnsent)


def test_every_event_class_is_frozen_with_a_default_for_every_fact() -> None:
    for cls in KINDS.classes():
        made = cls()
        assert isinstance(made, Event) and made.at == 0.0
        with pytest.raises(AttributeError):
            made.at = 1.0  # type: ignore[misc]
