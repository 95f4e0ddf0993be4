"""One small query over what a scenario saw: the client's typed events (``Events``) and the services' typed
journal records (``Records``), so that no step looks anything up by its name or digs in a dictionary.

    Events(client.events()).of(StateChanged)                     # every state change, oldest first
    Events(client.events()).last(StateChanged, state="ready")    # the last time it was ready, or None
    Events(client.events()).count(ReconnectScheduled, since=world.since("disruption"))
    Records(services.gateway_journal).of(GatewayPublishAccepted, channel="news")
    Records(services.journal_entries()).count(TlsHandshake, service="gateway")

A kind is a class (``support.drivers.events``, ``support.services.records``) or a tuple of them, and takes
its subclasses too (``PartCleanup``: every part's clean-up). ``since`` keeps what came at or after a moment
(``time.monotonic()``); named facts keep what has those values, and a fact the kind does not have is an
error (``TypeError``), not an empty answer. Everything comes oldest first, in the order it was seen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from support.drivers.base import ObservedEvent
from support.drivers.events import Event
from support.harness.facts import field_names
from support.services.journal import JournalEntry
from support.services.records import Record

T = TypeVar("T", Event, Record)
K = TypeVar("K")
Kind = type[K] | tuple[type[K], ...]


class Query(Generic[T]):
    """Typed events or records, oldest first, to pick from by kind, time and facts."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items = items._items if isinstance(items, Query) else list(items)

    def of(self, kind: Kind[K], /, *, since: float | None = None, **facts: Any) -> list[K]:
        """Everything of ``kind`` (at or after ``since``, with these facts), oldest first."""
        # Run on every poll of a wait, over every event of a crowd: kept to plain comprehensions.
        chosen: list[Any] = [item for item in self._items if isinstance(item, kind)]
        if since is not None:
            chosen = [item for item in chosen if item.at >= since]
        if facts:
            for cls in kind if isinstance(kind, tuple) else (kind,):
                _has_facts(cls, facts)
            for name, value in facts.items():
                chosen = [item for item in chosen if getattr(item, name) == value]
        return chosen

    def where(self, kind: Kind[K], test: Callable[[K], bool], /, *, since: float | None = None) -> list[K]:
        """Everything of ``kind`` (at or after ``since``) for which ``test`` holds, oldest first."""
        return [item for item in self.of(kind, since=since) if test(item)]

    def first(self, kind: Kind[K], /, *, since: float | None = None, **facts: Any) -> K | None:
        """The first of ``kind`` (at or after ``since``, with these facts); None if there is none."""
        chosen = self.of(kind, since=since, **facts)
        return chosen[0] if chosen else None

    def last(self, kind: Kind[K], /, *, since: float | None = None, **facts: Any) -> K | None:
        """The last of ``kind`` (at or after ``since``, with these facts); None if there is none."""
        chosen = self.of(kind, since=since, **facts)
        return chosen[-1] if chosen else None

    def count(self, kind: Kind[K], /, *, since: float | None = None, **facts: Any) -> int:
        """How many of ``kind`` there are (at or after ``since``, with these facts)."""
        return len(self.of(kind, since=since, **facts))

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class Events(Query[Event]):
    """A client's events, typed, from what its driver observed (``ClientDriver.events()``), or from another
    ``Events`` (sharing its list)."""

    def __init__(self, observed: Iterable[ObservedEvent | Event]) -> None:
        super().__init__(observed if isinstance(observed, Events) else [item.event for item in observed])


class Records(Query[Record]):
    """The services' journal records, typed, from a journal or a list of its entries."""

    def __init__(self, entries: Iterable[JournalEntry | Record]) -> None:
        super().__init__([item.record if isinstance(item, JournalEntry) else item for item in entries])


def _has_facts(cls: type, facts: Mapping[str, Any]) -> None:
    unknown = facts.keys() - field_names(cls)
    if unknown:
        has = ", ".join(sorted(field_names(cls)))
        raise TypeError(f"{cls.__name__} has no fact {', '.join(sorted(unknown))}; it has {has}")
