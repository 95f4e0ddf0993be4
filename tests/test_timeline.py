"""The connection timeline picture: well-formed SVG whose marks sit where and when things happened."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from support.drivers.base import ObservedEvent
from support.report.timeline import render_timeline
from support.report.timeline.geometry import LEFT, PLOT_W, WIDTH
from support.report.timeline.labels import BOLD_W, CHAR_W, LabelRows, place_label
from support.report.timeline.vocabulary import (
    FAULT_POINTS,
    MOMENTS,
    SERVICE_POINTS,
    SERVICE_TROUBLES,
    STATE_COLOURS,
)
from support.services.journal import Journal, JournalEntry
from support.services.proxy import FaultProxy
from tests.polling import eventually

EDGES = {"left_edge": LEFT, "right_edge": WIDTH - 4}  # the timeline's plot, as it places labels

SVG = "{http://www.w3.org/2000/svg}"
T0 = 500.0  # the scenario's start, on the monotonic clock
END_MS = 4000.0


def at(ms: float) -> float:
    return T0 + ms / 1000


def x_at(ms: float, span_ms: float = END_MS) -> float:
    return LEFT + ms / span_ms * PLOT_W


def event(name: str, ms: float, **data: Any) -> ObservedEvent:
    return ObservedEvent(name=name, data=data, at=at(ms))


def entry(source: str, kind: str, ms: float, **detail: Any) -> JournalEntry:
    return JournalEntry(at=at(ms), source=source, kind=kind, detail=detail)


def fault(kind: str, ms: float, name: str = "down", fault_kind: str = "down", **extra: Any) -> JournalEntry:
    detail = {"proxy": "gateway link", "name": name, "fault_kind": fault_kind, "stream": None, **extra}
    return JournalEntry(at=at(ms), source="network", kind=kind, detail={"attributes": {}, **detail})


def draw(
    events: Mapping[str, list[ObservedEvent]] | None = None,
    journal: list[JournalEntry] | None = None,
    end_ms: float = END_MS,
    title: str = "a scenario",
) -> ET.Element:
    svg = render_timeline(events or {}, journal or [], T0, at(end_ms), title=title)
    return ET.fromstring(svg)  # raises if the SVG is not well-formed XML


def marks(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [e for e in root.iter(SVG + tag) if css in (e.get("class") or "").split()]


def tooltip(element: ET.Element) -> str:
    title = element.find(SVG + "title")
    assert title is not None, f"{element.tag} {element.attrib} has no tooltip"
    return title.text or ""


def shown(text: ET.Element) -> str:
    """The words a text element shows (a tooltip inside it is not shown)."""
    return (text.text or "") + "".join(child.tail or "" for child in text)


def words(root: ET.Element) -> list[str]:
    return [shown(text) for text in root.iter(SVG + "text")]


def texts_and_tooltips(root: ET.Element) -> list[str]:
    """Every text's words and, for one shortened to fit, the full words its tooltip keeps."""
    found = []
    for text in root.iter(SVG + "text"):
        found.append(shown(text))
        title = text.find(SVG + "title")
        if title is not None:
            found.append(title.text or "")
    return found


def number(element: ET.Element, attribute: str) -> float:
    return float(element.get(attribute, "nan"))


def states(*changes: tuple[float, str]) -> list[ObservedEvent]:
    return [event("state:changed", ms, state=state, reason=f"because {state}") for ms, state in changes]


# -- the picture as a whole ------------------------------------------------------------------------


def test_the_picture_is_a_self_contained_svg_with_a_size_and_a_title() -> None:
    root = draw({"main": states((0, "connecting"))}, title="Reconnects after a drop")
    assert root.tag == SVG + "svg"
    width, height = number(root, "width"), number(root, "height")
    assert root.get("viewBox") == f"0 0 {width:.0f} {height:.0f}"
    assert tooltip(root) == "Connection timeline — Reconnects after a drop"
    assert "Connection timeline — Reconnects after a drop" in words(root)
    assert not list(root.iter(SVG + "script")) and not list(root.iter(SVG + "image"))


def test_height_grows_with_the_number_of_clients() -> None:
    one = draw({"main": states((0, "ready"))})
    two = draw({"main": states((0, "ready")), "second": states((0, "ready"))})
    assert number(two, "height") > number(one, "height")
    assert {"main", "second"} <= set(words(two))


@pytest.mark.parametrize("events", [{}, {"main": []}])
def test_nothing_to_draw_gives_a_small_picture_saying_so(events: dict[str, list[ObservedEvent]]) -> None:
    root = draw(events, [])
    assert "Nothing happened in this scenario" in words(root)
    assert number(root, "width") < 600 and number(root, "height") < 200


def test_axis_ticks_fall_on_nice_steps() -> None:
    labels = [e.text for e in marks(draw({"main": states((0, "ready"))}), "text", "axis")]
    assert labels == ["0", "500", "1000", "1500", "2000", "2500", "3000", "3500", "4000"]
    short = [e.text for e in marks(draw({"main": states((0, "ready"))}, end_ms=7), "text", "axis")]
    assert short == ["0", "1", "2", "3", "4", "5", "6", "7"]


# -- the client's lanes ----------------------------------------------------------------------------


def test_each_state_is_a_segment_coloured_and_as_long_as_it_lasted() -> None:
    root = draw({"main": states((0, "connecting"), (1000, "ready"), (3000, "disconnected"))})
    expected = {"connecting": (0, 1000), "ready": (1000, 3000), "disconnected": (3000, END_MS)}
    for state, (begin, finish) in expected.items():
        (segment,) = marks(root, "rect", f"state-{state}")
        assert segment.get("fill") == STATE_COLOURS[state][0]
        assert number(segment, "x") == pytest.approx(x_at(begin), abs=0.1)
        assert number(segment, "width") == pytest.approx(x_at(finish) - x_at(begin), abs=0.1)
        assert f"from {begin:.1f} ms to {finish:.1f} ms" in tooltip(segment)
        assert f"because {state}" in tooltip(segment)
        assert state in words(root)  # each segment is wide enough to carry its name


def test_a_state_too_short_for_its_name_is_drawn_but_not_named() -> None:
    root = draw({"main": states((0, "authenticating"), (5, "ready"))})
    assert marks(root, "rect", "state-authenticating")
    state_names = [t.text for t in root.iter(SVG + "text") if t.get("text-anchor") == "middle"]
    assert "authenticating" not in state_names and "ready" in state_names


def test_ten_thousand_messages_draw_few_ticks_but_are_counted_exactly() -> None:
    received = [event("message", i * 0.4, channel="prices", seq=i, data={"n": i}) for i in range(10_000)]
    sent = [event("publish:acked", 100 + i, id=f"m{i}") for i in range(7)]
    root = draw({"main": received + sent})
    ticks = marks(root, "line", "received")
    assert len(ticks) <= PLOT_W  # at most one per pixel column, not one per message
    counted = sum(int(tooltip(tick).split(" ")[0]) for tick in ticks)
    assert counted == 10_000  # bucketing loses no message
    assert len(marks(root, "line", "sent")) >= 1
    assert "10000 received, 7 sent" in words(root)


def test_reconnect_shows_the_attempt_and_an_arrow_across_the_delay() -> None:
    retry = event("reconnect:scheduled", 1000, attempt=3, delay_ms=120, reason="connection refused")
    root = draw({"main": [retry]})
    (arrow,) = marks(root, "line", "retry")
    assert number(arrow, "x1") == pytest.approx(x_at(1000), abs=0.1)
    assert number(arrow, "x2") == pytest.approx(x_at(1120), abs=0.1)
    assert "retry 3 · 120 ms" in words(root)
    assert "1000.0 ms" in tooltip(arrow) and "1120.0 ms" in tooltip(arrow)
    assert "connection refused" in tooltip(arrow)


def test_giving_up_is_a_key_moment_saying_how_many_attempts_against_what_limit() -> None:
    seen = [
        event("reconnect:scheduled", 1000, attempt=1, delay_ms=0, base_delay_ms=0, reason="reset"),
        event("reconnect:scheduled", 1100, attempt=2, delay_ms=55, base_delay_ms=50, reason="refused"),
        event("reconnect:exhausted", 1300, total_attempts=3, limit=2, last_error="the server refused"),
    ]
    root = draw({"main": seen})
    assert len(marks(root, "line", "retry")) == 2
    assert "base delay ms: 50" in tooltip(marks(root, "line", "retry")[1])
    (gave_up,) = marks(root, "line", "moment")
    assert number(gave_up, "x1") == pytest.approx(x_at(1300), abs=0.1)
    assert "gave up retrying" in words(root)
    assert all(fact in tooltip(gave_up) for fact in ("total attempts: 3", "limit: 2", "the server refused"))


def test_retries_in_quick_succession_keep_their_labels_apart() -> None:
    retries = [
        event("reconnect:scheduled", 1000 + ms, attempt=number, delay_ms=delay)
        for number, (ms, delay) in enumerate([(0, 0), (5, 50), (60, 100), (170, 200)], start=1)
    ]
    root = draw({"main": retries})
    labels = sorted(
        (number(text, "y"), number(text, "x"), text.text or "") for text in marks(root, "text", "label")
    )
    assert len(marks(root, "line", "retry")) == 4
    for (y1, x1, words1), (y2, x2, _) in itertools.pairwise(labels):
        assert y1 != y2 or x2 - x1 >= len(words1) * 6, f"{words1!r} overprints the next label on its row"


def test_a_connection_the_gateway_cut_is_marked_on_its_lane() -> None:
    root = draw({}, [entry("gateway", "connection cut", 1500, connection=4, after_ms=100)])
    (cut,) = [point for point in marks(root, "polygon", "point") if "connection cut" in tooltip(point)]
    assert "after ms: 100" in tooltip(cut)


def test_key_moments_are_dashed_lines_whose_labels_do_not_overlap() -> None:
    seen = [
        event("connection:lost", 2000, reason="the connection was reset", code=1006),
        event("heartbeat:timeout", 2000, waited_ms=300),
    ]
    root = draw({"main": seen})
    lines = marks(root, "line", "moment")
    assert len(lines) == 2 and all(line.get("stroke-dasharray") for line in lines)
    assert all(number(line, "x1") == pytest.approx(x_at(2000), abs=0.1) for line in lines)
    assert "code: 1006" in tooltip(lines[0]) and "the connection was reset" in tooltip(lines[0])
    labels = {t.text: number(t, "y") for t in marks(root, "text", "label")}
    assert labels["connection lost"] != labels["no heartbeat reply"]


# -- network, gateway and auth service -------------------------------------------------------------


def test_a_fault_is_shaded_from_when_it_was_applied_until_it_was_lifted() -> None:
    root = draw({}, [fault("fault applied", 1000), fault("fault lifted", 2000)])
    (shade,) = marks(root, "rect", "fault")
    assert number(shade, "x") == pytest.approx(x_at(1000), abs=0.1)
    assert number(shade, "width") == pytest.approx(x_at(2000) - x_at(1000), abs=0.1)
    assert "active" not in shade.get("class", "")
    assert "network down" in words(root)
    assert "from 1000.0 ms to 2000.0 ms" in tooltip(shade)


def test_a_fault_never_lifted_reaches_the_end_and_says_it_is_still_active() -> None:
    latency = fault("fault applied", 3000, name="slow", fault_kind="latency", attributes={"latency": 200})
    root = draw({}, [latency])
    (shade,) = marks(root, "rect", "active")
    assert number(shade, "x") + number(shade, "width") == pytest.approx(x_at(END_MS), abs=0.1)
    assert "latency +200 ms (still active)" in words(root)


def test_faults_pair_by_name_in_any_journal_order_and_overlapping_ones_get_their_own_row() -> None:
    journal = [
        fault("fault lifted", 3000, name="slow", fault_kind="latency", attributes={"latency": 50}),
        fault("fault lifted", 2000),
        fault("fault applied", 1500, name="slow", fault_kind="latency", attributes={"latency": 50}),
        fault("fault applied", 1000),
    ]
    shades = sorted(marks(draw({}, journal), "rect", "fault"), key=lambda shade: number(shade, "x"))
    spans = [(number(s, "x"), number(s, "x") + number(s, "width")) for s in shades]
    assert spans == [
        pytest.approx((x_at(1000), x_at(2000)), abs=0.1),
        pytest.approx((x_at(1500), x_at(3000)), abs=0.1),
    ]
    assert number(shades[0], "y") != number(shades[1], "y")


@pytest.mark.parametrize(
    ("fault_kind", "attributes", "description", "name"),
    [
        ("down", {}, "network down", "network down"),
        ("timeout", {"timeout": 0}, "half-open: downstream bytes dropped", "silent link (bytes dropped)"),
        ("timeout", {"timeout": 500}, "downstream bytes dropped, …", "bytes dropped, cut after 500 ms"),
        ("latency", {"latency": 200, "jitter": 50}, "downstream latency …", "latency +200 ms ± 50"),
        ("gremlins", {"rate": 1}, "upstream gremlins (rate=1)", "upstream gremlins (rate=1)"),
        ("bandwidth", {"rate": 16}, "downstream bandwidth limited …", "bandwidth 16 KB/s"),
        ("reset_peer", {"timeout": 40}, "connections reset by peer …", "reset by peer after 40 ms"),
        ("limit_data", {"bytes": 4000}, "downstream data cut after …", "cut after 4000 bytes"),
        (
            "slicer",
            {"average_size": 64, "size_variation": 8, "delay": 500},
            "… sliced",
            "sliced into ~64-byte pieces",
        ),
        ("slow_close", {"delay": 200}, "downstream close held back 200 ms", "close held back 200 ms"),
        (
            "flapping",
            {"up_ms": 100, "down_ms": 100, "variation": 0.2},
            "network flapping: …",
            "network flapping",
        ),
        ("slow_close", {}, "downstream close held back", "downstream close held back"),
    ],
)
def test_faults_are_named_in_plain_english(
    fault_kind: str, attributes: dict[str, float], description: str, name: str
) -> None:
    applied = fault("fault applied", 0, fault_kind=fault_kind, attributes=attributes, description=description)
    root = draw({}, [applied, fault("fault lifted", 3000, fault_kind=fault_kind)])
    assert name in words(root)
    assert description in tooltip(marks(root, "rect", "fault")[0])


def test_the_gateway_is_shown_stopped_until_it_starts_again_or_the_scenario_ends() -> None:
    journal = [
        entry("gateway", "gateway stopped", 1000, mode="crash", code=None, kept_sessions=True),
        entry("gateway", "gateway started", 1500, port=1),
        entry("gateway", "gateway stopped", 3000, mode="graceful", code=1001, kept_sessions=True),
        entry("gateway", "session started", 2000, session="s1", connection=2),
    ]
    root = draw({}, journal)
    stops = sorted(marks(root, "rect", "gateway-stopped"), key=lambda stop: number(stop, "x"))
    assert [(number(s, "x"), number(s, "x") + number(s, "width")) for s in stops] == [
        pytest.approx((x_at(1000), x_at(1500)), abs=0.1),
        pytest.approx((x_at(3000), x_at(END_MS)), abs=0.1),
    ]
    assert {"gateway crashed", "gateway shut down (1001)", "session started", "2 stops"} <= set(words(root))
    assert "code: 1001" in tooltip(stops[1]) and "still stopped at the end" in tooltip(stops[1])


def test_each_gateway_node_is_shown_stopped_on_its_own_with_the_warning_its_clients_got() -> None:
    journal = [
        entry("gateway", "traffic moved", 900, to="node B"),
        entry("gateway", "gateway stopped", 1000, mode="graceful", code=1012, node="A"),
        entry("gateway", "session resumed", 1100, session="s1", node="B"),
        entry("gateway", "gateway started", 2000, port=1, node="A"),
        entry("gateway", "gateway stopped", 2500, mode="graceful", code=1001, node="B"),
        entry("gateway", "gateway started", 3500, port=2, node="B"),
    ]
    root = draw({}, journal)
    stops = sorted(marks(root, "rect", "gateway-stopped"), key=lambda stop: number(stop, "x"))
    assert [(number(s, "x"), number(s, "x") + number(s, "width")) for s in stops] == [
        pytest.approx((x_at(1000), x_at(2000)), abs=0.1),
        pytest.approx((x_at(2500), x_at(3500)), abs=0.1),
    ]
    assert {"node A shut down (1012)", "node B shut down (1001)", "traffic moved", "2 stops"} <= set(
        words(root)
    )
    moved = [point for point in marks(root, "polygon", "point") if "traffic moved" in tooltip(point)]
    assert len(moved) == 1 and "to: node B" in tooltip(moved[0])


def test_the_auth_lane_marks_token_requests_and_refusals() -> None:
    journal = [
        entry("auth service", "token requested", 1000, grant_type="api_key", key="k1"),
        entry("auth service", "token answered", 2000, grant_type="api_key", status=401, key="k1"),
    ]
    root = draw({}, journal)
    points = marks(root, "polygon", "point")
    assert [tooltip(point).split(":")[0] for point in points] == ["1000.0 ms", "2000.0 ms"]
    assert {"token asked", "refused 401", "1 token request"} <= set(words(root))


def test_each_failure_shows_how_the_client_classified_it_and_what_the_far_end_did() -> None:
    seen = [
        event(
            "error:classified", 1000, classification="closed_1013", retryable=True, recommended_delay_ms=400
        ),
        event(
            "error:classified", 3000, classification="handshake_401", retryable=False, recommended_delay_ms=0
        ),
    ]
    journal = [
        entry("gateway", "session ended by the gateway", 990, session="s1", code=1013, reason="1013 (later)"),
        entry("gateway", "upgrade refused", 2990, status=401, reason="Unauthorized", retry_after_s=None),
        entry("network", "host never answers", 100, address="127.0.0.1:9"),
        entry("network", "connection left unanswered", 200, host="silent host", connection=1),
    ]
    root = draw({"the client": seen}, journal)
    shown = set(words(root))
    assert {"retry: closed_1013", "fatal: handshake_401", "closed 1013", "upgrade refused 401"} <= shown
    assert {"silent host", "left unanswered"} <= shown
    moments = sorted(marks(root, "line", "moment"), key=lambda line: number(line, "x1"))
    assert [number(line, "x1") for line in moments] == pytest.approx([x_at(1000), x_at(3000)], abs=0.1)
    assert "recommended delay ms: 400" in tooltip(moments[0])


# -- safety and robustness -------------------------------------------------------------------------


def test_secrets_payloads_and_token_fields_never_reach_the_picture() -> None:
    seen = [
        event("message", 100, channel="news", seq=1, data={"text": "SECRET-PAYLOAD"}),
        event("token:acquired", 50, token="SECRET-TOKEN", expires_in_ms=1000),
        event("connection:lost", 200, reason="reset", code=1006, api_key="SECRET-KEY"),
        event("state:changed", 0, state="ready", previous="connected", reason="ok", token="SECRET-T2"),
    ]
    journal = [
        entry("auth service", "token requested", 10, grant_type="api_key", key="SECRET-FINGERPRINT"),
        entry("gateway", "session started", 20, session="s1", subject="SECRET-SUBJECT"),
    ]
    svg = render_timeline({"main": seen}, journal, T0, at(END_MS))
    assert "SECRET" not in svg


def test_text_is_escaped_so_the_svg_stays_valid() -> None:
    nasty = "A <b>&\"quoted\"</b> 'name'"
    seen = [
        event("state:changed", 0, state="ready", reason=nasty),
        event("connection:lost", 10, reason=nasty),
    ]
    root = draw({nasty: seen}, title=nasty)
    assert tooltip(root) == f"Connection timeline — {nasty}"
    assert nasty in texts_and_tooltips(root)  # the client's name
    assert nasty in tooltip(marks(root, "rect", "state-ready")[0])
    assert nasty in tooltip(marks(root, "line", "moment")[0])


@pytest.mark.parametrize("end_ms", [0.0, -50.0])
def test_an_end_not_after_the_start_still_draws_within_the_plot(end_ms: float) -> None:
    seen = [*states((0, "connecting"), (5, "ready")), event("reconnect:scheduled", 1, attempt=1, delay_ms=50)]
    root = draw({"main": seen}, [fault("fault applied", 2)], end_ms=end_ms)
    for shape in [*root.iter(SVG + "rect"), *root.iter(SVG + "line")]:
        for attribute in ("x", "x1", "x2"):
            if shape.get(attribute) is not None:
                assert 0 <= number(shape, attribute) <= LEFT + PLOT_W


def test_events_before_the_start_are_clamped_to_zero() -> None:
    root = draw({"main": states((-250, "connecting"), (1000, "ready"))})
    (segment,) = marks(root, "rect", "state-connecting")
    assert number(segment, "x") == pytest.approx(LEFT)
    assert "from 0.0 ms to 1000.0 ms" in tooltip(segment)


def test_every_mark_carries_a_tooltip_with_its_time() -> None:
    seen = [
        *states((0, "connecting"), (100, "ready")),
        event("message", 200, channel="c", seq=1, data={}),
        event("publish:acked", 300, id="m1"),
        event("message:gap", 350, expected=2, received=4),
        event("reconnect:scheduled", 400, attempt=1, delay_ms=100),
        event("session:resumed", 600, session_id="s", replay=2),
    ]
    journal = [
        fault("fault applied", 500),
        entry("gateway", "gateway stopped", 700, mode="crash"),
        entry("gateway", "handshake refused", 800, status=401, reason="expired"),
    ]
    root = draw({"main": seen}, journal)
    css = {"state", "tick", "retry", "retry-start", "moment", "fault", "gateway-stopped", "point"}
    shapes = [e for e in root.iter() if css & set((e.get("class") or "").split()) and e.tag != SVG + "text"]
    assert len(shapes) >= 10
    assert all(re.search(r"\d+\.\d ms", tooltip(shape)) for shape in shapes)


def test_faults_from_a_real_proxy_journal_are_shaded_where_they_happened() -> None:
    journal = Journal("network")

    async def flap_then_cut() -> None:
        proxy = FaultProxy("gateway link", "127.0.0.1", 1, rng=random.Random(3), journal=journal)
        proxy.start_flapping(up_ms=20, down_ms=20)
        await eventually(lambda: len(journal.entries("fault lifted", fault_kind="down")) >= 2, what="2 downs")
        await proxy.stop_flapping()
        proxy.add_toxic("limit_data", bytes=200)
        proxy.add_toxic("slow_close", delay=200)
        proxy.heal_after(30)
        await eventually(lambda: len(journal.entries("fault lifted")) >= 5, what="the cut lifted")
        await proxy.close()

    asyncio.run(flap_then_cut())
    entries = list(journal)
    start, end = entries[0].at - 0.01, entries[-1].at + 0.01
    root = ET.fromstring(render_timeline({}, entries, start, end, title="faults"))
    span_ms = (end - start) * 1000
    shades = {tooltip(shade).split(" on the ")[0]: shade for shade in marks(root, "rect", "fault")}
    applied = {entry.detail["description"]: entry.at for entry in journal.entries("fault applied")}
    lifted = {entry.detail["description"]: entry.at for entry in journal.entries("fault lifted")}
    assert len(marks(root, "rect", "fault")) == len(applied) + 1  # each down is its own (same description)
    for description, shade in shades.items():
        left_ms = (applied[description] - start) * 1000
        assert number(shade, "x") == pytest.approx(x_at(left_ms, span_ms), abs=0.5), description
        assert number(shade, "x") + number(shade, "width") == pytest.approx(
            x_at((lifted[description] - start) * 1000, span_ms), abs=0.5
        ), description
    names = words(root)
    for name in ("network flapping", "network down", "cut after 200 bytes", "close held back 200 ms"):
        assert name in names


# -- labels never overprint one another -------------------------------------------------------------


def text_boxes(root: ET.Element) -> list[tuple[str, float, float, float, float]]:
    """Each text's words and the box it is guessed to take (left, top, right, bottom), from the same width
    guess the picture uses."""
    boxes = []
    for text in root.iter(SVG + "text"):
        size = float(text.get("font-size") or 11)
        width = len(shown(text)) * CHAR_W * size / 11 * (BOLD_W if text.get("font-weight") == "bold" else 1)
        x, y = number(text, "x"), number(text, "y")
        left = {"middle": x - width / 2, "end": x - width}.get(text.get("text-anchor") or "start", x)
        boxes.append((shown(text), left, y - 0.72 * size, left + width, y + 0.22 * size))
    return boxes


def overlaps(root: ET.Element) -> list[str]:
    boxes = text_boxes(root)
    return [
        f"{a[0]!r} at ({a[1]:.0f}, {a[2]:.0f}) overprints {b[0]!r} at ({b[1]:.0f}, {b[2]:.0f})"
        for a, b in itertools.combinations(boxes, 2)
        if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]
    ]


def outside(root: ET.Element) -> list[str]:
    return [box[0] for box in text_boxes(root) if box[1] < 0 or box[3] > WIDTH]


LONG = "a fault with a very long name that goes on and on, well past any room a label could ever have"


def busy(
    rng: random.Random, clients: int, around_ms: float
) -> tuple[dict[str, list[ObservedEvent]], list[Any]]:
    """Clients and services doing a great deal within a few milliseconds of ``around_ms``, with long names."""

    def soon() -> float:
        return around_ms + rng.uniform(0, 4)

    events: dict[str, list[ObservedEvent]] = {}
    for number_ in range(clients):
        name = (
            f"client number {number_} with a name far too long for the column"
            if number_ % 2
            else f"c{number_}"
        )
        seen = [
            event("state:changed", soon(), state=rng.choice(list(STATE_COLOURS)), reason="x")
            for _ in range(30)
        ]
        seen += [
            event(moment, soon(), reason=LONG, classification=LONG, retryable=rng.random() < 0.5)
            for moment in MOMENTS
        ]
        seen += [
            event("reconnect:scheduled", soon(), attempt=n, delay_ms=rng.uniform(0, 50)) for n in range(1, 20)
        ]
        seen += [event("message", soon(), channel="c", seq=n) for n in range(50)]
        seen += [
            event(kind, soon())
            for kind in ("publish:acked", "publish:resent", "message:duplicate", "message:gap")
        ]
        events[name] = sorted(seen, key=lambda e: e.at)
    journal: list[Any] = [
        entry(
            source,
            kind,
            soon(),
            status=503,
            requests=3,
            close_code=None,
            delay_ms=20,
            after_ms=5,
            flaw="tampered",
            speaks="realtime.v1",
            to="node B",
            code=1012,
        )
        for (source, kind) in SERVICE_POINTS
        for _ in range(2)
    ]
    journal += [
        entry(source, kind, soon(), delay_ms=9000, after_ms=150, flaw=LONG, speaks=LONG)
        for (source, kind) in SERVICE_TROUBLES
    ]
    journal += [
        entry("gateway", "gateway stopped", soon(), mode="crash", node=node) for node in ("A", "B", None)
    ]
    for number_ in range(6):
        name = f"fault {number_}"
        journal.append(
            fault("fault applied", soon(), name=name, fault_kind="gremlins", description=f"{LONG} {number_}")
        )
        if number_ % 2:
            journal.append(fault("fault lifted", soon() + 1, name=name, fault_kind="gremlins"))
    return events, journal


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("around_ms", [0.0, 1800.0, END_MS - 3])
def test_no_two_labels_overprint_each_other_however_busy_the_scenario(seed: int, around_ms: float) -> None:
    events, journal = busy(random.Random(seed), clients=1 + seed % 3, around_ms=around_ms)
    title = "A scenario whose name is far too long to fit across the top of the picture " * 3
    root = draw(events, journal, title=title)
    assert overlaps(root) == []
    assert outside(root) == []


def test_every_fault_keeps_a_label_however_busy_its_lane() -> None:
    events, journal = busy(random.Random(7), clients=1, around_ms=1000)
    labels = Counter(words(draw(events, journal)))
    wanted = Counter(
        SERVICE_POINTS[(e.source, e.kind)][0]
        for e in journal
        if (e.source, e.kind) in FAULT_POINTS and e.kind != "trouble programmed"
    )
    wanted.update({"made to answer 503 ×3": 2, "made to refuse 503 ×3": 2})
    assert {label: labels[label] for label in wanted} == dict(wanted)


def test_a_label_with_no_room_is_shortened_and_its_tooltip_keeps_all_of_it() -> None:
    name = "a client whose name is much too long to fit in the label column"
    longer = f"{LONG}; {LONG}"
    seen = [event("error:classified", 1000, classification=longer, retryable=False)]
    journal = [fault("fault applied", 3500, name="x", fault_kind="gremlins", description=longer)]
    title = "A scenario whose name is far too long to fit across the top of the picture " * 3
    root = draw({name: seen}, journal, title=title)
    shortened = {
        tooltip(text): shown(text) for text in root.iter(SVG + "text") if text.find(SVG + "title") is not None
    }
    assert set(shortened) == {
        name,
        f"fatal: {longer}",
        f"{longer} (still active)",
        f"Connection timeline — {title}",
    }
    assert all(words.endswith("…") and len(words) < len(full) for full, words in shortened.items())
    assert overlaps(root) == [] and outside(root) == []


def test_a_label_that_would_run_into_the_next_one_shrinks_to_its_short_form() -> None:
    rows = LabelRows(1)
    rows.place(650, 700)  # a label already on the only row, a little to the right
    placed = place_label(rows, 560, "session resumed", "resumed", **EDGES)
    assert placed is not None and (placed.words, placed.full, placed.row) == ("resumed", "session resumed", 0)
    assert place_label(rows, 560, "session resumed", "resumed", **EDGES) is None  # no room left even for that


def test_like_marks_close_together_share_one_label_saying_how_many() -> None:
    seen = [event("auth:error", 1000 + ms, status=401) for ms in (0, 1, 2)]
    journal = [entry("gateway", "session resumed", 2000 + ms, session=f"s{ms}") for ms in range(5)]
    root = draw({"main": seen}, journal)
    assert {"sign-in error ×3", "session resumed ×5"} <= set(words(root))
    assert len(marks(root, "line", "moment")) == 3 and len(marks(root, "polygon", "point")) == 5
