"""Reading a client's reconnection schedule against its backoff policy, and how a crowd's retries spread out.

The policy is worked out here on its own, not borrowed from the client: a client that gets it wrong must not
also be its own judge. Plain functions over observed events, so they can be tested without a client.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

from support.drivers.base import ClientTimings, ObservedEvent
from support.drivers.events import ConnectionLost, ReconnectScheduled, StateChanged
from support.harness.queries import Events

# Delays are reported to a tenth of a millisecond, so one on a bound may be off by half of that (and a hair
# more, for the binary fractions of floating point).
ROUNDING_MS = 0.051
# How far apart two readings of the monotonic clock can be for the same instant, in milliseconds.
CLOCK_RESOLUTION_MS = 2.0
# n clients drawing their pauses uniformly from a window spread over (n - 1) / (n + 1) of it on average; a
# spread under half of that happens by chance with a probability below 1 in 300 for 10 clients and 1 in ten
# million for 30, so anything less is lockstep, not bad luck.
MIN_SPREAD_FRACTION = 0.5
HISTOGRAM_BINS = 12
BARS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Policy:
    """A backoff policy as the suite reads it: no pause before the first retry (a prompt first retry), then
    the initial pause, growing by the multiplier on each retry up to the cap, each drawn within ± the jitter
    fraction of its base and never above the cap."""

    initial_ms: float
    multiplier: float
    max_ms: float
    jitter: float

    @classmethod
    def of(cls, timings: ClientTimings) -> Policy:
        return cls(
            timings.backoff_initial_ms,
            timings.backoff_multiplier,
            timings.backoff_max_ms,
            timings.backoff_jitter,
        )

    def base_ms(self, retry: int) -> float:
        """The pause before retry ``retry`` (1-based), before jitter."""
        if retry <= 1:
            return 0.0
        try:
            return min(self.max_ms, self.initial_ms * self.multiplier ** (retry - 2))
        except OverflowError:
            return self.max_ms

    def bounds_ms(self, retry: int) -> tuple[float, float]:
        """The shortest and longest pause the jitter allows before this retry."""
        base = self.base_ms(retry)
        return base * (1 - self.jitter), min(self.max_ms, base * (1 + self.jitter))

    def longest_s(self, retries: int) -> float:
        """The longest the first ``retries`` retries may wait in all, in seconds."""
        return sum(self.bounds_ms(number)[1] for number in range(1, retries + 1)) / 1000

    def allowed_spread_ms(self, retry: int) -> float:
        """How wide the window is that the jitter spreads this retry's pause over."""
        low, high = self.bounds_ms(retry)
        return high - low

    def describe(self) -> str:
        return (
            f"no pause before the first retry, then {self.initial_ms:g} ms growing ×{self.multiplier:g} per "
            f"retry up to {self.max_ms:g} ms, each ±{self.jitter:.0%}"
        )


@dataclass(frozen=True)
class PlannedRetry:
    """One ``reconnect:scheduled`` event, and when the attempt it planned began (the client said it was
    connecting); times are ``time.monotonic()``."""

    number: int
    delay_ms: float
    base_ms: float
    planned_at: float
    began_at: float | None

    @property
    def waited_ms(self) -> float | None:
        return None if self.began_at is None else (self.began_at - self.planned_at) * 1000


def planned_retries(events: Sequence[ObservedEvent], since: float) -> list[PlannedRetry]:
    """Every retry the client planned since ``since``, in order, each with the moment its attempt began: the
    first time the client said it was connecting after planning it (events are taken in the order seen)."""
    retries: list[PlannedRetry] = []
    waiting: ReconnectScheduled | None = None
    for event in Events(events).of((ReconnectScheduled, StateChanged), since=since):
        if isinstance(event, ReconnectScheduled):
            if waiting is not None:
                retries.append(_planned(waiting, None))
            waiting = event
        elif waiting is not None and event.state == "connecting":
            retries.append(_planned(waiting, event.at))
            waiting = None
    if waiting is not None:
        retries.append(_planned(waiting, None))
    return retries


def _planned(event: ReconnectScheduled, began_at: float | None) -> PlannedRetry:
    return PlannedRetry(
        number=event.attempt,
        delay_ms=float(event.delay_ms),
        base_ms=float(event.base_delay_ms),
        planned_at=event.at,
        began_at=began_at,
    )


def begun(retries: Sequence[PlannedRetry]) -> int:
    """How many of the planned retries, counted from the first, have begun."""
    return next((index for index, retry in enumerate(retries) if retry.began_at is None), len(retries))


@dataclass(frozen=True)
class ScheduleRow:
    """One retry of the schedule: what the policy allows and what the client did."""

    retry: int
    base_ms: float
    low_ms: float
    high_ms: float
    planned: PlannedRetry | None
    problems: tuple[str, ...]


def judge(retries: Sequence[PlannedRetry], policy: Policy, count: int, late_ms: float) -> list[ScheduleRow]:
    """The first ``count`` retries against the policy. A retry may begin up to ``late_ms`` after its pause
    (the machine may be busy), never before."""
    rows = []
    for number in range(1, count + 1):
        low, high = policy.bounds_ms(number)
        planned = retries[number - 1] if number <= len(retries) else None
        problems = [] if planned is None else _problems(number, planned, policy, late_ms)
        rows.append(ScheduleRow(number, policy.base_ms(number), low, high, planned, tuple(problems)))
    return rows


def _problems(number: int, planned: PlannedRetry, policy: Policy, late_ms: float) -> list[str]:
    problems = []
    low, high = policy.bounds_ms(number)
    pause = planned.delay_ms
    if planned.number != number:
        problems.append(f"retry {number} was counted as retry {planned.number}")
    if abs(planned.base_ms - policy.base_ms(number)) > ROUNDING_MS:
        problems.append(
            f"retry {number} was based on a {planned.base_ms:g} ms pause, the policy says "
            f"{policy.base_ms(number):g} ms"
        )
    if pause > policy.max_ms + ROUNDING_MS:
        problems.append(
            f"the pause before retry {number} was {pause:g} ms, above the cap of {policy.max_ms:g} ms"
        )
    elif not low - ROUNDING_MS <= pause <= high + ROUNDING_MS:
        problems.append(
            f"the pause before retry {number} was {pause:g} ms, outside the {low:g}–{high:g} ms the policy "
            "allows"
        )
    waited = planned.waited_ms
    if waited is not None and waited < pause - CLOCK_RESOLUTION_MS:
        problems.append(
            f"retry {number} began {waited:.1f} ms after it was planned, before its {pause:g} ms pause"
        )
    elif waited is not None and waited > pause + late_ms:
        problems.append(
            f"retry {number} began {waited:.1f} ms after it was planned, more than {late_ms:g} ms after its "
            f"{pause:g} ms pause"
        )
    return problems


def schedule_problems(rows: Sequence[ScheduleRow], policy: Policy) -> list[str]:
    """Everything wrong with the schedule, in plain words; empty when it follows the policy."""
    problems = [problem for row in rows for problem in row.problems]
    missing = [row.retry for row in rows if row.planned is None]
    if missing:
        problems.append(f"retries {', '.join(map(str, missing))} were never planned")
    if rows and rows[-1].base_ms < policy.max_ms:
        problems.append(
            f"the first {len(rows)} retries never reach the cap of {policy.max_ms:g} ms, so the cap goes "
            "untested"
        )
    return problems


def schedule_rows(rows: Sequence[ScheduleRow]) -> list[tuple[str, ...]]:
    """The schedule as rows of words: retry, base pause, allowed pause, planned pause, waited, verdict."""
    table = [("Retry", "Base pause", "Allowed pause", "Planned pause", "Began after", "Verdict")]
    for row in rows:
        planned = row.planned
        waited = planned.waited_ms if planned is not None else None
        table.append(
            (
                str(row.retry),
                f"{row.base_ms:g} ms",
                f"{row.low_ms:g}–{row.high_ms:g} ms",
                "never planned" if planned is None else f"{planned.delay_ms:g} ms",
                "—" if waited is None else f"{waited:.1f} ms",
                "; ".join(row.problems) or ("missing" if planned is None else "as the policy says"),
            )
        )
    return table


def schedule_text(rows: Sequence[ScheduleRow], policy: Policy) -> str:
    return _text_table(f"Reconnection schedule ({policy.describe()})", schedule_rows(rows))


def schedule_html(rows: Sequence[ScheduleRow], policy: Policy) -> str:
    return _html_table(
        "Reconnection schedule",
        f"The policy: {policy.describe()}. Each pause must lie within the allowed window; each retry must "
        "begin once its pause is over.",
        schedule_rows(rows),
    )


# -- a crowd's retries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetrySpread:
    """When each client of a crowd began one retry, in ms after they were all dropped, and how wide a window
    the policy's jitter gives that retry's pause."""

    retry: int
    moments_ms: tuple[float, ...]
    allowed_ms: float

    @property
    def spread_ms(self) -> float:
        return max(self.moments_ms) - min(self.moments_ms) if self.moments_ms else 0.0

    @property
    def expected_ms(self) -> float:
        """How wide the moments spread on average when every client draws its pause independently."""
        count = len(self.moments_ms)
        return self.allowed_ms * (count - 1) / (count + 1) if count else 0.0

    @property
    def required_ms(self) -> float:
        return MIN_SPREAD_FRACTION * self.expected_ms


def retry_moments(events: Sequence[ObservedEvent], since: float, retries: int) -> list[float]:
    """When the client began each of its first ``retries`` retries, in ms after ``since``."""
    return [(event.at - since) * 1000 for event in _states_since(events, since, "connecting")][:retries]


def spreads(
    events: Mapping[str, Sequence[ObservedEvent]], since: float, retries: int, policy: Policy
) -> list[RetrySpread]:
    """For each of the first ``retries`` retries, when every client began it."""
    moments = [retry_moments(seen, since, retries) for seen in events.values()]
    return [
        RetrySpread(
            retry,
            tuple(each[retry - 1] for each in moments if len(each) >= retry),
            policy.allowed_spread_ms(retry),
        )
        for retry in range(1, retries + 1)
    ]


def lockstep_problems(measured: Sequence[RetrySpread]) -> list[str]:
    """Each retry whose moments bunch up more than the policy's jitter allows by chance."""
    return [
        f"retry {spread.retry} began within {spread.spread_ms:.1f} ms across {len(spread.moments_ms)} "
        "clients, "
        f"less than the {spread.required_ms:.1f} ms expected of a {spread.allowed_ms:g} ms jitter window"
        for spread in measured
        if spread.spread_ms < spread.required_ms
    ]


def spread_rows(measured: Sequence[RetrySpread]) -> list[tuple[str, ...]]:
    table = [
        ("Retry", "Clients", "First", "Median", "Last", "Spread", "Jitter allows", "At least", "Histogram")
    ]
    for spread in measured:
        moments = spread.moments_ms or (0.0,)
        table.append(
            (
                str(spread.retry),
                str(len(spread.moments_ms)),
                f"{min(moments):.1f} ms",
                f"{statistics.median(moments):.1f} ms",
                f"{max(moments):.1f} ms",
                f"{spread.spread_ms:.1f} ms",
                f"{spread.allowed_ms:g} ms" if spread.allowed_ms else "0 ms (immediate by policy)",
                f"{spread.required_ms:.1f} ms",
                histogram(spread.moments_ms),
            )
        )
    return table


def histogram(moments: Sequence[float], bins: int = HISTOGRAM_BINS) -> str:
    """A one-line picture of how the moments fall between the first and the last: a bar per slice of time,
    as tall as the share of clients in it."""
    if not moments:
        return ""
    low, high = min(moments), max(moments)
    counts = [0] * bins
    for moment in moments:
        index = bins - 1 if high == low else min(bins - 1, int((moment - low) / (high - low) * bins))
        counts[index] += 1
    top = max(counts)
    return "".join(BARS[math.ceil(count / top * (len(BARS) - 1))] for count in counts)


def spread_text(measured: Sequence[RetrySpread]) -> str:
    return _text_table(
        "Retries of clients dropped at the same moment (ms after the drop)", spread_rows(measured)
    )


def spread_html(measured: Sequence[RetrySpread]) -> str:
    return _html_table(
        "Retry spread",
        "Every client was dropped at the same moment. For each retry: when the clients began it (ms after "
        "the drop), how widely those moments spread, and the least spread expected of the jitter policy.",
        spread_rows(measured),
    )


# -- helpers ---------------------------------------------------------------------------------------------


def _states_since(events: Sequence[ObservedEvent], since: float, state: str) -> list[StateChanged]:
    return Events(events).of(StateChanged, since=since, state=state)


def _text_table(title: str, table: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[column]) for row in table) for column in range(len(table[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    return "\n".join([title, *lines])


def _html_table(title: str, note: str, table: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in table[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table[1:]
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:16px}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}</style>"
        f"</head><body><h3>{escape(title)}</h3><p>{escape(note)}</p><table><tr>{head}</tr>{body}</table>"
        "</body></html>"
    )


def ready_lifetimes_ms(events: Sequence[ObservedEvent], since: float) -> list[float]:
    """How long each connection ready since ``since`` (a monotonic time) stayed ready before the client lost
    it, in ms, oldest first; a connection still ready is not counted."""
    lifetimes, ready_at = [], None
    for event in Events(events).of((StateChanged, ConnectionLost), since=since):
        if isinstance(event, StateChanged) and event.state == "ready":
            ready_at = event.at
        elif isinstance(event, ConnectionLost) and ready_at is not None:
            lifetimes.append((event.at - ready_at) * 1000)
            ready_at = None
    return lifetimes
