"""The services' lanes of the timeline: the network, the gateway, the auth service and the avatar service,
each a row of marks (``service_marks``) drawn as diamonds for moments and hatched bars for intervals.

Labels never overprint one another: a fault is labelled first and always keeps a label (in a row of its
own if need be); other labels go to a free row, are shortened, or are left to their mark's tooltip.
"""

from __future__ import annotations

from collections.abc import Sequence

from support.report.timeline import service_marks, svg, wording
from support.report.timeline.geometry import LEFT, POINT_ROWS, ROW_H, WIDTH, Lane, Scale
from support.report.timeline.labels import (
    LabelRows,
    Placed,
    fit,
    label_runs,
    place_in_plot,
    short_form,
    width,
)
from support.report.timeline.service_marks import Mark
from support.report.timeline.vocabulary import BLACK
from support.services.journal import JournalEntry
from support.services.records import AUTH, AVATAR_SERVICE, AuthTokenRequested, AvatarServiceRequestReceived


def network_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    """The network: each fault the scenario applied, and what the network did to a client on its own."""
    faults = service_marks.network_faults(scale, entries, end)
    note = wording.count(len(faults), "fault") if faults else "no faults"
    return _marks_lane(scale, "network", note, faults + service_marks.points(scale, entries, "network"))


def gateway_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    """The gateway: when it (or a node of it) was stopped, its troubles, and its key moments."""
    stops = service_marks.gateway_stops(scale, entries, end)
    note = wording.count(len(stops), "stop") if stops else "kept running"
    return _marks_lane(scale, "gateway", note, stops + _troubles_and_points(scale, entries, "gateway", end))


def auth_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    """The auth service: its troubles and key moments, and how many tokens were asked for."""
    asked = len(service_marks.typed(entries, AuthTokenRequested, AUTH))
    marks = _troubles_and_points(scale, entries, "auth service", end)
    return _marks_lane(scale, "auth service", wording.count(asked, "token request"), marks)


def avatar_lane(scale: Scale, entries: Sequence[JournalEntry], end: float) -> Lane:
    """The avatar service: its troubles and key moments, and how many calls it took."""
    calls = len(service_marks.typed(entries, AvatarServiceRequestReceived, AVATAR_SERVICE))
    marks = _troubles_and_points(scale, entries, "avatar service", end)
    return _marks_lane(scale, "avatar service", wording.count(calls, "call"), marks)


def _troubles_and_points(
    scale: Scale, entries: Sequence[JournalEntry], source: str, end: float
) -> list[Mark]:
    return service_marks.troubles(scale, entries, source, end) + service_marks.points(scale, entries, source)


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
                svg.element(
                    "polygon",
                    point.tooltip,
                    points=diamond,
                    fill=point.colour,
                    stroke=BLACK,
                    class_=point.css,
                )
            )
            if index in labels:
                out.append(svg.placed_text(labels[index], top + 10))
        for mark, row, (left, words) in zip(intervals, placed, spans, strict=True):
            x0, x1 = scale.x(mark.at), scale.x(mark.finish or mark.at)
            y = top + points_h + row * ROW_H + 2
            box = {"x": x0, "y": y, "width": max(x1 - x0, 1.5), "height": ROW_H - 2}
            shade = {"fill": mark.colour, "fill_opacity": 0.35, "stroke": mark.colour}
            out.append(svg.element("rect", mark.tooltip, **box, **shade, class_=mark.css))
            out.append(
                svg.element("rect", mark.tooltip, **box, fill="url(#hatch)")
            )  # hatched: not colour alone
            full = mark.label if words != mark.label else None
            out.append(svg.text(words, full, x=left, y=y + 12, class_="label interval"))
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
    groups = label_runs(
        scale, [(point.at, f"{index}" if point.fault else point.label) for index, point in enumerate(points)]
    )
    rows = LabelRows(POINT_ROWS)
    placed: dict[int, Placed] = {}
    for group in sorted(groups, key=lambda g: (not points[g[0]].fault, points[g[0]].at)):
        point = points[group[0]]
        words = wording.times(point.label, len(group))
        label = place_in_plot(rows, scale.x(point.at), words, point.label, short_form(point.label))
        if label is None and point.fault:  # a fault always keeps a label: it gets a row of its own
            rows.add_row()
            label = place_in_plot(rows, scale.x(point.at), words, point.label, short_form(point.label))
        if label is not None:
            placed[group[0]] = label
    return placed


# -- the picture -------------------------------------------------------------------------------------
