"""Measuring how a crowd of clients lived through a server fault, from made-up events."""

from __future__ import annotations

import pytest

from support.areas import server_faults
from support.areas.server_faults import CrowdFault
from support.drivers.base import ObservedEvent
from support.harness.matchers import milliseconds_under, share_at_least
from support.harness.waiting import explain
from support.services.journal import JournalEntry


def event(name: str, at: float, **data: object) -> ObservedEvent:
    return ObservedEvent(name, data, at)


def lived_through(
    lost: float, back: float | None, session: str = "s1", code: int = 1012
) -> list[ObservedEvent]:
    seen = [
        event("state:changed", 0.5, state="ready"),
        event("connection:lost", lost, code=code, reason="going"),
        event("state:changed", lost, state="disconnected"),
    ]
    if back is not None:
        seen += [
            event("session:resumed", back, session_id=session),
            event("state:changed", back, state="ready"),
        ]
    return seen


FAULT_AT = 10.0


def fault(**sessions: str | None) -> CrowdFault:
    return CrowdFault("the gateway restarted", FAULT_AT, dict(sessions))


def test_each_clients_downtime_runs_from_losing_its_connection_to_being_ready_again() -> None:
    events = {"ann": lived_through(10.01, 10.11), "bob": lived_through(10.02, 10.32, session="s2")}
    journal = [JournalEntry(10.1, "gateway", "session resumed", {"session": "s1", "node": "B"})]
    outages = server_faults.measure(fault(ann="s1", bob="s2"), events, journal)
    assert [round(outage.downtime_ms or 0) for outage in outages] == [100, 300]
    assert [outage.resumed for outage in outages] == [True, True]
    assert [outage.node for outage in outages] == ["B", None]
    summary = server_faults.summarise(outages)
    assert summary.reconnection_rate == 1.0 and summary.average_downtime_ms == pytest.approx(200)


def test_a_client_that_never_came_back_counts_against_the_rate_not_the_average_downtime() -> None:
    events = {"ann": lived_through(10.01, 10.11), "bob": lived_through(10.02, None)}
    outages = server_faults.measure(fault(ann="s1", bob="s2"), events, [])
    summary = server_faults.summarise(outages)
    assert summary.reconnection_rate == 0.5 and summary.average_downtime_ms == pytest.approx(100)
    assert server_faults.unsettled(fault(ann="s1", bob="s2"), events) == [
        "bob is not back yet: it is disconnected"
    ]


def test_a_client_that_got_a_new_session_did_not_resume() -> None:
    seen = [*lived_through(10.01, 10.11, session="s9"), event("session:continuity_lost", 10.1)]
    (outage,) = server_faults.measure(fault(ann="s1"), {"ann": seen}, [])
    assert outage.came_back and not outage.resumed


def test_events_before_the_fault_are_not_counted() -> None:
    seen = [*lived_through(5.0, 5.1), event("connection:lost", 10.05, code=1006)]
    (outage,) = server_faults.measure(fault(ann="s1"), {"ann": seen}, [])
    assert outage.lost_at == 10.05 and outage.lost_code == 1006 and not outage.came_back


def test_lost_connections_names_the_clients_still_connected_or_told_something_else() -> None:
    events = {"ann": lived_through(10.01, None, code=1001), "bob": [], "cy": lived_through(10.01, None)}
    assert server_faults.lost_connections(fault(ann="s1", bob="s2", cy="s3"), events, 1012) == [
        "ann lost it with 1001 (the server is going away)",
        "bob has not lost its connection",
    ]


def test_data_lost_names_missing_duplicated_and_unresumed_messages_per_client() -> None:
    measured = fault(ann="s1", bob="s2", cy="s3")
    events = {
        "ann": lived_through(10.01, 10.1),
        "bob": lived_through(10.01, 10.1, session="s2"),
        "cy": lived_through(10.01, None, session="s3"),
    }
    measured.outages = server_faults.measure(measured, events, [])
    deliveries = {"ann": [1, 2, 3, 4], "bob": [1, 2, 2, 4], "cy": []}
    problems = server_faults.data_lost([measured], {"ann": "s1", "bob": "s2", "cy": "s3"}, deliveries, 4)
    assert problems == [
        "bob: 4 message(s) arrived: message 3 never arrived; message 2 arrived more than once"
    ]
    problems = server_faults.data_lost([measured], {"ann": "s7", "bob": "s2", "cy": "s3"}, deliveries, 4)
    assert problems[0] == "ann did not resume its session after the faults"


def test_the_report_table_has_a_row_per_client_and_production_seconds() -> None:
    measured = fault(ann="s1")
    measured.outages = server_faults.measure(measured, {"ann": lived_through(10.01, 10.11)}, [])
    text = server_faults.summary_text(measured, production_second_ms=50)
    assert "Reconnection rate          100.0%" in text
    assert "100 ms (2.0 s in production)" in text
    assert "ann" in server_faults.summary_html(measured, 50) and "1012 (the service is restarting)" in text


def test_words_become_restart_kinds_warnings_close_codes_and_percentages() -> None:
    assert server_faults.RESTART_KINDS["with a warning that it is going away"].code == 1001
    assert server_faults.RESTART_KINDS["at once, its process killed without a close frame"].mode == "crash"
    assert server_faults.WARNINGS["the service is restarting"] == 1012
    assert server_faults.CLOSE_CODE_MEANINGS["the connection dropped without a close frame"] == 1006
    assert server_faults.CLOSE_CODE_MEANINGS["the service is restarting"] == 1012
    assert server_faults.percentage("95%") == pytest.approx(0.95)


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("most", "Expected a percentage from 0% to 100%, such as 95%, got 'most'"),
        ("120%", "Expected a percentage from 0% to 100%"),
    ],
)
def test_bad_percentages_get_a_one_line_error(words: str, message: str) -> None:
    # Unknown kinds of restart, warnings and close code meanings never reach a step: their parameter types
    # refuse them (tests/test_parameter_types.py).
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")) as raised:
        server_faults.percentage(words)
    assert "\n" not in str(raised.value)


def test_the_limits_read_as_plain_english_when_they_are_missed() -> None:
    share, time = share_at_least(0.95), milliseconds_under(500)
    assert share.matches(0.95) and not share.matches(0.9)
    assert explain(share, 0.9) == "Expected at least 95%; instead it was 90.0%."
    assert time.matches(499.9) and not time.matches(500) and not time.matches(None)
    assert explain(time, 612.4) == "Expected under 500 ms; instead it was 612 ms."
    assert explain(time, None) == "Expected under 500 ms; instead there was nothing to time."
