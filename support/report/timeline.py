"""A scenario's connection timeline as one self-contained SVG picture, for people reading the report.

The text story (support/report/story.py) tells everything in order; this picture tells it at a glance:
each client's states, messages, retries and key moments, and what the network, the gateway and the
auth service did, on one time axis. Only known, harmless fields are shown: never message payloads,
tokens or keys.

Every fault a scenario applies is drawn on the lane of what it struck, with a plain label. Labels never
overprint one another: one with no room goes to a free row, or is shortened, or (a last resort for marks that
are not faults) left to its mark's tooltip, which always says everything.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from support.drivers.base import ObservedEvent
from support.report.timeline_labels import LabelRows, Placed, fit, place_label, unless, width
from support.services.journal import JournalEntry

__all__ = ["STATE_COLOURS", "render_timeline"]

LEFT, PLOT_W = 180, 1000  # the label column, then the drawing area
WIDTH = LEFT + PLOT_W + 40  # room for a label that runs past the last moment
PLOT_TOP, LANE_GAP, ROW_H = 70, 6, 18
POINT_ROWS = 3  # rows of labels above a service lane's points
NAME_W = LEFT - 20  # room for a lane's name and note, left of the plot
TICK_BUCKET_PX = 2  # one message tick per 2 px column at most, so 10,000 messages stay light
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"

# The Okabe-Ito palette: told apart with the common colour-vision deficiencies.
BLACK, ORANGE, SKY, GREEN, YELLOW = "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442"
BLUE, VERMILLION, PURPLE = "#0072B2", "#D55E00", "#CC79A7"
GREY, LIGHT, MUTED, WHITE = "#999999", "#DDDDDD", "#555555", "#FFFFFF"

STATE_COLOURS: dict[str, tuple[str, str]] = {  # state -> (fill, the text colour with more contrast on it)
    "initialized": (LIGHT, BLACK),
    "connecting": (YELLOW, BLACK),
    "authenticating": (ORANGE, BLACK),
    "connected": (SKY, BLACK),
    "ready": (GREEN, BLACK),
    "disconnected": (VERMILLION, BLACK),
    "reconnecting": (PURPLE, BLACK),
    "closing": (BLUE, WHITE),
    "closed": (GREY, BLACK),
    "failed": (BLACK, WHITE),
}
MOMENTS: dict[str, tuple[str, str]] = {  # client event -> (short label, line colour)
    "connection:lost": ("connection lost", VERMILLION),
    "heartbeat:timeout": ("no heartbeat reply", VERMILLION),
    "reconnect:exhausted": ("gave up retrying", VERMILLION),
    "auth:error": ("sign-in error", VERMILLION),
    "session:continuity_lost": ("session lost, new one", ORANGE),
    "session:resumed": ("session resumed", GREEN),
    "publish:refused": ("message refused", VERMILLION),
    "session:error": ("avatar error, voice only", ORANGE),
    "error:classified": ("classified", VERMILLION),  # labelled by _moment_label: retry or fatal, and why
    "protocol:error": ("unusable frame", VERMILLION),
    "protocol:ignored": ("frame ignored", ORANGE),
}
SHORT_LABELS = {  # a label -> what it shrinks to when it has no room
    "connection lost": "lost",
    "no heartbeat reply": "no heartbeat",
    "gave up retrying": "gave up",
    "sign-in error": "error",
    "session lost, new one": "new session",
    "session resumed": "resumed",
    "message refused": "refused",
    "avatar error, voice only": "voice only",
    "unusable frame": "bad frame",
    "frame ignored": "ignored",
    "session started": "started",
    "token asked": "asked",
    "token given": "given",
    "stream started": "stream",
    "stream stopped": "stopped",
}
SERVICE_POINTS: dict[tuple[str, str], tuple[str, str]] = {  # (source, kind) -> (short label, colour)
    ("gateway", "session started"): ("session started", GREEN),
    ("gateway", "session resumed"): ("session resumed", GREEN),
    ("gateway", "session expired"): ("session expired", ORANGE),
    ("gateway", "token expired"): ("token expired", ORANGE),
    ("gateway", "token renewed"): ("token renewed", BLUE),
    ("gateway", "token renewal refused"): ("renewal refused", VERMILLION),
    ("gateway", "handshake refused"): ("sign-in refused", VERMILLION),
    ("gateway", "publish refused"): ("post refused", VERMILLION),
    ("gateway", "stream started"): ("stream started", BLUE),
    ("gateway", "stream stopped"): ("stream stopped", BLUE),
    ("gateway", "traffic moved"): ("traffic moved", BLUE),
    ("gateway", "connection cut"): ("connection cut", VERMILLION),
    ("gateway", "odd frame sent"): ("odd frame sent", VERMILLION),
    ("gateway", "message dropped"): ("message dropped", ORANGE),
    ("auth service", "token requested"): ("token asked", SKY),
    ("auth service", "token answered"): ("token given", GREEN),
    ("auth service", "request refused"): ("refused", VERMILLION),
    ("auth service", "token revoked"): ("token revoked", ORANGE),
    ("auth service", "refresh token reused"): ("refresh reused", VERMILLION),
    ("auth service", "sign-in throttled"): ("throttled", ORANGE),
    ("auth service", "sign-in revoked"): ("sign-in revoked", VERMILLION),  # faults from here on
    ("auth service", "account closed"): ("account closed", VERMILLION),
    ("auth service", "trouble programmed"): ("made to answer", VERMILLION),  # labelled by _points
    ("auth service", "service started again"): ("auth service back", GREEN),
    ("gateway", "trouble programmed"): ("made to misbehave", VERMILLION),  # labelled by _points
    ("gateway", "token revoked"): ("dropped: token revoked", VERMILLION),
    ("gateway", "sessions forgotten"): ("sessions forgotten", VERMILLION),
    ("gateway", "message too big for clients sent"): ("too-big message sent", VERMILLION),
    ("gateway", "connections no longer cut"): ("connections no longer cut", GREEN),
    ("gateway", "compression accepted again"): ("compression accepted again", GREEN),
    ("avatar service", "avatar session created"): ("avatar started", GREEN),
    ("avatar service", "avatar updated"): ("avatar updated", BLUE),
    ("avatar service", "avatar session closed"): ("avatar closed", GREY),
    ("avatar service", "request refused"): ("refused", VERMILLION),
    ("avatar service", "service recovered"): ("avatar service back", GREEN),
    ("avatar service", "service started again"): ("avatar service back", GREEN),
    ("gateway", "upgrade refused"): ("upgrade refused", VERMILLION),  # labelled with its status by _points
    ("gateway", "session ended by the gateway"): ("session ended", VERMILLION),  # and with its close code
    ("network", "address refuses connections"): ("refusing address", VERMILLION),
    ("network", "host never answers"): ("silent host", VERMILLION),
    ("network", "connection left unanswered"): ("left unanswered", VERMILLION),
    ("network", "name does not resolve"): ("unknown name", VERMILLION),
}
# What a scenario did to a service on purpose (or its undoing): labelled before anything else on its lane, so
# a fault never loses its label to a routine mark.
FAULT_POINTS = {
    ("auth service", "sign-in revoked"),
    ("auth service", "account closed"),
    ("auth service", "trouble programmed"),
    ("auth service", "service started again"),
    ("auth service", "refresh token reused"),
    ("gateway", "trouble programmed"),
    ("gateway", "token revoked"),
    ("gateway", "sessions forgotten"),
    ("gateway", "message too big for clients sent"),
    ("gateway", "connections no longer cut"),
    ("gateway", "compression accepted again"),
    ("gateway", "odd frame sent"),
    ("gateway", "traffic moved"),
    ("avatar service", "service recovered"),
    ("avatar service", "service started again"),
    ("network", "address refuses connections"),
    ("network", "host never answers"),
    ("network", "name does not resolve"),
}
# Troubles that last: (source, kind that starts it) -> (the kinds that end it, its label from the entry's
# facts, what its end is called). One never ended lasts to the end of the scenario.
SERVICE_TROUBLES: dict[tuple[str, str], tuple[tuple[str, ...], Callable[[Mapping[str, Any]], str], str]] = {
    ("auth service", "service stopped"): (
        ("service started again",),
        lambda facts: "auth service made unavailable",
        "back",
    ),
    ("auth service", "flawed tokens handed out"): (
        (),
        lambda facts: f"hands out flawed tokens ({facts.get('flaw')})",
        "stopped",
    ),
    ("avatar service", "service stopped"): (
        ("service started again",),
        lambda facts: "avatar service made unavailable",
        "back",
    ),
    ("avatar service", "service unavailable"): (
        ("service recovered",),
        lambda facts: "avatar service made unavailable (503)",
        "back",
    ),
    ("avatar service", "service slow"): (
        ("service recovered",),
        lambda facts: f"avatar service made slow (+{_number(facts.get('delay_ms'))} ms)",
        "back",
    ),
    ("gateway", "connections cut from now on"): (
        ("connections no longer cut",),
        lambda facts: f"cuts every connection {_number(facts.get('after_ms'))} ms after it is ready",
        "no longer cut",
    ),
    ("gateway", "untrusted certificate shown"): (
        (),
        lambda facts: "shows an untrusted certificate",
        "stopped",
    ),
    ("gateway", "protocol versions limited"): (
        (),
        lambda facts: f"speaks only {facts.get('speaks')}",
        "stopped",
    ),
    ("gateway", "compression turned down"): (
        ("compression accepted again",),
        lambda facts: "turns compression down",
        "accepted again",
    ),
}
# The only data keys ever written into the picture: none of them holds a payload, token or key.
SAFE_FACTS = (
    "reason", "code", "mode", "status", "error", "description", "waited_ms", "total_attempts", "limit",
    "last_error", "replay", "channel", "rate_per_s", "sent", "grant_type", "endpoint", "retry_after_ms",
    "node", "to",
    "classification", "retryable", "recommended_delay_ms", "close_code", "retry_after_s", "address", "name",
    "after_ms",
    "what", "seq", "size", "subprotocol", "compression", "offered", "speaks",
    "requests", "delay_ms", "flaw", "issuer", "answer", "sessions", "families_revoked",
)  # fmt: skip
MESSAGE_TICKS = (  # (css class, what a tick means, the events it counts, top and bottom in the lane, colour)
    ("received", "received", {"message"}, 2, 11, BLUE),
    ("sent", "sent and acknowledged", {"publish:acked"}, 13, 22, ORANGE),
    ("trouble", "resent, duplicate or missing", {"publish:resent", "message:duplicate", "message:gap"}, 0, 24,
     VERMILLION),
)  # fmt: skip
TickKind = tuple[str, str, set[str], int, int, str]


@dataclass(frozen=True)
class Scale:
    """Monotonic times to scenario milliseconds and x pixels; times outside the scenario are clamped."""

    start: float
    span_ms: float

    def ms(self, at: float) -> float:
        return min(max((at - self.start) * 1000, 0.0), self.span_ms)

    def x(self, at: float) -> float:
        return LEFT + self.ms(at) / self.span_ms * PLOT_W

    def when(self, at: float) -> str:
        return f"{self.ms(at):.1f} ms"


@dataclass(frozen=True)
class Lane:
    name: str
    note: str  # a second, smaller line under the name, e.g. counts
    height: float
    draw: Callable[[float], list[str]]  # the lane's elements, given its top y
    heading: bool = False


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


def render_timeline(
    events: Mapping[str, Sequence[ObservedEvent]],
    journal: Sequence[JournalEntry],
    start: float,
    end: float,
    title: str = "",
) -> str:
    """The scenario as an SVG: a block of lanes per client, then the network, gateway and auth service."""
    heading = f"Connection timeline — {title}" if title else "Connection timeline"
    if not journal and not any(events.values()):
        return _svg(heading, 420, 70, [_text("Nothing happened in this scenario", x=16, y=46, font_size=14)])
    scale = Scale(start, max((end - start) * 1000, 1.0))  # a zero or negative span still draws
    entries = sorted(journal, key=lambda entry: entry.at)
    lanes = [lane for client, seen in events.items() for lane in _client_lanes(scale, client, seen, end)]
    lanes += [_network_lane(scale, entries, end), _gateway_lane(scale, entries, end)]
    lanes.append(_auth_lane(scale, entries, end))
    if any(entry.source == "avatar service" for entry in entries):
        lanes.append(_avatar_lane(scale, entries, end))
    return _picture(heading, scale, lanes)


# -- client lanes ------------------------------------------------------------------------------------


def _client_lanes(scale: Scale, client: str, seen: Sequence[ObservedEvent], end: float) -> list[Lane]:
    seen = sorted(seen, key=lambda event: event.at)  # stable: events at the same moment keep their order
    below = [_state_lane(scale, client, seen, end), _message_lane(scale, seen), _retry_lane(scale, seen)]
    return [_moment_lane(scale, client, seen, reach=sum(lane.height + LANE_GAP for lane in below)), *below]


def _state_lane(scale: Scale, client: str, seen: Sequence[ObservedEvent], end: float) -> Lane:
    changes = [event for event in seen if event.name == "state:changed"]

    def draw(top: float) -> list[str]:
        out = []
        # Each state lasts until the next change, the last until the end (not strict: no changes, no pairs).
        for change, finish in zip(changes, [*(later.at for later in changes[1:]), end], strict=False):
            state = str(change.data.get("state"))
            fill, ink = STATE_COLOURS.get(state, (LIGHT, BLACK))
            x0, x1 = scale.x(change.at), scale.x(finish)
            tip = f"{client} {state} from {scale.when(change.at)} to {scale.when(finish)}"
            tip += f" ({scale.ms(finish) - scale.ms(change.at):.1f} ms){_facts(change.data, ('reason',))}"
            box = {"x": x0, "y": top, "width": max(x1 - x0, 0.5), "height": 24}
            out.append(_el("rect", tip, **box, fill=fill, class_=f"state state-{state}"))
            if x1 - x0 >= width(state) + 6:  # named only where the name fits
                out.append(_text(state, x=(x0 + x1) / 2, y=top + 16, fill=ink, text_anchor="middle"))
        return out

    return Lane("state", "", 24, draw)


def _message_lane(scale: Scale, seen: Sequence[ObservedEvent]) -> Lane:
    counts = Counter(event.name for event in seen)
    note = f"{counts['message']} received, {counts['publish:acked']} sent"
    extras = {"publish:resent": "resent", "message:duplicate": "duplicate", "message:gap": "gap"}
    note += "".join(f", {counts[name]} {word}" for name, word in extras.items() if counts[name])

    def draw(top: float) -> list[str]:
        return [tick for kind in MESSAGE_TICKS for tick in _ticks(scale, seen, top, kind)]

    return Lane("messages", note, 24, draw)


def _ticks(scale: Scale, seen: Sequence[ObservedEvent], top: float, kind: TickKind) -> list[str]:
    # Bucketed by pixel column: many messages in one column would draw as one line anyway.
    css, what, names, y1, y2, colour = kind
    columns: dict[int, list[float]] = {}
    for event in seen:
        if event.name in names:
            columns.setdefault(int((scale.x(event.at) - LEFT) // TICK_BUCKET_PX), []).append(event.at)
    out = []
    for group in columns.values():
        a, b, x = scale.when(min(group)), scale.when(max(group)), scale.x(min(group))
        tip = f"{_count(len(group), 'message')} {what} " + (f"at {a}" if a == b else f"between {a} and {b}")
        line = {"x1": x, "x2": x, "y1": top + y1, "y2": top + y2, "stroke": colour, "stroke_width": 1.5}
        out.append(_el("line", tip, **line, class_=f"tick {css}"))
    return out


def _retry_lane(scale: Scale, seen: Sequence[ObservedEvent]) -> Lane:
    retries = [event for event in seen if event.name == "reconnect:scheduled"]

    def draw(top: float) -> list[str]:
        rows, out, y = LabelRows(2), [], top + 28
        for event in retries:
            delay = _float(event.data.get("delay_ms"))
            done = event.at + delay / 1000
            x0, x1 = scale.x(event.at), scale.x(done)
            attempt = event.data.get("attempt", "?")
            label = f"retry {attempt} · {_number(delay)} ms"
            tip = f"{scale.when(event.at)}: {label}, waiting until {scale.when(done)}"
            tip += _facts(event.data, ("base_delay_ms", "reason"))
            arrow = f"{x1:.1f},{y} {x1 - 5:.1f},{y - 3.5} {x1 - 5:.1f},{y + 3.5}"
            out += [
                _el("line", tip, x1=x0, x2=x1, y1=y, y2=y, stroke=BLACK, stroke_width=1.5, class_="retry"),
                _el("polygon", tip, points=arrow, fill=BLACK),
                _el("circle", tip, cx=x0, cy=y, r=3.5, fill=PURPLE, stroke=BLACK, class_="retry-start"),
                # Retries bunch up (the first ones come quickly): a label that has no room shrinks to the
                # retry's number, or goes, rather than overprint another; the tooltip always says it all.
                *_label(rows, x0, top + 10, label, str(attempt)),
            ]
        return out

    return Lane("retries", _count(len(retries), "retry") if retries else "none", 34, draw)


def _moment_lane(scale: Scale, client: str, seen: Sequence[ObservedEvent], reach: float) -> Lane:
    """The client's name, with key moments as dashed lines down through its other lanes."""
    moments = [event for event in seen if event.name in MOMENTS]

    def draw(top: float) -> list[str]:
        rows, out = LabelRows(2), []
        labels = [_moment_label(event) for event in moments]
        for event, (label, colour) in zip(moments, labels, strict=True):
            x = scale.x(event.at)
            tip = f"{scale.when(event.at)}: {client}: {label}{_facts(event.data, SAFE_FACTS)}"
            line = {"x1": x, "x2": x, "y1": top + 2, "y2": top + 28 + reach, "stroke": colour}
            out.append(_el("line", tip, **line, stroke_width=1.5, stroke_dasharray="5 3", class_="moment"))
        # Moments bunch up around a fault (lost, classified, resumed within a few ms): like ones close
        # together share a label, and a label with no room shrinks, or goes, rather than overprint another;
        # the dashed lines and their tooltips say it all.
        for run in _runs(
            scale, [(event.at, label) for event, (label, _) in zip(moments, labels, strict=True)]
        ):
            label = labels[run[0]][0]
            x = scale.x(moments[run[0]].at)
            out += _label(rows, x, top + 11, _times(label, len(run)), label, _short(label))
        return out

    return Lane(client, "", 28, draw, heading=True)


def _moment_label(event: ObservedEvent) -> tuple[str, str]:
    if event.name == "error:classified":
        retryable = bool(event.data.get("retryable"))
        verdict = "retry" if retryable else "fatal"
        return f"{verdict}: {event.data.get('classification')}", ORANGE if retryable else VERMILLION
    return MOMENTS[event.name]


def _short(label: str) -> str:
    """What a label shrinks to when it has no room: its known short form, or what comes before a colon."""
    return SHORT_LABELS.get(label) or (label.split(":")[0] if ":" in label else "")


# -- service lanes -----------------------------------------------------------------------------------


def _network_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    applied: dict[tuple[Any, Any], JournalEntry] = {}
    faults: list[Mark] = []
    for entry in entries:
        key = (entry.detail.get("proxy"), entry.detail.get("name"))  # a fault is lifted by its name
        if entry.source == "network" and entry.kind == "fault applied":
            applied[key] = entry
        elif entry.source == "network" and entry.kind == "fault lifted" and key in applied:
            faults.append(_fault(scale, applied.pop(key), entry.at))
    faults += [_fault(scale, entry, None, end) for entry in applied.values()]
    note = _count(len(faults), "fault") if faults else "no faults"
    return _marks_lane(scale, "network", note, faults + _points(scale, entries, "network"))


def _fault(scale: Scale, applied: JournalEntry, lifted: float | None, end: float = 0.0) -> Mark:
    name, detail = _fault_name(applied.detail), applied.detail
    tip = f"{detail.get('description') or name} on the {detail.get('proxy') or 'link'}, "
    tip += f"from {scale.when(applied.at)} " + (
        "to the end: never lifted" if lifted is None else f"to {scale.when(lifted)}"
    )
    if lifted is None:
        return Mark(applied.at, f"{name} (still active)", tip, VERMILLION, "fault active", end, fault=True)
    return Mark(applied.at, name, tip, VERMILLION, "fault", lifted, fault=True)


def _fault_name(detail: Mapping[str, Any]) -> str:
    """A short plain-English name; the proxy's full sentence goes in the tooltip."""
    kind, attributes = detail.get("fault_kind"), detail.get("attributes")
    attributes = attributes if isinstance(attributes, Mapping) else {}
    if kind == "down":
        return "network down"
    if kind == "timeout":
        cut = attributes.get("timeout")
        return f"bytes dropped, cut after {_number(cut)} ms" if cut else "silent link (bytes dropped)"
    if kind == "latency" and "latency" in attributes:
        jitter = attributes.get("jitter")
        return f"latency +{_number(attributes['latency'])} ms" + (f" ± {_number(jitter)}" if jitter else "")
    short = _SHORT_FAULT_NAMES.get(str(kind))
    if short is not None:
        try:
            return short.format(**{key: _number(value) for key, value in attributes.items()})
        except (KeyError, TypeError, ValueError):
            pass  # attributes not as expected: the proxy's own sentence still says what happened
    return str(detail.get("description") or kind or "network fault")


_SHORT_FAULT_NAMES = {  # fault kind -> short name, filled in from the fault's attributes
    "bandwidth": "bandwidth {rate} KB/s",
    "reset_peer": "reset by peer after {timeout} ms",
    "limit_data": "cut after {bytes} bytes",
    "slicer": "sliced into ~{average_size}-byte pieces",
    "slow_close": "close held back {delay} ms",
    "flapping": "network flapping",
}


def _gateway_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    stops: list[Mark] = []
    stopped: dict[Any, JournalEntry] = {}  # by gateway node (None when there is just the one gateway)
    for entry in (e for e in entries if e.source == "gateway"):
        node = entry.detail.get("node")
        if entry.kind == "gateway stopped" and node not in stopped:
            stopped[node] = entry
        elif entry.kind == "gateway started" and node in stopped:
            stops.append(_gateway_stop(scale, stopped.pop(node), entry.at))
    stops += [_gateway_stop(scale, entry, None, end) for entry in stopped.values()]
    note = _count(len(stops), "stop") if stops else "kept running"
    marks = stops + _troubles(scale, entries, "gateway", end) + _points(scale, entries, "gateway")
    return _marks_lane(scale, "gateway", note, marks)


def _gateway_stop(scale: Scale, stopped: JournalEntry, started: float | None, end: float = 0.0) -> Mark:
    """A stop on the gateway lane, named by how it went: crashed (killed, no close frame), or shut down with
    the close code its clients were sent; on which node, when there are several."""
    node = stopped.detail.get("node")
    who = f"node {node}" if node else "gateway"
    if stopped.detail.get("mode") == "crash":
        how = "crashed"
    else:
        code = stopped.detail.get("code")
        how = "shut down" + (f" ({code})" if code is not None else "")
    finish = end if started is None else started
    tip = f"{who} {how} at {scale.when(stopped.at)}{_facts(stopped.detail, SAFE_FACTS)}, "
    tip += "still stopped at the end" if started is None else f"started again at {scale.when(finish)}"
    return Mark(stopped.at, f"{who} {how}", tip, GREY, "gateway-stopped", finish, fault=True)


def _troubles(scale: Scale, entries: Sequence[JournalEntry], source: str, end: float) -> list[Mark]:
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
    tip = f"{began.source}: {label}{_facts(began.detail, SAFE_FACTS)}, from {scale.when(began.at)} "
    tip += "to the end of the scenario" if ended is None else f"until {ending} at {scale.when(ended)}"
    css = "trouble" if ended is not None else "trouble active"
    return Mark(began.at, label, tip, VERMILLION, css, end if ended is None else ended, fault=True)


def _points(scale: Scale, entries: Sequence[JournalEntry], source: str) -> list[Mark]:
    marks = []
    for entry in entries:
        label, colour = SERVICE_POINTS.get((entry.source, entry.kind), ("", ""))
        if entry.source != source or not label:
            continue
        if entry.kind == "token answered" and entry.detail.get("status") != 200:
            label, colour = f"refused {entry.detail.get('status')}", VERMILLION
        elif entry.kind == "upgrade refused":
            label = f"upgrade refused {entry.detail.get('status')}"
        elif entry.kind == "session ended by the gateway":
            label = f"closed {entry.detail.get('code')}"
        elif entry.kind == "trouble programmed":
            label = _programmed(entry)
        tip = f"{scale.when(entry.at)}: {entry.source}: {entry.kind}{_facts(entry.detail, SAFE_FACTS)}"
        fault = (entry.source, entry.kind) in FAULT_POINTS
        marks.append(Mark(entry.at, label, tip, colour, "point fault" if fault else "point", fault=fault))
    return marks


def _programmed(entry: JournalEntry) -> str:
    """A trouble programmed for the auth service's next requests or the gateway's next connections, in a few
    words: "made to answer 503" (and how many times), "made to answer 600 ms late", "made to refuse 429",
    "made to close 1011"."""
    detail = entry.detail
    times = f" ×{_number(detail.get('requests'))}" if _float(detail.get("requests")) > 1 else ""
    if detail.get("close_code") is not None:
        return f"made to close {detail.get('close_code')}{times}"
    if detail.get("status") in (None, 200):
        return f"made to answer {_number(detail.get('delay_ms'))} ms late{times}"
    verb = "answer" if entry.source == "auth service" else "refuse"
    return f"made to {verb} {detail.get('status')}{times}"


def _auth_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    asked = sum(entry.source == "auth service" and entry.kind == "token requested" for entry in entries)
    marks = _troubles(scale, entries, "auth service", end) + _points(scale, entries, "auth service")
    return _marks_lane(scale, "auth service", _count(asked, "token request"), marks)


def _avatar_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    calls = sum(entry.source == "avatar service" and entry.kind == "request received" for entry in entries)
    marks = _troubles(scale, entries, "avatar service", end) + _points(scale, entries, "avatar service")
    return _marks_lane(scale, "avatar service", _count(calls, "call"), marks)


def _runs(scale: Scale, marks: Sequence[tuple[float, str]]) -> list[list[int]]:
    """The indexes of time-ordered (time, label) marks, in runs of like labels close enough together (within
    the first one's label) to share one label."""
    runs: list[list[int]] = []
    for index, (at, label) in enumerate(marks):
        if runs:
            first_at, first_label = marks[runs[-1][0]]
            if label == first_label and scale.x(at) - scale.x(first_at) <= width(label):
                runs[-1].append(index)
                continue
        runs.append([index])
    return runs


def _times(label: str, count: int) -> str:
    """A label for ``count`` like marks: the label, then a multiplication sign and the count."""
    return label if count == 1 else f"{label} ×{count}"


def _marks_lane(scale: Scale, name: str, note: str, marks: list[Mark]) -> Lane:
    """Point marks (labels above them, faults labelled first) at the top, then intervals stacked in rows so
    neither they nor their labels overlap."""
    points = sorted((mark for mark in marks if mark.finish is None), key=lambda mark: mark.at)
    intervals = sorted((mark for mark in marks if mark.finish is not None), key=lambda mark: mark.at)
    # An interval's label may run past its end, so the label counts when stacking intervals in rows; with a
    # row for each interval, every one finds a row.
    rows = LabelRows(len(intervals) or 1)
    spans = [_interval_label(scale, mark) for mark in intervals]
    placed = [
        rows.place(min(scale.x(mark.at), left), max(scale.x(mark.finish or mark.at), left + width(words)))
        or 0
        for mark, (left, words) in zip(intervals, spans, strict=True)
    ]
    labels = _point_labels(scale, points)
    label_rows = max((label.row + 1 for label in labels.values()), default=1)
    mark_y = 18 + (label_rows - 1) * 11  # the points' centre, below their labels
    points_h = mark_y + 7 if points else 0
    height = max(points_h + (max(placed, default=-1) + 1) * ROW_H + 4, 28)  # 28: room for the note

    def draw(top: float) -> list[str]:
        out = []
        for index, point in enumerate(points):
            x, y = scale.x(point.at), top + mark_y
            diamond = f"{x:.1f},{y - 5} {x + 5:.1f},{y} {x:.1f},{y + 5} {x - 5:.1f},{y}"
            out.append(
                _el(
                    "polygon",
                    point.tooltip,
                    points=diamond,
                    fill=point.colour,
                    stroke=BLACK,
                    class_=point.css,
                )
            )
            if index in labels:
                out.append(_placed_text(labels[index], top + 10))
        for mark, row, (left, words) in zip(intervals, placed, spans, strict=True):
            x0, x1 = scale.x(mark.at), scale.x(mark.finish or mark.at)
            y = top + points_h + row * ROW_H + 2
            box = {"x": x0, "y": y, "width": max(x1 - x0, 1.5), "height": ROW_H - 2}
            shade = {"fill": mark.colour, "fill_opacity": 0.35, "stroke": mark.colour}
            out.append(_el("rect", mark.tooltip, **box, **shade, class_=mark.css))
            out.append(_el("rect", mark.tooltip, **box, fill="url(#hatch)"))  # hatched: not colour alone
            full = mark.label if words != mark.label else None
            out.append(_text(words, full, x=left, y=y + 12, class_="label interval"))
        return out

    return Lane(name, note, height, draw)


def _interval_label(scale: Scale, mark: Mark) -> tuple[float, str]:
    """Where an interval's label starts and what it says: just inside its start, moved left to stay in the
    picture, shortened when even the whole plot is too narrow for it."""
    words = fit(mark.label, WIDTH - 8 - LEFT)
    left = min(scale.x(mark.at) + 4, WIDTH - 4 - width(words))
    return max(left, LEFT + 2), words


def _point_labels(scale: Scale, points: Sequence[Mark]) -> dict[int, Placed]:
    """Labels for a lane's points, by the index of the point that carries each. Like marks close together
    share one label ("session resumed" and how many); faults are placed first, then the rest in time order,
    each in a free row, shortened when only that fits, or (not faults) left to its mark's tooltip."""
    # Each fault keeps a label of its own: a fault is never in a run with another mark.
    groups = _runs(
        scale, [(point.at, f"{index}" if point.fault else point.label) for index, point in enumerate(points)]
    )
    rows = LabelRows(POINT_ROWS)
    placed: dict[int, Placed] = {}
    for group in sorted(groups, key=lambda g: (not points[g[0]].fault, points[g[0]].at)):
        point = points[group[0]]
        words = _times(point.label, len(group))
        label = _place(rows, scale.x(point.at), words, point.label, _short(point.label))
        if label is None and point.fault:  # a fault always keeps a label: it gets a row of its own
            rows.add_row()
            label = _place(rows, scale.x(point.at), words, point.label, _short(point.label))
        if label is not None:
            placed[group[0]] = label
    return placed


# -- the picture -------------------------------------------------------------------------------------


def _picture(heading: str, scale: Scale, lanes: list[Lane]) -> str:
    body: list[str] = []
    y = PLOT_TOP
    for lane in lanes:
        # A name or note too long for the label column is shortened; its tooltip keeps all of it.
        size, weight = (12, "bold") if lane.heading else (11, "normal")
        name = fit(lane.name, NAME_W, size, bold=lane.heading)
        body.append(_text(name, unless(lane.name, name), x=12, y=y + 14, font_size=size, font_weight=weight))
        if lane.note:
            note = fit(lane.note, NAME_W, 10)
            tip = unless(lane.note, note)
            body.append(_text(note, tip, x=12, y=y + 26, font_size=10, fill=MUTED, class_="note"))
        body += lane.draw(y)
        y += lane.height + LANE_GAP
    legend, legend_h = _legend(y + 14)
    shown = fit(heading, WIDTH - 24, 15, bold=True)
    title = _text(shown, unless(heading, shown), x=12, y=24, font_size=15, font_weight="bold")
    return _svg(heading, WIDTH, y + 14 + legend_h, [title, *_axis(scale, y), *body, *legend])


def _axis(scale: Scale, bottom: float) -> list[str]:
    """Ticks at a nice step (1, 2 or 5 times a power of ten ms), grid lines through every lane."""
    raw = scale.span_ms / 10
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    out = [_text("ms since the start", x=12, y=PLOT_TOP - 12, font_size=10, fill=MUTED)]
    for index in range(int(scale.span_ms / step + 1e-9) + 1):
        ms = round(index * step, 9)
        x = LEFT + ms / scale.span_ms * PLOT_W
        out.append(_el("line", None, x1=x, x2=x, y1=PLOT_TOP - 8, y2=bottom, stroke=LIGHT))
        out.append(
            _text(_number(ms), x=x, y=PLOT_TOP - 12, font_size=10, text_anchor="middle", class_="axis")
        )
    return out


def _legend(top: float) -> tuple[list[str], float]:
    """Swatches for the state colours and the marks, flowing onto more lines as needed."""
    items = [
        (_el("rect", width=12, height=12, fill=fill), state) for state, (fill, _) in STATE_COLOURS.items()
    ]
    items += [
        (_el("rect", x=5, width=2, height=12, fill=BLUE), "message received"),
        (_el("rect", x=5, width=2, height=12, fill=ORANGE), "message sent"),
        (_el("rect", x=5, width=2, height=12, fill=VERMILLION), "resent / duplicate / gap"),
        (_el("rect", y=5, width=12, height=2, fill=BLACK), "wait before a retry"),
        (_el("line", x1=6, x2=6, y2=12, stroke=VERMILLION, stroke_dasharray="3 2"), "key moment"),
        (_el("rect", width=12, height=12, fill="url(#hatch)", stroke=VERMILLION), "fault"),
        (_el("rect", width=12, height=12, fill="url(#hatch)", stroke=GREY), "gateway stopped"),
    ]
    out, x, y = [], 12.0, top
    for swatch, words in items:
        if x + 18 + width(words) > WIDTH - 12:
            x, y = 12.0, y + 20
        out.append(f'<g transform="translate({x:.1f},{y:.1f})">{swatch}</g>')
        out.append(_text(words, x=x + 17, y=y + 10, class_="legend"))
        x += 17 + width(words) + 16
    return out, y + 20 - top


def _svg(heading: str, width: float, height: float, body: list[str]) -> str:
    size = f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"'
    hatch = (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#000000" '
        'stroke-opacity="0.35" stroke-width="1.5"/></pattern></defs>'
    )
    opening = f'<svg xmlns="http://www.w3.org/2000/svg" {size} font-family={quoteattr(FONT)} font-size="11">'
    background = _el("rect", width="100%", height="100%", fill=WHITE)  # readable in dark-mode viewers too
    return "\n".join([opening, f"<title>{escape(heading)}</title>", hatch, background, *body, "</svg>"])


# -- small helpers -----------------------------------------------------------------------------------


def _el(tag: str, tooltip: str | None = None, words: str | None = None, **attributes: object) -> str:
    """One element, everything escaped. ``class_`` becomes ``class`` and ``font_size`` ``font-size``."""
    shown = [(name.rstrip("_").replace("_", "-"), value) for name, value in attributes.items()]
    rendered = "".join(
        f" {name}={quoteattr(_attribute(value))}" for name, value in shown if value is not None
    )
    inner = (f"<title>{escape(tooltip)}</title>" if tooltip else "") + (escape(words) if words else "")
    return f"<{tag}{rendered}>{inner}</{tag}>" if inner else f"<{tag}{rendered}/>"


def _text(words: str, tooltip: str | None = None, **attributes: object) -> str:
    return _el("text", tooltip, words, **attributes)


def _label(rows: LabelRows, x: float, baseline: float, words: str, *shorter: str) -> list[str]:
    """A label for a mark at x, in a row where it overlaps nothing, shortened if only that fits; none at all
    when nothing fits (the mark's tooltip still says it)."""
    placed = _place(rows, x, words, *shorter)
    return [] if placed is None else [_placed_text(placed, baseline)]


def _place(rows: LabelRows, x: float, words: str, *shorter: str) -> Placed | None:
    """``place_label`` within this picture's plot."""
    return place_label(rows, x, words, *shorter, left_edge=LEFT, right_edge=WIDTH - 4)


def _placed_text(placed: Placed, baseline: float) -> str:
    return _text(
        placed.words,
        placed.full,
        x=placed.x,
        y=baseline + placed.row * 11,
        text_anchor=placed.anchor,
        class_="label",
    )


def _facts(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    shown = [f"{key.replace('_', ' ')}: {data[key]}" for key in keys if data.get(key) is not None]
    return f" ({'; '.join(shown)})" if shown else ""


def _count(number: int, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{number} {word if number == 1 else plural}"


def _number(value: Any) -> str:
    number = _float(value)
    return str(int(number)) if number.is_integer() else f"{number:.1f}"


def _float(value: Any) -> float:
    # A picture must never fail a scenario: a value of an unexpected type counts as 0.
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _attribute(value: object) -> str:
    return _number(value) if isinstance(value, float) else str(value)
