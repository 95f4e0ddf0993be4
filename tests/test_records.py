"""The services' journal entries, typed (support/services/records): every entry a service writes has a record
class, and a journal entry gives its record, told apart by service where two write the same name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support.harness.facts import UnreadableFacts
from support.services.journal import Journal, JournalEntry, TaggedJournal
from support.services.records import (
    KINDS,
    AuthTokenRevoked,
    GatewayConnectionOpened,
    GatewaySessionResumed,
    GatewayTokenRevoked,
    NetworkConnectionOpened,
    NetworkFaultApplied,
    OtherRecord,
    Record,
    TlsHandshake,
)
from tests.source_scan import Scan, missing, scan, scan_made, together

ROOT = Path(__file__).resolve().parent.parent


# Where a journal is handed an entry made elsewhere: the gateway's sans-I/O core answers with ``Note`` actions
# (``reply.note("session resumed", …)``, ``Note("trouble programmed", {…})``), read where they are made.
PASSED_ON = {
    "connection.py: action.kind",
    "misbehaviour.py: note.kind",
    "server.py: note.kind",
    "actions.py: kind",
}


def journaled(root: Path) -> Scan:
    """Every entry written under ``root``: straight into a journal, or as the gateway's notes."""
    return together(
        scan(root, "record", lambda receiver: "journal" in receiver, PASSED_ON),
        scan(root, "note", lambda _: True, PASSED_ON),
        scan_made(root, "Note", PASSED_ON),
    )


def test_every_entry_a_service_journals_has_a_record_class_with_its_facts() -> None:
    found = journaled(ROOT / "support" / "services")
    assert found.unresolved == []
    names = {place.name for place in found.written}
    assert {"session resumed", "fault applied", "fault lifted", "compression turned down"} <= names
    assert missing(found.written, KINDS) == []
    assert sorted(KINDS.names() - names) == []  # no class for an entry nobody writes


def test_the_scan_reports_an_entry_without_a_record_class_even_when_its_name_is_passed_on(
    tmp_path: Path,
) -> None:
    module = tmp_path / "service.py"
    module.write_text(
        "class Service:\n"
        "    def go(self):\n"
        '        self.journal.record("session resumed", session="s", connection=1)\n'
        '        self._note("fault applied")\n'
        '        self._note("fault healed")\n'
        '        self.transcript.record(1.0, "to client")\n'
        '        self.journal.record("session resumed", session="s", mood="calm")\n'
        "\n"
        "    def _note(self, kind):\n"
        '        self._journal.record(kind, proxy="p", name="n")\n'
        "\n"
        "    def _other(self):\n"
        "        self.gateway_journal.record(self.kind)\n",
        encoding="utf-8",
    )
    found = journaled(module)
    assert found.unresolved == ["service.py:13: self.kind"]
    assert missing(found.written, KINDS) == [
        "service.py:7: 'session resumed' names facts no class has: ['mood', 'session']",
        "service.py:10: 'fault healed' has no class",
    ]


def test_an_entry_gives_its_record_with_its_time_and_service() -> None:
    entry = Journal("gateway").record("session resumed", session="s-1", connection=3, last_seq=7, replayed=2)
    assert entry.record == GatewaySessionResumed(
        session="s-1", connection=3, last_seq=7, replayed=2, at=entry.at, service="gateway"
    )
    assert entry.record.kind == "session resumed"


def test_a_gateway_node_tags_its_records() -> None:
    journal = Journal("gateway")
    TaggedJournal(journal, node="B").record(
        "session resumed", session="s-1", connection=1, last_seq=0, replayed=0
    )
    (entry,) = journal.entries()
    assert isinstance(entry.record, GatewaySessionResumed) and entry.record.node == "B"


def test_one_name_two_services_write_is_told_apart_by_the_service() -> None:
    gateway = Journal("gateway").record("connection opened", connection=4, subject="member-1")
    network = Journal("network").record("connection opened", proxy="gateway link", number=4)
    assert gateway.record == GatewayConnectionOpened(
        connection=4, subject="member-1", at=gateway.at, service="gateway"
    )
    assert network.record == NetworkConnectionOpened(
        proxy="gateway link", number=4, at=network.at, service="network"
    )
    assert isinstance(Journal("auth service").record("token revoked", token="fp:1").record, AuthTokenRevoked)
    assert isinstance(Journal("gateway").record("token revoked", connection=2).record, GatewayTokenRevoked)


def test_a_journal_of_another_name_gets_the_record_whose_facts_fit() -> None:
    entry = JournalEntry(
        at=1.0, source="hellos", kind="connection opened", detail={"proxy": "p", "number": 1}
    )
    assert isinstance(entry.record, NetworkConnectionOpened)
    assert isinstance(
        JournalEntry(1.0, "gateway hellos", "connection opened").record, GatewayConnectionOpened
    )


def test_an_entry_with_no_record_class_is_kept_with_all_its_facts() -> None:
    entry = JournalEntry(at=2.0, source="tests", kind="something odd", detail={"how": "very"})
    assert entry.record == OtherRecord(kind="something odd", facts={"how": "very"}, at=2.0, service="tests")


def test_a_fact_of_the_wrong_type_is_refused_naming_the_entry_and_the_fact() -> None:
    entry = JournalEntry(at=0.0, source="network", kind="fault applied", detail={"attributes": [1, 2]})
    with pytest.raises(
        UnreadableFacts, match=re.escape("journal entry 'fault applied': attributes should be")
    ):
        _ = entry.record


def test_faults_and_handshakes_read_as_their_records() -> None:
    applied = Journal("network").record(
        "fault applied",
        proxy="gateway link",
        name="latency",
        fault_kind="latency",
        stream="downstream",
        attributes={"latency": 100},
        description="100 ms late",
    )
    assert isinstance(applied.record, NetworkFaultApplied) and applied.record.attributes == {"latency": 100}
    handshake = Journal("avatar service").record("tls handshake")
    assert handshake.record == TlsHandshake(at=handshake.at, service="avatar service")


def test_every_record_class_is_frozen_with_a_default_for_every_fact() -> None:
    for cls in KINDS.classes():
        made = cls()
        assert isinstance(made, Record) and made.service == ""
        with pytest.raises(AttributeError):
            made.service = "gateway"  # type: ignore[misc]
