"""Measuring a sign-in rush: many clients told to connect at once, each timed from being told to getting its
access token and to being ready, summed up for the report.

Timing is reported, never asserted: how fast a shared machine runs says little about the client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from support.drivers.base import ObservedEvent
from support.drivers.events import StateChanged, TokenAcquired
from support.harness import observations
from support.harness.queries import Events


@dataclass(frozen=True)
class ClientRush:
    """One client's part in the rush (times are ``time.monotonic()``)."""

    name: str
    told_at: float
    token_at: float | None
    ready_at: float | None
    session_id: str | None

    @property
    def succeeded(self) -> bool:
        return self.token_at is not None and self.ready_at is not None and self.session_id is not None

    @property
    def sign_in_ms(self) -> float | None:
        return None if self.token_at is None else (self.token_at - self.told_at) * 1000

    @property
    def ready_ms(self) -> float | None:
        return None if self.ready_at is None else (self.ready_at - self.told_at) * 1000


@dataclass(frozen=True)
class Spread:
    """Milliseconds: the median, the 95th percentile and the slowest."""

    p50: float
    p95: float
    max: float


@dataclass(frozen=True)
class RushSummary:
    count: int
    succeeded: int
    distinct_sessions: int
    sign_in: Spread | None  # None when no client got that far
    ready: Spread | None

    @property
    def success_rate(self) -> float:
        return self.succeeded / self.count if self.count else 0.0


def measure(
    told: Mapping[str, float],
    events: Mapping[str, Sequence[ObservedEvent]],
    sessions: Mapping[str, str | None],
) -> list[ClientRush]:
    """Each client's rush from when it was told to connect, its events and the session it ended with."""
    results = []
    for name, told_at in told.items():
        seen = Events(events.get(name, ()))
        token = seen.first(TokenAcquired, since=told_at)
        ready = seen.first(StateChanged, since=told_at, state="ready")
        results.append(
            ClientRush(
                name=name,
                told_at=told_at,
                token_at=token.at if token else None,
                ready_at=ready.at if ready else None,
                session_id=sessions.get(name),
            )
        )
    return results


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of the values at or below
    it (so the 95th of 200 values is the 190th smallest)."""
    if not values:
        raise ValueError("a percentile of no values is undefined")
    if not 0 < fraction <= 1:
        raise ValueError(f"the fraction must be in (0, 1], not {fraction}")
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def spread(values: Sequence[float]) -> Spread | None:
    if not values:
        return None
    return Spread(p50=percentile(values, 0.5), p95=percentile(values, 0.95), max=max(values))


def summarise(results: Sequence[ClientRush]) -> RushSummary:
    sessions = {result.session_id for result in results if result.session_id is not None}
    return RushSummary(
        count=len(results),
        succeeded=sum(result.succeeded for result in results),
        distinct_sessions=len(sessions),
        sign_in=spread([ms for result in results if (ms := result.sign_in_ms) is not None]),
        ready=spread([ms for result in results if (ms := result.ready_ms) is not None]),
    )


def summary_rows(summary: RushSummary) -> list[tuple[str, str]]:
    """The numbers as (what, value) rows in plain words."""

    def times(which: Spread | None) -> str:
        if which is None:
            return "none got this far"
        return f"median {which.p50:.0f} ms, 95th percentile {which.p95:.0f} ms, slowest {which.max:.0f} ms"

    timings = {"Time to get an access token": summary.sign_in, "Time to be ready": summary.ready}
    return [
        ("Clients told to connect at once", str(summary.count)),
        ("Signed in and ready", str(summary.succeeded)),
        ("Success rate", f"{summary.success_rate:.1%}"),
        ("Different sessions", str(summary.distinct_sessions)),
        *((what, times(timing)) for what, timing in timings.items()),
    ]


def summary_text(summary: RushSummary) -> str:
    rows = summary_rows(summary)
    width = max(len(what) for what, _ in rows)
    lines = ["Sign-in rush (times from being told to connect)", *(f"{w:<{width}}  {v}" for w, v in rows)]
    return "\n".join(lines)


def summary_html(summary: RushSummary) -> str:
    cells = "".join(f"<tr><th>{escape(w)}</th><td>{escape(v)}</td></tr>" for w, v in summary_rows(summary))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sign-in rush</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:16px}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}</style>"
        "</head><body><h3>Sign-in rush</h3><p>Each client is timed from the moment it was told to connect."
        f"</p><table>{cells}</table></body></html>"
    )


def has_been_ready(events: Sequence[ObservedEvent]) -> bool:
    return Events(events).first(StateChanged, state="ready") is not None


def unsettled(events: Mapping[str, Sequence[ObservedEvent]]) -> list[str]:
    """The clients that have neither been ready nor given up yet, each with what it is doing, in plain
    words."""
    told = []
    for name, observed in events.items():
        seen = Events(observed)
        if not {"ready", "failed"} & {change.state for change in seen.of(StateChanged)}:
            told.append(observations.describe_client(seen, who=name))
    return told


def never_ready(events: Mapping[str, Sequence[ObservedEvent]]) -> list[str]:
    """Each client that never became ready, with the state it is in and what led there."""
    return [
        f"{name} never became ready: " + observations.describe_client(seen, who="it")
        for name, seen in events.items()
        if not has_been_ready(seen)
    ]
