"""Sign-in load, read plainly: the sign-in rush's numbers, when a rush has settled, and a caller's answers
summed up."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from support.areas import sign_in_load as rush
from support.drivers.base import ObservedEvent
from support.drivers.sign_in_caller import SignInAnswer, summarise_answers

# -- people and their rights ---------------------------------------------------------------------------


def state(name: str, at: float, reason: str = "") -> ObservedEvent:
    return ObservedEvent("state:changed", {"state": name, "reason": reason}, at)


def token_at(at: float) -> ObservedEvent:
    return ObservedEvent("token:acquired", {"token": "fp:0123456789ab"}, at)


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(n) for n in range(1, 201)]
    assert rush.percentile(values, 0.5) == 100
    assert rush.percentile(values, 0.95) == 190
    assert rush.percentile(values, 1.0) == 200
    assert rush.percentile([7.0], 0.95) == 7.0
    assert rush.percentile([3.0, 1.0, 2.0], 0.5) == 2.0


@pytest.mark.parametrize(("values", "fraction"), [([], 0.5), ([1.0], 0.0), ([1.0], 1.5)])
def test_percentile_refuses_what_has_no_answer(values: Sequence[float], fraction: float) -> None:
    with pytest.raises(ValueError):
        rush.percentile(values, fraction)


def test_measure_times_each_client_from_being_told_to_connect() -> None:
    events = {
        "ann": [state("connecting", 10.0), token_at(10.2), state("ready", 10.5)],
        "bob": [state("connecting", 10.0), token_at(10.4), state("failed", 10.6, "gave up")],
        "cy": [],
    }
    told = {"ann": 10.0, "bob": 10.0, "cy": 10.0}
    results = rush.measure(told, events, {"ann": "s-1", "bob": None, "cy": None})
    ann, bob, cy = results
    assert (ann.succeeded, ann.sign_in_ms, ann.ready_ms) == (True, pytest.approx(200), pytest.approx(500))
    assert (bob.succeeded, bob.sign_in_ms, bob.ready_ms) == (False, pytest.approx(400), None)
    assert (cy.succeeded, cy.sign_in_ms, cy.ready_ms) == (False, None, None)


def test_an_event_from_before_the_rush_does_not_count() -> None:
    events = {"ann": [token_at(5.0), state("ready", 5.1), token_at(10.3), state("ready", 10.4)]}
    (ann,) = rush.measure({"ann": 10.0}, events, {"ann": "s-1"})
    assert ann.sign_in_ms == pytest.approx(300)
    assert ann.ready_ms == pytest.approx(400)


def test_summarise_counts_successes_sessions_and_spreads() -> None:
    results = [rush.ClientRush(f"c{n}", 0.0, n / 1000, 2 * n / 1000, f"s-{n}") for n in range(1, 101)] + [
        rush.ClientRush("late", 0.0, 0.5, None, None)
    ]
    summary = rush.summarise(results)
    assert (summary.count, summary.succeeded, summary.distinct_sessions) == (101, 100, 100)
    assert summary.success_rate == pytest.approx(100 / 101)
    assert summary.sign_in == rush.Spread(
        p50=pytest.approx(51), p95=pytest.approx(96), max=pytest.approx(500)
    )
    assert summary.ready == rush.Spread(
        p50=pytest.approx(100), p95=pytest.approx(190), max=pytest.approx(200)
    )


def test_a_rush_where_no_one_got_anywhere_still_summarises() -> None:
    summary = rush.summarise([rush.ClientRush("ann", 0.0, None, None, None)])
    assert (summary.success_rate, summary.sign_in, summary.ready) == (0.0, None, None)
    assert "none got this far" in rush.summary_text(summary)
    assert rush.summarise([]).success_rate == 0.0


def test_the_summary_reads_as_plain_words_in_text_and_html() -> None:
    summary = rush.RushSummary(
        count=200,
        succeeded=200,
        distinct_sessions=200,
        sign_in=rush.Spread(640.2, 760.7, 778.0),
        ready=rush.Spread(1076.0, 1094.4, 1094.6),
    )
    text = rush.summary_text(summary)
    assert text.splitlines()[0] == "Sign-in rush (times from being told to connect)"
    assert "Success rate                     100.0%" in text
    assert "median 640 ms, 95th percentile 761 ms, slowest 778 ms" in text
    html = rush.summary_html(summary)
    assert (
        "<th>Time to be ready</th><td>median 1076 ms, 95th percentile 1094 ms, slowest 1095 ms</td>" in html
    )
    assert html.startswith("<!DOCTYPE html>")


def test_settled_means_ready_at_least_once_or_given_up() -> None:
    events = {
        "ann": [state("connecting", 1), state("ready", 2), state("reconnecting", 3)],
        "bob": [state("connecting", 1), state("failed", 2, "gave up: the key was refused")],
        "cy": [state("connecting", 1), state("authenticating", 2, "presenting credentials")],
        "dee": [],
    }
    assert rush.unsettled(events) == [
        "cy is still authenticating (presenting credentials)",
        "dee has not set out to connect: it is still initialized",
    ]
    assert rush.never_ready(events) == [
        "bob never became ready: it had already failed: it gave up: the key was refused",
        "cy never became ready: it is still authenticating (presenting credentials)",
        "dee never became ready: it has not set out to connect: it is still initialized",
    ]


# -- a caller's answers --------------------------------------------------------------------------------


def test_answers_are_summed_up_in_runs() -> None:
    answers = [SignInAnswer(401, "invalid_client")] * 5 + [SignInAnswer(429, "rate_limited", 0.8)] * 3
    assert summarise_answers(answers) == "5 answered 401 invalid_client, then 3 answered 429 rate_limited"
    assert summarise_answers([SignInAnswer(200), SignInAnswer(401, "x"), SignInAnswer(200)]) == (
        "1 answered 200, then 1 answered 401 x, then 1 answered 200"
    )
    assert summarise_answers([]) == "none"
    assert SignInAnswer(429, "rate_limited", 0.8).describe() == "429 rate_limited (wait 800 ms)"
