"""What a mock service or the fault proxy saw and did, in order, for steps and reports to read.

Entries carry monotonic timestamps (the same clock the client's events use), so one scenario's
client events, service journals and faults line up on a single timeline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from realtime_protocol.secrets import mask_secrets, redact_data
from support.services.records import KINDS, OtherRecord, Record


def describe_facts(name: str, facts: Mapping[str, Any]) -> str:
    """``name (key=value, …)`` for people to read, each value in words (``fact_in_words``); facts without a
    value are left out. Secrets are masked in every value: secret-named fields inside a value (a message
    carrying a password), and bearer credentials and tokens in text (``realtime_protocol.secrets``)."""
    shown = ", ".join(f"{key}={fact_in_words(value)}" for key, value in facts.items() if value is not None)
    return name + (f" ({shown})" if shown else "")


def fact_in_words(value: Any) -> str:
    """One fact's value in words, never as Python writes it: yes or no for True and False, a dictionary as
    ``key: value`` pairs and a list as its items, listed with "and" ("none" when empty), text without quotes.
    A dictionary or list inside another is put in parentheses when it has several items. Secrets are
    masked as ``describe_facts`` says."""
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        return in_words(redact_data(value), pair=": ", grouped=True)
    return in_words(value) if isinstance(value, bool) else mask_secrets(str(value))


def in_words(value: Any, *, quoted: bool = False, pair: str = " ", grouped: bool = False) -> str:
    """A value as a sentence shows it: None as "nothing", yes or no for True and False, a dictionary's
    items as ``key`` ``pair`` ``value`` and a list's items, listed with "and" ("none" when empty); text in
    double quotes when ``quoted``; with ``grouped``, a dictionary or list inside another in parentheses when
    it has several items. The one way the suite words a value, for facts and failure messages alike."""
    return _worded(value, quoted, pair, grouped, inside=False)


def _worded(value: Any, quoted: bool, pair: str, grouped: bool, inside: bool) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return f'"{value}"' if quoted else value
    if isinstance(value, Mapping):
        items = [f"{key}{pair}{_worded(item, quoted, pair, grouped, True)}" for key, item in value.items()]
    elif isinstance(value, list | tuple):
        items = [_worded(item, quoted, pair, grouped, True) for item in value]
    else:
        return str(value)
    if not items:
        return "none"
    listed = items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return f"({listed})" if grouped and inside and len(items) > 1 else listed


@dataclass(frozen=True)
class JournalEntry:
    at: float
    source: str
    kind: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.source}: {describe_facts(self.kind, self.detail)}"

    @cached_property
    def record(self) -> Record:
        """This entry typed (``support.services.records``), with its time and service: the class registered
        for its name (for this service, where two services write the name), or an ``OtherRecord`` for a name
        with no class. Raises ``support.harness.facts.UnreadableFacts`` when a fact is of the wrong type."""
        cls = KINDS.pick(self.kind, {**self.detail, "service": self.source})
        if cls is None:
            return OtherRecord(kind=self.kind, facts=dict(self.detail), at=self.at, service=self.source)
        return KINDS.build(cls, self.kind, self.detail, at=self.at, service=self.source)


class Journal:
    """A thread-safe, append-only record. Callers must never put secrets in ``detail``."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._entries: list[JournalEntry] = []
        self._lock = threading.Lock()

    def record(self, kind: str, **detail: Any) -> JournalEntry:
        entry = JournalEntry(at=time.monotonic(), source=self.source, kind=kind, detail=detail)
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, kind: str | None = None, **matching: Any) -> list[JournalEntry]:
        with self._lock:
            snapshot = list(self._entries)
        return [
            entry
            for entry in snapshot
            if (kind is None or entry.kind == kind)
            and all(entry.detail.get(key) == value for key, value in matching.items())
        ]

    def count(self, kind: str, **matching: Any) -> int:
        return len(self.entries(kind, **matching))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())


class TaggedJournal(Journal):
    """Another view of a journal: what it records joins the same entries, each with the given facts added
    (say, which gateway node did it)."""

    def __init__(self, journal: Journal, **facts: Any) -> None:
        super().__init__(journal.source)
        self._entries, self._lock = journal._entries, journal._lock
        self.facts = facts

    def record(self, kind: str, **detail: Any) -> JournalEntry:
        return super().record(kind, **detail, **self.facts)
