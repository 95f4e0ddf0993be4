"""Reading a client's events: what states it went through, what it delivered, how it retried, and, for
failure messages, what it is doing now and what led there (``describe_client``).

Plain functions over the events a driver observed, so they can be unit-tested without a client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from realtime_protocol.secrets import mask_secrets
from support.drivers.base import ObservedEvent
from support.drivers.events import (
    AuthFailed,
    ConnectionLost,
    ErrorClassified,
    Event,
    HeartbeatTimeout,
    MessageDelivered,
    ReconnectScheduled,
    StateChanged,
    UnusableFrame,
)
from support.harness.queries import Events


def states(events: Sequence[ObservedEvent]) -> list[str]:
    """The states the client went through, in order."""
    return [change.state for change in Events(events).of(StateChanged)]


def states_since(events: Sequence[ObservedEvent], since: float) -> list[str]:
    return [change.state for change in Events(events).of(StateChanged, since=since)]


def delivered(events: Sequence[ObservedEvent], channel: str) -> list[Any]:
    """The data of every message the client delivered to the application on a channel, in order."""
    return [message.data for message in Events(events).of(MessageDelivered, channel=channel)]


def delivered_numbers(events: Sequence[ObservedEvent], channel: str) -> list[int]:
    """The numbers of a numbered stream (data ``{"n": …}``) as delivered, in order."""
    return [int(data["n"]) for data in delivered(events, channel) if isinstance(data, dict) and "n" in data]


def final_reason(events: Sequence[ObservedEvent]) -> str:
    last = Events(events).last(StateChanged)
    return last.reason if last is not None else ""


# -- what a client is doing, in the scenario's words ------------------------------------------------------

_STILL = ("connecting", "authenticating", "connected", "reconnecting", "closing")


def describe_client(
    events: Sequence[ObservedEvent] | Events,
    state: str | None = None,
    *,
    who: str = "the client",
    since: float | None = None,
    since_words: str = "the disruption",
) -> str:
    """What a client is doing now and what led there, as a sentence for a failure message: "the client is
    still reconnecting (retry 4, after: the server refused the connection)", "the client had already failed:
    it gave up after 3 retries; last error: …". ``state`` is the state the client says it is in (by default
    the last one it reported); with ``since``, a client whose state has not changed since then is said to be
    so. Secret-named fields in what the client reported are masked."""
    seen = Events(events)
    changes = seen.of(StateChanged)
    now = state or (changes[-1].state if changes else "initialized")
    last = next((change for change in reversed(changes) if change.state == now), None)
    reason = _plain(last.reason) if last is not None else ""
    told = _state_story(seen, now, reason, who)
    if since is not None and not any(change.at >= since for change in changes):
        told += f"; its state has not changed since {since_words}"
    return told


def describe_health(
    health: Mapping[str, Any], events: Sequence[ObservedEvent], who: str = "the client"
) -> str:
    """What a client says of its health, as a sentence: its overall status, its state and what led there, and
    each part that is not up with the facts it gives."""
    told = f"{who} reports itself {health.get('status') or 'nothing'}, and "
    told += describe_client(events, str(health.get("state") or "") or None, who="it")
    if health.get("last_error"):
        told += f"; its last error: {_plain(health['last_error'])}"
    parts = health.get("subsystems")
    for part, facts in parts.items() if isinstance(parts, Mapping) else ():
        if isinstance(facts, Mapping) and facts.get("status") != "up":
            shown = ", ".join(
                f"{key.replace('_', ' ')} {_plain(value)}"
                for key, value in facts.items()
                if key != "status" and value not in (None, "", [], {})
            )
            told += f"; its {part} is {facts.get('status')}" + (f" ({shown})" if shown else "")
    return told


def _state_story(seen: Events, state: str, reason: str, who: str) -> str:
    if state == "initialized":
        return f"{who} has not set out to connect: it is still initialized"
    if state == "failed":
        why = reason or _last_trouble(seen) or "it gave no reason"
        return f"{who} had already failed: " + (f"it {why}" if why.startswith("gave up") else why)
    if state == "ready":
        return f"{who} is ready"
    if state == "reconnecting":
        retry = seen.last(ReconnectScheduled)
        if retry is not None:
            pause = f", waiting {float(retry.delay_ms):.0f} ms"
            after = _plain(retry.reason)
            told = f"{who} is still reconnecting (retry {retry.attempt or '?'}{pause}"
            return told + (f", after: {after})" if after else ")")
    if state in _STILL:
        told = f"{who} is still {state}" + (f" ({reason})" if reason else "")
        ready = seen.last(StateChanged, state="ready")
        trouble = _last_trouble(seen, after=ready.at if ready is not None else 0.0)
        return told + (f"; its last error: {trouble}" if trouble else "")
    return f"{who} is {state}" + (f": {reason}" if reason else "")


def _last_trouble(seen: Events, after: float = 0.0) -> str:
    """The last thing the client said went wrong (after ``after``), in its own words; "" when nothing did."""
    for event in reversed(seen.of(_TROUBLE, since=after)):
        said = _went_wrong(event)
        if said:
            return said
    return ""


# The events that say something went wrong.
_TROUBLE = (ErrorClassified, AuthFailed, ConnectionLost, UnusableFrame, HeartbeatTimeout)


def _went_wrong(event: Event) -> str:
    """What an event says went wrong, in the client's words; "" for an event that says nothing went wrong."""
    if isinstance(event, ErrorClassified):
        return _plain(event.error)
    if isinstance(event, AuthFailed):
        return _plain(event.description)
    if isinstance(event, ConnectionLost | UnusableFrame):
        return _plain(event.reason)
    if isinstance(event, HeartbeatTimeout):
        return "no reply to its heartbeat"
    return ""


def _plain(value: object) -> str:
    """A value the client reported, as plain text with any secret-named field masked."""
    return mask_secrets(str(value)).strip() if value is not None else ""


def describe_since_shutdown(
    events: Sequence[ObservedEvent], state: str, changes: Sequence[str], opened: int
) -> str:
    """What a client did after it was told to shut down, for a failure message: the states it went through,
    the connections the gateway saw, and where it is now."""
    went = ", then ".join(changes) if changes else "no state at all"
    told = f"since shutting down the client went through {went}"
    told += f", and the gateway saw {opened} new connection{'' if opened == 1 else 's'}; now "
    return told + describe_client(events, state, who="it")


def connection_trouble(events: Sequence[ObservedEvent], since: float) -> list[str]:
    """Each time, since ``since``, the client lost its connection, missed a heartbeat reply or left the state
    it was in, in plain words."""
    told = []
    for event in Events(events).of((ConnectionLost, HeartbeatTimeout, StateChanged), since=since):
        if isinstance(event, ConnectionLost):
            told.append(f"it lost its connection ({_plain(event.reason)})")
        elif isinstance(event, HeartbeatTimeout):
            told.append("it missed a heartbeat reply")
        elif isinstance(event, StateChanged):
            reason = _plain(event.reason)
            told.append(f"it went into {event.state}" + (f" ({reason})" if reason else ""))
    return told


def times(count: int) -> str:
    """ "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
