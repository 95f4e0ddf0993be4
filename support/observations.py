"""Reading a client's events: what states it went through, what it delivered, how it retried.

Plain functions over the events a driver observed, so they can be unit-tested without a client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from support.drivers.base import ObservedEvent


def named(events: Sequence[ObservedEvent], name: str) -> list[ObservedEvent]:
    return [event for event in events if event.name == name]


def named_since(events: Sequence[ObservedEvent], name: str, since: float) -> list[ObservedEvent]:
    return [event for event in events if event.name == name and event.at >= since]


def names(events: Sequence[ObservedEvent]) -> list[str]:
    return [event.name for event in events]


def states(events: Sequence[ObservedEvent]) -> list[str]:
    """The states the client went through, in order."""
    return [str(event.data["state"]) for event in named(events, "state:changed")]


def states_since(events: Sequence[ObservedEvent], since: float) -> list[str]:
    return [str(event.data["state"]) for event in named(events, "state:changed") if event.at >= since]


def first(events: Sequence[ObservedEvent], name: str, since: float = 0.0) -> ObservedEvent | None:
    return next((event for event in events if event.name == name and event.at >= since), None)


def delivered(events: Sequence[ObservedEvent], channel: str) -> list[Any]:
    """The data of every message the client delivered to the application on a channel, in order."""
    return [
        event.data.get("data") for event in named(events, "message") if event.data.get("channel") == channel
    ]


def delivered_numbers(events: Sequence[ObservedEvent], channel: str) -> list[int]:
    """The numbers of a numbered stream (data ``{"n": …}``) as delivered, in order."""
    return [int(data["n"]) for data in delivered(events, channel) if isinstance(data, dict) and "n" in data]


def final_reason(events: Sequence[ObservedEvent]) -> str:
    changes = named(events, "state:changed")
    return str(changes[-1].data.get("reason", "")) if changes else ""
