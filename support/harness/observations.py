"""Reading a client's events: what states it went through, what it delivered, how it retried, and, for
failure messages, what it is doing now and what led there (``describe_client``).

Plain functions over the events a driver observed, so they can be unit-tested without a client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from realtime_protocol.secrets import mask_secrets
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


# -- what a client is doing, in the scenario's words ------------------------------------------------------

# Events that say what went wrong, and the field of each that says it best.
_TROUBLE = {
    "error:classified": "error",
    "auth:error": "description",
    "connection:lost": "reason",
    "heartbeat:timeout": None,
    "protocol:error": "reason",
}
_STILL = ("connecting", "authenticating", "connected", "reconnecting", "closing")


def describe_client(
    events: Sequence[ObservedEvent],
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
    changes = named(events, "state:changed")
    now = state or (str(changes[-1].data.get("state")) if changes else "initialized")
    last = next((change for change in reversed(changes) if change.data.get("state") == now), None)
    reason = _plain(last.data.get("reason")) if last is not None else ""
    told = _state_story(events, now, reason, who)
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


def _state_story(events: Sequence[ObservedEvent], state: str, reason: str, who: str) -> str:
    if state == "initialized":
        return f"{who} has not set out to connect: it is still initialized"
    if state == "failed":
        why = reason or _last_trouble(events) or "it gave no reason"
        return f"{who} had already failed: " + (f"it {why}" if why.startswith("gave up") else why)
    if state == "ready":
        return f"{who} is ready"
    if state == "reconnecting":
        retry = next((e for e in reversed(named(events, "reconnect:scheduled"))), None)
        if retry is not None:
            pause = f", waiting {float(retry.data.get('delay_ms') or 0):.0f} ms"
            after = _plain(retry.data.get("reason"))
            told = f"{who} is still reconnecting (retry {retry.data.get('attempt', '?')}{pause}"
            return told + (f", after: {after})" if after else ")")
    if state in _STILL:
        told = f"{who} is still {state}" + (f" ({reason})" if reason else "")
        trouble = _last_trouble(events, after=_last_ready(events))
        return told + (f"; its last error: {trouble}" if trouble else "")
    return f"{who} is {state}" + (f": {reason}" if reason else "")


def _last_ready(events: Sequence[ObservedEvent]) -> float:
    ready = [e.at for e in named(events, "state:changed") if e.data.get("state") == "ready"]
    return ready[-1] if ready else 0.0


def _last_trouble(events: Sequence[ObservedEvent], after: float = 0.0) -> str:
    """The last thing the client said went wrong (after ``after``), in its own words; "" when nothing did."""
    for event in reversed(events):
        if event.at < after:
            break
        if event.name in _TROUBLE:
            field = _TROUBLE[event.name]
            said = _plain(event.data.get(field)) if field else ""
            if event.name == "heartbeat:timeout":
                said = "no reply to its heartbeat"
            if said:
                return said
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
    for event in events:
        if event.at < since:
            continue
        if event.name == "connection:lost":
            told.append(f"it lost its connection ({_plain(event.data.get('reason'))})")
        elif event.name == "heartbeat:timeout":
            told.append("it missed a heartbeat reply")
        elif event.name == "state:changed":
            reason = _plain(event.data.get("reason"))
            told.append(f"it went into {event.data.get('state')}" + (f" ({reason})" if reason else ""))
    return told


def times(count: int) -> str:
    """ "once", "twice", "3 times"."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
