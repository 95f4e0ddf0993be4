"""The services' side of the timeline read from their journals: each mark a lane shows, with its label,
tooltip and colour, and whether it is a fault the scenario caused.

Network faults pair each "fault applied" with the "fault lifted" of the same name; a gateway stop pairs
"gateway stopped" with "gateway started" on the same node; a trouble that lasts (``SERVICE_TROUBLES``) runs
from what began it to what ends it. One never ended lasts to the end of the scenario. Tooltips show only
``SAFE_FACTS``: never a payload, token or key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from support.harness.facts import UnreadableFacts
from support.report.timeline import wording
from support.report.timeline.geometry import Scale
from support.report.timeline.vocabulary import (
    FAULT_POINTS,
    GREY,
    SAFE_FACTS,
    SERVICE_POINTS,
    SERVICE_TROUBLES,
    SHORT_FAULT_NAMES,
    VERMILLION,
)
from support.services.journal import JournalEntry
from support.services.records import (
    GATEWAY,
    NETWORK,
    AuthTokenAnswered,
    GatewaySessionEnded,
    GatewayStarted,
    GatewayStopped,
    GatewayUpgradeRefused,
    NetworkFault,
    NetworkFaultApplied,
    NetworkFaultLifted,
    Record,
)

R = TypeVar("R", bound=Record)


@dataclass(frozen=True)
class Mark:
    """Something on a service lane: a moment, or an interval when it has a ``finish``. A ``fault`` is
    labelled before the lane's other marks."""

    at: float
    label: str
    tooltip: str
    colour: str
    css: str
    finish: float | None = None
    fault: bool = False


def typed(entries: Sequence[JournalEntry], kind: type[R], service: str) -> list[tuple[JournalEntry, R]]:
    """The entries of ``kind`` that ``service`` wrote, each as written (its facts, for the tooltip) and typed.
    One whose facts do not fit its kind is left out: a picture must never fail a scenario (the story still
    tells it, and a step that reads it fails saying why)."""
    chosen = []
    for entry in entries:
        with contextlib.suppress(UnreadableFacts):
            if isinstance(record := entry.record, kind) and record.service == service:
                chosen.append((entry, record))
    return chosen


def network_faults(scale: Scale, entries: Sequence[JournalEntry], end: float) -> list[Mark]:
    """Each network fault as an interval, from when it was applied until it was lifted or the ``end``."""
    applied: dict[tuple[str, str], NetworkFault] = {}
    faults: list[Mark] = []
    for _, fault in typed(entries, NetworkFault, NETWORK):
        key = (fault.proxy, fault.name)  # a fault is lifted by its name
        if isinstance(fault, NetworkFaultApplied):
            applied[key] = fault
        elif isinstance(fault, NetworkFaultLifted) and key in applied:
            faults.append(_fault(scale, applied.pop(key), fault.at))
    return faults + [_fault(scale, fault, None, end) for fault in applied.values()]


def _fault(scale: Scale, applied: NetworkFault, lifted: float | None, end: float = 0.0) -> Mark:
    name = _fault_name(applied)
    tip = f"{applied.description or name} on the {applied.proxy or 'link'}, "
    tip += f"from {scale.when(applied.at)} " + (
        "to the end: never lifted" if lifted is None else f"to {scale.when(lifted)}"
    )
    if lifted is None:
        return Mark(applied.at, f"{name} (still active)", tip, VERMILLION, "fault active", end, fault=True)
    return Mark(applied.at, name, tip, VERMILLION, "fault", lifted, fault=True)


def _fault_name(fault: NetworkFault) -> str:
    """A short plain-English name; the proxy's full sentence goes in the tooltip."""
    kind, attributes = fault.fault_kind, fault.attributes
    if kind == "down":
        return "network down"
    if kind == "timeout":
        cut = attributes.get("timeout")
        return f"bytes dropped, cut after {wording.number(cut)} ms" if cut else "silent link (bytes dropped)"
    if kind == "latency" and "latency" in attributes:
        jitter = attributes.get("jitter")
        return f"latency +{wording.number(attributes['latency'])} ms" + (
            f" ± {wording.number(jitter)}" if jitter else ""
        )
    short = SHORT_FAULT_NAMES.get(str(kind))
    if short is not None:
        try:
            return short.format(**{key: wording.number(value) for key, value in attributes.items()})
        except (KeyError, TypeError, ValueError):
            pass  # attributes not as expected: the proxy's own sentence still says what happened
    return fault.description or kind or "network fault"


def gateway_stops(scale: Scale, entries: Sequence[JournalEntry], end: float) -> list[Mark]:
    """Each time a gateway node was stopped, as an interval until it started again or the ``end``."""
    stops: list[Mark] = []
    # By gateway node (None when there is just the one gateway): the entry and how it stopped.
    stopped: dict[str | None, tuple[JournalEntry, GatewayStopped]] = {}
    for entry, record in typed(entries, GatewayStopped | GatewayStarted, GATEWAY):  # type: ignore[arg-type]
        if isinstance(record, GatewayStopped) and record.node not in stopped:
            stopped[record.node] = (entry, record)
        elif isinstance(record, GatewayStarted) and record.node in stopped:
            stops.append(_gateway_stop(scale, *stopped.pop(record.node), entry.at))
    return stops + [_gateway_stop(scale, *stop, None, end) for stop in stopped.values()]


def _gateway_stop(
    scale: Scale, entry: JournalEntry, stopped: GatewayStopped, started: float | None, end: float = 0.0
) -> Mark:
    """A stop on the gateway lane, named by how it went: crashed (killed, no close frame), or shut down with
    the close code its clients were sent; on which node, when there are several."""
    node = stopped.node
    who = f"node {node}" if node else "gateway"
    if stopped.mode == "crash":
        how = "crashed"
    else:
        code = stopped.code
        how = "shut down" + (f" ({code})" if code is not None else "")
    finish = end if started is None else started
    tip = f"{who} {how} at {scale.when(stopped.at)}{wording.facts(entry.detail, SAFE_FACTS)}, "
    tip += "still stopped at the end" if started is None else f"started again at {scale.when(finish)}"
    return Mark(stopped.at, f"{who} {how}", tip, GREY, "gateway-stopped", finish, fault=True)


def troubles(scale: Scale, entries: Sequence[JournalEntry], source: str, end: float) -> list[Mark]:
    """The troubles a scenario gave a service that last (made unavailable, slow, handing out flawed tokens…),
    each shaded from when it began until what ends it, or to the end."""
    begun: dict[str, JournalEntry] = {}  # by the kind that began it
    marks: list[Mark] = []
    for entry in (e for e in entries if e.source == source):
        for (_, kind), (enders, _, _) in SERVICE_TROUBLES.items():
            if entry.kind in enders and kind in begun:
                marks.append(_trouble(scale, begun.pop(kind), entry.at))
        if (source, entry.kind) in SERVICE_TROUBLES and entry.kind not in begun:
            begun[entry.kind] = entry
    return marks + [_trouble(scale, entry, None, end) for entry in begun.values()]


def _trouble(scale: Scale, began: JournalEntry, ended: float | None, end: float = 0.0) -> Mark:
    _, name, ending = SERVICE_TROUBLES[(began.source, began.kind)]
    label = name(began.detail)
    tip = f"{began.source}: {label}{wording.facts(began.detail, SAFE_FACTS)}, from {scale.when(began.at)} "
    tip += "to the end of the scenario" if ended is None else f"until {ending} at {scale.when(ended)}"
    css = "trouble" if ended is not None else "trouble active"
    return Mark(began.at, label, tip, VERMILLION, css, end if ended is None else ended, fault=True)


def points(scale: Scale, entries: Sequence[JournalEntry], source: str) -> list[Mark]:
    marks = []
    for entry in entries:
        label, colour = SERVICE_POINTS.get((entry.source, entry.kind), ("", ""))
        if entry.source != source or not label:
            continue
        if entry.kind == "trouble programmed":
            label = _programmed(entry)
        for _, record in typed([entry], Record, source):
            label, colour = _point_label(record, label, colour)
        tip = f"{scale.when(entry.at)}: {entry.source}: {entry.kind}{wording.facts(entry.detail, SAFE_FACTS)}"
        fault = (entry.source, entry.kind) in FAULT_POINTS
        marks.append(Mark(entry.at, label, tip, colour, "point fault" if fault else "point", fault=fault))
    return marks


def _point_label(record: Record, label: str, colour: str) -> tuple[str, str]:
    """The label and colour of a point whose label says more than its kind: the status a token call was
    refused with, an upgrade's status, a session's close code."""
    if isinstance(record, AuthTokenAnswered) and record.status != 200:
        return f"refused {record.status}", VERMILLION
    if isinstance(record, GatewayUpgradeRefused):
        return f"upgrade refused {record.status}", colour
    if isinstance(record, GatewaySessionEnded):
        return f"closed {record.code}", colour
    return label, colour


def _programmed(entry: JournalEntry) -> str:
    """A trouble programmed for the auth service's next requests or the gateway's next connections, in a few
    words: "made to answer 503" (and how many times), "made to answer 600 ms late", "made to refuse 429",
    "made to close 1011". Read from the entry's facts as written, whichever service wrote it."""
    detail = entry.detail
    times = (
        f" ×{wording.number(detail.get('requests'))}" if wording.as_float(detail.get("requests")) > 1 else ""
    )
    if detail.get("close_code") is not None:
        return f"made to close {detail.get('close_code')}{times}"
    if detail.get("status") in (None, 200):
        return f"made to answer {wording.number(detail.get('delay_ms'))} ms late{times}"
    verb = "answer" if entry.source == "auth service" else "refuse"
    return f"made to {verb} {detail.get('status')}{times}"
