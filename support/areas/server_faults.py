"""Server faults: the ways a gateway can restart, and how a crowd of clients lived through one.

For each client: how and when it lost its connection, when it was ready again (its downtime), and whether it
resumed its own session, on which gateway node. For the crowd: the reconnection rate and the average
downtime, in a table for the report. Plain functions over what the clients and the gateway recorded, so they
can be tested without either.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from realtime_protocol import CloseCode, describe_close_code
from support.drivers.base import ObservedEvent
from support.drivers.events import ConnectionLost, SessionContinuityLost, SessionResumed, StateChanged
from support.harness import observations
from support.harness.matchers import delivery_problems
from support.harness.queries import Events, Records
from support.services.gateway import StopMode
from support.services.journal import JournalEntry
from support.services.records import GatewaySessionResumed


@dataclass(frozen=True)
class RestartKind:
    """How the gateway goes down: with a close frame carrying ``code`` (graceful), or killed (no frame)."""

    mode: StopMode
    code: int


# The ways the gateway restarts, by the words scenarios use (the ``RestartKind`` parameter type).
RESTART_KINDS: dict[str, RestartKind] = {
    "with a warning that the service is restarting": RestartKind("graceful", CloseCode.SERVICE_RESTART),
    "with a warning that it is going away": RestartKind("graceful", CloseCode.GOING_AWAY),
    "at once, its process killed without a close frame": RestartKind("crash", CloseCode.ABNORMAL),
}

# The warnings a gateway node gives its clients before it stops for an update, by their plain words.
WARNINGS: dict[str, int] = {
    "the service is restarting": CloseCode.SERVICE_RESTART,
    "the server is going away": CloseCode.GOING_AWAY,
}

# Each close code by its meaning in plain words, as realtime_protocol describes it: "the service is
# restarting" is 1012.
CLOSE_CODE_MEANINGS: dict[str, int] = {
    describe_close_code(code).split(" (", 1)[1].rstrip(")"): int(code) for code in CloseCode
}


def percentage(words: str) -> float:
    """ "95%" as 0.95; anything else is refused in one line."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", words)
    if match is None or float(match.group(1)) > 100:
        raise ValueError(f"Expected a percentage from 0% to 100%, such as 95%, got {words!r}")
    return float(match.group(1)) / 100


# -- one client's outage ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientOutage:
    """One client's part in a server fault (times are ``time.monotonic()``)."""

    name: str
    session_before: str | None
    lost_at: float | None
    lost_code: int | None
    back_at: float | None  # ready again after losing the connection
    resumed: bool  # it resumed the session it had before the fault, and was not told continuity was lost
    node: str | None  # the gateway node it resumed on, when there are several

    @property
    def came_back(self) -> bool:
        return self.back_at is not None

    @property
    def downtime_ms(self) -> float | None:
        if self.lost_at is None or self.back_at is None:
            return None
        return (self.back_at - self.lost_at) * 1000


@dataclass
class CrowdFault:
    """A server fault a crowd lived through: what it was, when, the session each client had then, and, once
    the crowd has settled, each client's outage."""

    label: str
    at: float
    sessions_before: dict[str, str | None]
    outages: list[ClientOutage] = field(default_factory=list)


def measure(
    fault: CrowdFault, events: Mapping[str, Sequence[ObservedEvent]], journal: Sequence[JournalEntry]
) -> list[ClientOutage]:
    """Each client's outage since the fault, from its events and the gateway's journal."""
    resumed_on = {
        record.session: record.node for record in Records(journal).of(GatewaySessionResumed, since=fault.at)
    }
    outages = []
    for name, session in fault.sessions_before.items():
        seen = Events(events.get(name, ()))
        lost = seen.first(ConnectionLost, since=fault.at)
        back = seen.first(StateChanged, since=lost.at, state="ready") if lost is not None else None
        resumes = [event.session_id for event in seen.of(SessionResumed, since=fault.at)]
        continuity_lost = seen.first(SessionContinuityLost, since=fault.at) is not None
        outages.append(
            ClientOutage(
                name=name,
                session_before=session,
                lost_at=lost.at if lost is not None else None,
                lost_code=lost.code if lost is not None else None,
                back_at=back.at if back is not None else None,
                resumed=session is not None and session in resumes and not continuity_lost,
                node=resumed_on.get(session) if session is not None else None,
            )
        )
    return outages


def unsettled(fault: CrowdFault, events: Mapping[str, Sequence[ObservedEvent]]) -> list[str]:
    """The clients that have neither come back since the fault nor given up, each in plain words."""
    waiting = []
    for outage in measure(fault, events, ()):
        if outage.came_back:
            continue
        seen = events.get(outage.name, ())
        if "failed" in observations.states_since(seen, fault.at):
            continue
        waiting.append(f"{outage.name} is not back yet: " + observations.describe_client(seen, who="it"))
    return waiting


def lost_connections(
    fault: CrowdFault, events: Mapping[str, Sequence[ObservedEvent]], code: int
) -> list[str]:
    """The clients that have not (yet) lost their connection with ``code`` since the fault, in plain words."""
    problems = []
    for outage in measure(fault, events, ()):
        if outage.lost_at is None:
            problems.append(f"{outage.name} has not lost its connection")
        elif outage.lost_code != code:
            problems.append(f"{outage.name} lost it with {describe_close_code(outage.lost_code)}")
    return problems


# -- the crowd ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultSummary:
    count: int
    came_back: int
    resumed: int
    average_downtime_ms: float | None  # None when no client came back
    slowest_ms: float | None

    @property
    def reconnection_rate(self) -> float:
        return self.came_back / self.count if self.count else 0.0


def summarise(outages: Sequence[ClientOutage]) -> FaultSummary:
    downtimes = [ms for outage in outages if (ms := outage.downtime_ms) is not None]
    return FaultSummary(
        count=len(outages),
        came_back=sum(outage.came_back for outage in outages),
        resumed=sum(outage.resumed for outage in outages),
        average_downtime_ms=sum(downtimes) / len(downtimes) if downtimes else None,
        slowest_ms=max(downtimes, default=None),
    )


def summary_rows(summary: FaultSummary, production_second_ms: int) -> list[tuple[str, str]]:
    """The crowd's numbers as (what, value) rows in plain words, with times also in production seconds."""

    def time(ms: float | None) -> str:
        return (
            "none came back"
            if ms is None
            else f"{ms:.0f} ms ({ms / production_second_ms:.1f} s in production)"
        )

    return [
        ("Clients", str(summary.count)),
        ("Ready again", str(summary.came_back)),
        ("Reconnection rate", f"{summary.reconnection_rate:.1%}"),
        ("Resumed their own session", str(summary.resumed)),
        ("Average downtime", time(summary.average_downtime_ms)),
        ("Longest downtime", time(summary.slowest_ms)),
    ]


def client_rows(outages: Sequence[ClientOutage], fault_at: float) -> list[tuple[str, ...]]:
    """One row per client: when and how it lost the connection, when it was back, its downtime and session."""

    def after(at: float | None) -> str:
        return "—" if at is None else f"{(at - fault_at) * 1000:.0f} ms"

    rows = []
    for outage in outages:
        downtime = outage.downtime_ms
        rows.append(
            (
                outage.name,
                after(outage.lost_at),
                describe_close_code(outage.lost_code) if outage.lost_at is not None else "—",
                after(outage.back_at),
                "never back" if downtime is None else f"{downtime:.0f} ms",
                "yes" if outage.resumed else "no",
                f"node {outage.node}" if outage.node else "—",
            )
        )
    return rows


CLIENT_COLUMNS = (
    "Client", "Lost the connection", "How", "Ready again", "Downtime", "Same session resumed", "Resumed on",
)  # fmt: skip


def summary_text(fault: CrowdFault, production_second_ms: int) -> str:
    rows = summary_rows(summarise(fault.outages), production_second_ms)
    width = max(len(what) for what, _ in rows)
    lines = [f"Server fault: {fault.label} (times after the fault)"]
    lines += [f"{what:<{width}}  {value}" for what, value in rows]
    table = [CLIENT_COLUMNS, *client_rows(fault.outages, fault.at)]
    widths = [max(len(row[column]) for row in table) for column in range(len(CLIENT_COLUMNS))]
    lines += ["", *("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table)]
    return "\n".join(line.rstrip() for line in lines)


def summary_html(fault: CrowdFault, production_second_ms: int) -> str:
    numbers = "".join(
        f"<tr><th>{escape(what)}</th><td>{escape(value)}</td></tr>"
        for what, value in summary_rows(summarise(fault.outages), production_second_ms)
    )
    head = "".join(f"<th>{escape(column)}</th>" for column in CLIENT_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
        for row in client_rows(fault.outages, fault.at)
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Server fault</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:16px}table{border-collapse:collapse;margin-bottom:16px}"
        "th,td{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}</style>"
        f"</head><body><h3>Server fault: {escape(fault.label)}</h3>"
        "<p>Times are counted from the fault. A client's downtime runs from losing its connection to being "
        f"ready again; one second in production is {production_second_ms} ms here.</p>"
        f"<table>{numbers}</table><table><tr>{head}</tr>{body}</table></body></html>"
    )


# -- data preserved -----------------------------------------------------------------------------------------


def data_lost(
    faults: Sequence[CrowdFault],
    sessions_now: Mapping[str, str | None],
    deliveries: Mapping[str, Sequence[int]],
    streamed: int,
) -> list[str]:
    """What each client that came back through every fault lost, in plain words: a session it did not resume,
    and any streamed message it missed, got twice or got out of order."""
    problems = []
    for name, first_session in (faults[0].sessions_before if faults else {}).items():
        outages = {fault.label: _outage_of(fault, name) for fault in faults}
        if not all(outage is not None and outage.came_back for outage in outages.values()):
            continue  # counted against the reconnection rate instead
        not_resumed = [
            label for label, outage in outages.items() if outage is not None and not outage.resumed
        ]
        if not_resumed or sessions_now.get(name) != first_session:
            after = " and ".join(not_resumed) or "the faults"
            problems.append(f"{name} did not resume its session after {after}")
        numbers = list(deliveries.get(name, ()))
        if numbers != list(range(1, streamed + 1)):
            problems.append(f"{name}: {delivery_problems(numbers, streamed)}")
    return problems


def _outage_of(fault: CrowdFault, name: str) -> ClientOutage | None:
    return next((outage for outage in fault.outages if outage.name == name), None)
