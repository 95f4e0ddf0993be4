"""A client's lanes on the timeline, read from the events its driver reported: its key moments, the states
it went through, the messages it received and sent, and the pauses before each retry.

Only known, harmless fields of an event are shown (``SAFE_FACTS``): never a payload, token or key.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from typing import TypeVar

from support.drivers.base import ObservedEvent
from support.drivers.events import ErrorClassified, ReconnectScheduled, StateChanged
from support.harness.facts import UnreadableFacts
from support.report.timeline import svg, wording
from support.report.timeline.geometry import LANE_GAP, LEFT, TICK_BUCKET_PX, Lane, Scale
from support.report.timeline.labels import LabelRows, label_runs, short_form, width
from support.report.timeline.vocabulary import (
    BLACK,
    LIGHT,
    MESSAGE_TICKS,
    MOMENTS,
    ORANGE,
    PURPLE,
    SAFE_FACTS,
    STATE_COLOURS,
    VERMILLION,
    TickKind,
)

E = TypeVar("E", StateChanged, ReconnectScheduled, ErrorClassified)


def client_lanes(scale: Scale, client: str, seen: Sequence[ObservedEvent], end: float) -> list[Lane]:
    """A client's block of lanes: its name with its key moments (dashed lines down through the block), then
    its states, its messages and its retries."""
    seen = sorted(seen, key=lambda event: event.at)  # stable: events at the same moment keep their order
    below = [_state_lane(scale, client, seen, end), _message_lane(scale, seen), _retry_lane(scale, seen)]
    return [_moment_lane(scale, client, seen, reach=sum(lane.height + LANE_GAP for lane in below)), *below]


def _state_lane(scale: Scale, client: str, seen: Sequence[ObservedEvent], end: float) -> Lane:
    changes = _typed(seen, StateChanged)

    def draw(top: float) -> list[str]:
        out = []
        # Each state lasts until the next change, the last until the end (not strict: no changes, no pairs).
        for (change, typed), finish in zip(
            changes, [*(later.at for later, _ in changes[1:]), end], strict=False
        ):
            state = typed.state
            fill, ink = STATE_COLOURS.get(state, (LIGHT, BLACK))
            x0, x1 = scale.x(change.at), scale.x(finish)
            tip = f"{client} {state} from {scale.when(change.at)} to {scale.when(finish)}"
            tip += (
                f" ({scale.ms(finish) - scale.ms(change.at):.1f} ms){wording.facts(change.data, ('reason',))}"
            )
            box = {"x": x0, "y": top, "width": max(x1 - x0, 0.5), "height": 24}
            out.append(svg.element("rect", tip, **box, fill=fill, class_=f"state state-{state}"))
            if x1 - x0 >= width(state) + 6:  # named only where the name fits
                out.append(svg.text(state, x=(x0 + x1) / 2, y=top + 16, fill=ink, text_anchor="middle"))
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
        tip = f"{wording.count(len(group), 'message')} {what} " + (
            f"at {a}" if a == b else f"between {a} and {b}"
        )
        line = {"x1": x, "x2": x, "y1": top + y1, "y2": top + y2, "stroke": colour, "stroke_width": 1.5}
        out.append(svg.element("line", tip, **line, class_=f"tick {css}"))
    return out


def _retry_lane(scale: Scale, seen: Sequence[ObservedEvent]) -> Lane:
    retries = _typed(seen, ReconnectScheduled)

    def draw(top: float) -> list[str]:
        rows, out, y = LabelRows(2), [], top + 28
        for event, retry in retries:
            delay = wording.as_float(retry.delay_ms)
            done = event.at + delay / 1000
            x0, x1 = scale.x(event.at), scale.x(done)
            attempt = retry.attempt or "?"
            label = f"retry {attempt} · {wording.number(delay)} ms"
            tip = f"{scale.when(event.at)}: {label}, waiting until {scale.when(done)}"
            tip += wording.facts(event.data, ("base_delay_ms", "reason"))
            arrow = f"{x1:.1f},{y} {x1 - 5:.1f},{y - 3.5} {x1 - 5:.1f},{y + 3.5}"
            out += [
                svg.element(
                    "line", tip, x1=x0, x2=x1, y1=y, y2=y, stroke=BLACK, stroke_width=1.5, class_="retry"
                ),
                svg.element("polygon", tip, points=arrow, fill=BLACK),
                svg.element(
                    "circle", tip, cx=x0, cy=y, r=3.5, fill=PURPLE, stroke=BLACK, class_="retry-start"
                ),
                # Retries bunch up (the first ones come quickly): a label that has no room shrinks to the
                # retry's number, or goes, rather than overprint another; the tooltip always says it all.
                *svg.label(rows, x0, top + 10, label, str(attempt)),
            ]
        return out

    return Lane("retries", wording.count(len(retries), "retry") if retries else "none", 34, draw)


def _moment_lane(scale: Scale, client: str, seen: Sequence[ObservedEvent], reach: float) -> Lane:
    """The client's name, with key moments as dashed lines down through its other lanes."""
    moments = [event for event in seen if event.name in MOMENTS]

    def draw(top: float) -> list[str]:
        rows, out = LabelRows(2), []
        labels = [_moment_label(event) for event in moments]
        for event, (label, colour) in zip(moments, labels, strict=True):
            x = scale.x(event.at)
            tip = f"{scale.when(event.at)}: {client}: {label}{wording.facts(event.data, SAFE_FACTS)}"
            line = {"x1": x, "x2": x, "y1": top + 2, "y2": top + 28 + reach, "stroke": colour}
            out.append(
                svg.element("line", tip, **line, stroke_width=1.5, stroke_dasharray="5 3", class_="moment")
            )
        # Moments bunch up around a fault (lost, classified, resumed within a few ms): like ones close
        # together share a label, and a label with no room shrinks, or goes, rather than overprint another;
        # the dashed lines and their tooltips say it all.
        for run in label_runs(
            scale, [(event.at, label) for event, (label, _) in zip(moments, labels, strict=True)]
        ):
            label = labels[run[0]][0]
            x = scale.x(moments[run[0]].at)
            out += svg.label(rows, x, top + 11, wording.times(label, len(run)), label, short_form(label))
        return out

    return Lane(client, "", 28, draw, heading=True)


def _moment_label(event: ObservedEvent) -> tuple[str, str]:
    for _, classified in _typed([event], ErrorClassified):
        verdict = "retry" if classified.retryable else "fatal"
        return f"{verdict}: {classified.classification}", ORANGE if classified.retryable else VERMILLION
    return MOMENTS[event.name]


def _typed(seen: Sequence[ObservedEvent], kind: type[E]) -> list[tuple[ObservedEvent, E]]:
    """The events of ``kind``, each as seen (its facts as the client gave them, for the tooltip) and typed.
    An event whose facts do not fit its kind is left out: a picture must never fail a scenario (the story
    still tells it, and a step that reads it fails saying why)."""
    chosen = []
    for event in seen:
        with contextlib.suppress(UnreadableFacts):
            if isinstance(typed := event.event, kind):
                chosen.append((event, typed))
    return chosen
