"""Coordination (features/coordination.feature) in the words scenarios use: the client's parts as failures
name them, how it recovers, and the events of start-up, shutdown and recovery read back in order.

Plain functions over plain data, so they can be tested without a client.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from support.drivers.base import ObservedEvent
from support.drivers.events import (
    Disconnected,
    Disconnecting,
    PartCleanup,
    PartFailed,
    RecoveryCompleted,
    RecoveryFailed,
    RecoveryStarted,
    SubsystemInitialized,
    SystemFailure,
)
from support.harness.queries import Events

# The parts of the client as failures name them (error:system's source), in the words of a scenario.
FAILURE_WORDS = {"its sign-in": "auth", "its connection": "connection", "its session": "session"}
_PART = "|".join(re.escape(words) for words in FAILURE_WORDS)
# Parts listed in words (the ``Parts`` parameter type): "its sign-in", "its sign-in and its session",
# "its sign-in, its connection and its session".
PARTS_PATTERN = rf"(?:{_PART})(?:(?:, | and )(?:{_PART}))*"
PARTS_LISTS = ("{part}", "{part} and {part}", "{part}, {part} and {part}")
# How the client recovers, by the words scenarios use (the ``RecoveryStrategy`` parameter type).
STRATEGY_WORDS = {
    "a full restart": "full_restart",
    "a new session": "new_session",
    "signing in again": "reauthenticate",
    "reconnecting": "reconnect",
}


def parts_named(words: str) -> list[str]:
    """The parts in "its sign-in, its connection and its session", as failures name them, in that order;
    KeyError for a part not in ``FAILURE_WORDS`` (the ``Parts`` parameter type lets none through)."""
    named = [part.strip() for part in re.split(r",| and ", words) if part.strip()]
    return [FAILURE_WORDS[part] for part in named]


def initialized_parts(events: Sequence[ObservedEvent]) -> list[str]:
    """The parts the client said it initialised, in the order it said so."""
    return [part.component for part in Events(events).of(SubsystemInitialized)]


def cleanup_sequence(events: Sequence[ObservedEvent]) -> list[str]:
    """The shutdown as reported: disconnecting, each part's ``<part>:cleanup``, disconnected, in order."""
    return [event.kind for event in Events(events).of((Disconnecting, PartCleanup, Disconnected))]


def recovery_story(events: Sequence[ObservedEvent]) -> list[str]:
    """The recovery events in order, each with what it is about: "error:system auth", "recovery:started",
    "system:failure auth+connection", "recovery:completed auth+connection" and so on."""
    story: list[str] = []
    told = (PartFailed, RecoveryStarted, SystemFailure, RecoveryCompleted, RecoveryFailed)
    for event in Events(events).of(told):
        if isinstance(event, PartFailed):
            story.append(f"{event.kind} {event.source}")
        elif isinstance(event, RecoveryStarted):
            story.append(event.kind)
        elif isinstance(event, SystemFailure):
            story.append(f"{event.kind} {'+'.join(event.failed_components)}")
        elif isinstance(event, RecoveryCompleted | RecoveryFailed):
            story.append(f"{event.kind} {'+'.join(event.components)}")
    return story


def expected_recovery(parts: Sequence[str]) -> list[str]:
    """The recovery story of one recovery from failures of ``parts``, in the order they failed."""
    story = [f"error:system {parts[0]}", "recovery:started", *(f"error:system {part}" for part in parts[1:])]
    if len(parts) > 1:
        story.append(f"system:failure {'+'.join(parts)}")
    return [*story, f"recovery:completed {'+'.join(parts)}"]
