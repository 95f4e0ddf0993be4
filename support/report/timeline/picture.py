"""The timeline picture put together: the heading, the time axis, each lane with its name and note, and the
legend, around the lanes that ``client_lanes`` and ``service_lanes`` read from a scenario.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from support.drivers.base import ObservedEvent
from support.report.timeline import service_lanes, svg, wording
from support.report.timeline.client_lanes import client_lanes
from support.report.timeline.geometry import LANE_GAP, LEFT, NAME_W, PLOT_TOP, PLOT_W, WIDTH, Lane, Scale
from support.report.timeline.labels import fit, unless, width
from support.report.timeline.vocabulary import (
    BLACK,
    BLUE,
    GREY,
    LIGHT,
    MUTED,
    ORANGE,
    STATE_COLOURS,
    VERMILLION,
)
from support.services.journal import JournalEntry


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
        return svg.document(
            heading, 420, 70, [svg.text("Nothing happened in this scenario", x=16, y=46, font_size=14)]
        )
    scale = Scale(start, max((end - start) * 1000, 1.0))  # a zero or negative span still draws
    entries = sorted(journal, key=lambda entry: entry.at)
    lanes = [lane for client, seen in events.items() for lane in client_lanes(scale, client, seen, end)]
    lanes += [
        service_lanes.network_lane(scale, entries, end),
        service_lanes.gateway_lane(scale, entries, end),
    ]
    lanes.append(service_lanes.auth_lane(scale, entries, end))
    if any(entry.source == "avatar service" for entry in entries):
        lanes.append(service_lanes.avatar_lane(scale, entries, end))
    return _picture(heading, scale, lanes)


def _picture(heading: str, scale: Scale, lanes: list[Lane]) -> str:
    body: list[str] = []
    y = PLOT_TOP
    for lane in lanes:
        # A name or note too long for the label column is shortened; its tooltip keeps all of it.
        size, weight = (12, "bold") if lane.heading else (11, "normal")
        name = fit(lane.name, NAME_W, size, bold=lane.heading)
        body.append(
            svg.text(name, unless(lane.name, name), x=12, y=y + 14, font_size=size, font_weight=weight)
        )
        if lane.note:
            note = fit(lane.note, NAME_W, 10)
            tip = unless(lane.note, note)
            body.append(svg.text(note, tip, x=12, y=y + 26, font_size=10, fill=MUTED, class_="note"))
        body += lane.draw(y)
        y += lane.height + LANE_GAP
    legend, legend_h = _legend(y + 14)
    shown = fit(heading, WIDTH - 24, 15, bold=True)
    title = svg.text(shown, unless(heading, shown), x=12, y=24, font_size=15, font_weight="bold")
    return svg.document(heading, WIDTH, y + 14 + legend_h, [title, *_axis(scale, y), *body, *legend])


def _axis(scale: Scale, bottom: float) -> list[str]:
    """Ticks at a nice step (1, 2 or 5 times a power of ten ms), grid lines through every lane."""
    raw = scale.span_ms / 10
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    out = [svg.text("ms since the start", x=12, y=PLOT_TOP - 12, font_size=10, fill=MUTED)]
    for index in range(int(scale.span_ms / step + 1e-9) + 1):
        ms = round(index * step, 9)
        x = LEFT + ms / scale.span_ms * PLOT_W
        out.append(svg.element("line", None, x1=x, x2=x, y1=PLOT_TOP - 8, y2=bottom, stroke=LIGHT))
        out.append(
            svg.text(
                wording.number(ms), x=x, y=PLOT_TOP - 12, font_size=10, text_anchor="middle", class_="axis"
            )
        )
    return out


def _legend(top: float) -> tuple[list[str], float]:
    """Swatches for the state colours and the marks, flowing onto more lines as needed."""
    items = [
        (svg.element("rect", width=12, height=12, fill=fill), state)
        for state, (fill, _) in STATE_COLOURS.items()
    ]
    items += [
        (svg.element("rect", x=5, width=2, height=12, fill=BLUE), "message received"),
        (svg.element("rect", x=5, width=2, height=12, fill=ORANGE), "message sent"),
        (svg.element("rect", x=5, width=2, height=12, fill=VERMILLION), "resent / duplicate / gap"),
        (svg.element("rect", y=5, width=12, height=2, fill=BLACK), "wait before a retry"),
        (svg.element("line", x1=6, x2=6, y2=12, stroke=VERMILLION, stroke_dasharray="3 2"), "key moment"),
        (svg.element("rect", width=12, height=12, fill="url(#hatch)", stroke=VERMILLION), "fault"),
        (svg.element("rect", width=12, height=12, fill="url(#hatch)", stroke=GREY), "gateway stopped"),
    ]
    out, x, y = [], 12.0, top
    for swatch, words in items:
        if x + 18 + width(words) > WIDTH - 12:
            x, y = 12.0, y + 20
        out.append(f'<g transform="translate({x:.1f},{y:.1f})">{swatch}</g>')
        out.append(svg.text(words, x=x + 17, y=y + 10, class_="legend"))
        x += 17 + width(words) + 16
    return out, y + 20 - top
