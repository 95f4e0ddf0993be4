"""A scenario's connection timeline as one self-contained SVG picture, for people reading the report.

The text story (support/reporting.py) tells everything in order; this picture tells it at a glance:
each client's states, messages, retries and key moments, and what the network, the gateway and the
auth service did, on one time axis. Only known, harmless fields are shown: never message payloads,
tokens or keys.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from support.drivers.base import ObservedEvent
from support.journal import JournalEntry

__all__ = ["STATE_COLOURS", "render_timeline"]

LEFT, PLOT_W = 180, 1000  # the label column, then the drawing area
WIDTH = LEFT + PLOT_W + 40  # room for a label that runs past the last moment
PLOT_TOP, LANE_GAP, ROW_H = 70, 6, 18
CHAR_W = 6.2  # average width of an 11 px sans-serif character, to guess label widths
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
    ("avatar service", "avatar session created"): ("avatar started", GREEN),
    ("avatar service", "avatar updated"): ("avatar updated", BLUE),
    ("avatar service", "avatar session closed"): ("avatar closed", GREY),
    ("avatar service", "request refused"): ("refused", VERMILLION),
    ("avatar service", "service unavailable"): ("unavailable", VERMILLION),
    ("avatar service", "service slow"): ("slow", ORANGE),
    ("avatar service", "service recovered"): ("recovered", GREEN),
    ("gateway", "upgrade refused"): ("upgrade refused", VERMILLION),  # labelled with its status by _points
    ("gateway", "session ended by the gateway"): ("session ended", VERMILLION),  # and with its close code
    ("network", "address refuses connections"): ("refusing address", VERMILLION),
    ("network", "host never answers"): ("silent host", VERMILLION),
    ("network", "connection left unanswered"): ("left unanswered", VERMILLION),
    ("network", "name does not resolve"): ("unknown name", VERMILLION),
}
# The only data keys ever written into the picture: none of them holds a payload, token or key.
SAFE_FACTS = (
    "reason", "code", "mode", "status", "error", "description", "waited_ms", "total_attempts", "limit",
    "last_error", "replay", "channel", "rate_per_s", "sent", "grant_type", "endpoint", "retry_after_ms",
    "node", "to",
    "classification", "retryable", "recommended_delay_ms", "close_code", "retry_after_s", "address", "name",
    "after_ms",
    "what", "seq", "size", "subprotocol", "compression", "offered", "speaks",
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
    """Something on a service lane: a moment, or an interval when it has a ``finish``."""

    at: float
    label: str
    tooltip: str
    colour: str
    css: str
    finish: float | None = None


class LabelRows:
    """Puts each label in the first of a few rows where it overlaps nothing."""

    def __init__(self, rows: int) -> None:
        self._ends = [-math.inf] * rows

    def place(self, left: float, right: float, *, always: bool = False) -> int | None:
        for row, end in enumerate(self._ends):
            if left >= end + 4:
                self._ends[row] = right
                return row
        if not always:
            return None
        row = min(range(len(self._ends)), key=self._ends.__getitem__)  # the least crowded row
        self._ends[row] = max(self._ends[row], right)
        return row


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
    lanes.append(_auth_lane(scale, entries))
    if any(entry.source == "avatar service" for entry in entries):
        lanes.append(_avatar_lane(scale, entries))
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
            if x1 - x0 >= _width(state) + 6:  # named only where the name fits
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
                *(_label(rows, x0, top + 10, label) or _label(rows, x0, top + 10, str(attempt))),
            ]
        return out

    return Lane("retries", _count(len(retries), "retry") if retries else "none", 34, draw)


def _moment_lane(scale: Scale, client: str, seen: Sequence[ObservedEvent], reach: float) -> Lane:
    """The client's name, with key moments as dashed lines down through its other lanes."""
    moments = [event for event in seen if event.name in MOMENTS]

    def draw(top: float) -> list[str]:
        rows, out = LabelRows(2), []
        for event in moments:
            label, colour = _moment_label(event)
            x = scale.x(event.at)
            tip = f"{scale.when(event.at)}: {client}: {label}{_facts(event.data, SAFE_FACTS)}"
            line = {"x1": x, "x2": x, "y1": top + 2, "y2": top + 28 + reach, "stroke": colour}
            out.append(_el("line", tip, **line, stroke_width=1.5, stroke_dasharray="5 3", class_="moment"))
            # Moments bunch up around a fault (lost, classified, resumed within a few ms): a label with no
            # room goes rather than overprint another; its dashed line stays and its tooltip says it all.
            out += _label(rows, x, top + 11, label)
        return out

    return Lane(client, "", 28, draw, heading=True)


def _moment_label(event: ObservedEvent) -> tuple[str, str]:
    if event.name == "error:classified":
        retryable = bool(event.data.get("retryable"))
        verdict = "retry" if retryable else "fatal"
        return f"{verdict}: {event.data.get('classification')}", ORANGE if retryable else VERMILLION
    return MOMENTS[event.name]


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
        return Mark(applied.at, f"{name} (still active)", tip, VERMILLION, "fault active", end)
    return Mark(applied.at, name, tip, VERMILLION, "fault", lifted)


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
    return _marks_lane(scale, "gateway", note, stops + _points(scale, entries, "gateway"))


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
    return Mark(stopped.at, f"{who} {how}", tip, GREY, "gateway-stopped", finish)


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
        tip = f"{scale.when(entry.at)}: {entry.source}: {entry.kind}{_facts(entry.detail, SAFE_FACTS)}"
        marks.append(Mark(entry.at, label, tip, colour, "point"))
    return marks


def _auth_lane(scale: Scale, entries: Sequence[JournalEntry]) -> Lane:
    asked = sum(entry.source == "auth service" and entry.kind == "token requested" for entry in entries)
    return _marks_lane(
        scale, "auth service", _count(asked, "token request"), _points(scale, entries, "auth service")
    )


def _avatar_lane(scale: Scale, entries: Sequence[JournalEntry]) -> Lane:
    calls = sum(entry.source == "avatar service" and entry.kind == "request received" for entry in entries)
    return _marks_lane(
        scale, "avatar service", _count(calls, "call"), _points(scale, entries, "avatar service")
    )


def _marks_lane(scale: Scale, name: str, note: str, marks: list[Mark]) -> Lane:
    """Point marks (labels above them) at the top, then intervals stacked in rows so none overlap."""
    points = [mark for mark in marks if mark.finish is None]
    intervals = sorted((mark for mark in marks if mark.finish is not None), key=lambda mark: mark.at)
    rows = LabelRows(len(intervals) or 1)
    # An interval's label may run past its end, so the label counts when stacking intervals in rows.
    extents = [
        (scale.x(m.at), max(scale.x(m.finish or m.at), scale.x(m.at) + _width(m.label) + 8))
        for m in intervals
    ]
    placed = [rows.place(*extent, always=True) or 0 for extent in extents]
    points_h = 36 if points else 0
    height = max(points_h + (max(placed, default=-1) + 1) * ROW_H + 4, 28)  # 28: room for the note

    def draw(top: float) -> list[str]:
        labels, out = LabelRows(2), []
        for point in points:
            x, y = scale.x(point.at), top + 29
            diamond = f"{x:.1f},{y - 5} {x + 5:.1f},{y} {x:.1f},{y + 5} {x - 5:.1f},{y}"
            out.append(
                _el("polygon", point.tooltip, points=diamond, fill=point.colour, stroke=BLACK, class_="point")
            )
            out += _label(labels, x, top + 10, point.label)
        for mark, row in zip(intervals, placed, strict=True):
            x0, x1 = scale.x(mark.at), scale.x(mark.finish or mark.at)
            y = top + points_h + row * ROW_H + 2
            box = {"x": x0, "y": y, "width": max(x1 - x0, 1.5), "height": ROW_H - 2}
            shade = {"fill": mark.colour, "fill_opacity": 0.35, "stroke": mark.colour}
            out.append(_el("rect", mark.tooltip, **box, **shade, class_=mark.css))
            out.append(_el("rect", mark.tooltip, **box, fill="url(#hatch)"))  # hatched: not colour alone
            out.append(_text(mark.label, x=x0 + 4, y=y + 12))
        return out

    return Lane(name, note, height, draw)


# -- the picture -------------------------------------------------------------------------------------


def _picture(heading: str, scale: Scale, lanes: list[Lane]) -> str:
    body: list[str] = []
    y = PLOT_TOP
    for lane in lanes:
        size, weight = (12, "bold") if lane.heading else (11, "normal")
        body.append(_text(lane.name, x=12, y=y + 14, font_size=size, font_weight=weight))
        if lane.note:
            body.append(_text(lane.note, x=12, y=y + 26, font_size=10, fill=MUTED, class_="note"))
        body += lane.draw(y)
        y += lane.height + LANE_GAP
    legend, legend_h = _legend(y + 14)
    title = _text(heading, x=12, y=24, font_size=15, font_weight="bold")
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
        (_el("rect", width=12, height=12, fill="url(#hatch)", stroke=VERMILLION), "network fault"),
        (_el("rect", width=12, height=12, fill="url(#hatch)", stroke=GREY), "gateway stopped"),
    ]
    out, x, y = [], 12.0, top
    for swatch, words in items:
        if x + 18 + _width(words) > WIDTH - 12:
            x, y = 12.0, y + 20
        out.append(f'<g transform="translate({x:.1f},{y:.1f})">{swatch}</g>')
        out.append(_text(words, x=x + 17, y=y + 10, class_="legend"))
        x += 17 + _width(words) + 16
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


def _label(rows: LabelRows, x: float, baseline: float, words: str, *, always: bool = False) -> list[str]:
    """A label just right of x (left of it near the right edge), in a row where it overlaps nothing."""
    width = _width(words)
    rightwards = x + 3 + width <= WIDTH - 4
    left = x + 3 if rightwards else x - 3 - width
    row = rows.place(left, left + width, always=always)
    if row is None:
        return []  # no room: the mark's tooltip still says it
    anchor, at = ("start", left) if rightwards else ("end", x - 3)
    return [_text(words, x=at, y=baseline + row * 11, text_anchor=anchor, class_="label")]


def _facts(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    shown = [f"{key.replace('_', ' ')}: {data[key]}" for key in keys if data.get(key) is not None]
    return f" ({'; '.join(shown)})" if shown else ""


def _width(words: str) -> float:
    return len(words) * CHAR_W


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
