"""Polling with a deadline, and the plain-English failures it gives."""

from __future__ import annotations

import time

import pytest
from hamcrest import (
    contains_string,
    empty,
    equal_to,
    greater_than_or_equal_to,
    has_item,
    has_key,
    has_length,
    is_not,
    less_than,
)

from support.harness.matchers import numbered_exactly_once_in_order
from support.harness.waiting import check, explain, holds_throughout, wait_for


class Counter:
    """A probe that returns 1, 2, 3, … on successive calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_wait_for_returns_the_first_value_that_matches() -> None:
    probe = Counter()
    assert wait_for(probe, greater_than_or_equal_to(3), within_s=0.2, what="the count to reach 3") == 3
    assert probe.calls == 3


def test_wait_for_does_not_wait_when_the_value_already_matches() -> None:
    started = time.monotonic()
    assert wait_for(lambda: "ready", equal_to("ready"), within_s=0.2, what="readiness") == "ready"
    assert time.monotonic() - started < 0.1


def test_wait_for_fails_after_the_deadline_saying_what_expected_and_seen() -> None:
    arrived = [1, 2, 3]
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        wait_for(
            lambda: list(arrived),
            numbered_exactly_once_in_order(5),
            within_s=0.1,
            what="all five messages on prices",
        )
    elapsed = time.monotonic() - started
    assert 0.1 <= elapsed < 1.0
    message = str(caught.value)
    assert message == (
        "Waited 0.1 s for all five messages on prices, but it did not happen. "
        "Expected messages 1–5, each exactly once and in order; "
        "instead 3 message(s) arrived: messages 4, 5 never arrived."
    )
    assert "<function" not in message and "lambda" not in message and "\n" not in message


def test_wait_for_reports_the_last_value_seen() -> None:
    probe = Counter()
    with pytest.raises(AssertionError) as caught:
        wait_for(probe, less_than(0), within_s=0.05, what="a negative count")
    message = str(caught.value)
    assert "a negative count" in message
    assert "a value less than 0;" in message
    assert f"was {probe.calls}." in message
    assert "<function" not in message and "Counter object" not in message


def test_holds_throughout_passes_while_the_condition_holds() -> None:
    probe = Counter()
    started = time.monotonic()
    last = holds_throughout(probe, greater_than_or_equal_to(1), during_s=0.05, what="a positive count")
    assert time.monotonic() - started >= 0.05
    assert last == probe.calls
    assert probe.calls > 1


def test_holds_throughout_fails_as_soon_as_the_condition_breaks() -> None:
    probe = Counter()
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        holds_throughout(probe, less_than(3), during_s=5.0, what="no third reconnect attempt")
    assert time.monotonic() - started < 1.0
    assert probe.calls == 3
    message = str(caught.value)
    assert message == (
        "Expected no third reconnect attempt for 5 s, but it changed. "
        "Expected a value less than 3; instead was 3."
    )


def test_check_passes_the_value_through() -> None:
    assert check([1, 2], numbered_exactly_once_in_order(2), what="the delivery") == [1, 2]


def test_check_failure_names_what_was_checked() -> None:
    with pytest.raises(AssertionError) as caught:
        check([1, 3, 2], numbered_exactly_once_in_order(3), what="the delivery on prices")
    assert str(caught.value) == (
        "Checked the delivery on prices, and it was not as expected. "
        "Expected messages 1–3, each exactly once and in order; "
        "instead 3 message(s) arrived: message 2 arrived out of order."
    )


def test_several_values_checked_at_once_are_listed_in_words_not_shown_as_a_tuple() -> None:
    with pytest.raises(AssertionError) as caught:
        check((401, "invalid_grant", None), equal_to((401, "invalid_client", None)), what="the answer")
    assert str(caught.value) == (
        'Checked the answer, and it was not as expected. Expected 401, "invalid_client" and nothing; '
        'instead 401, "invalid_grant" and nothing.'
    )


def test_a_list_seen_by_a_matcher_other_than_equality_is_told_in_words() -> None:
    with pytest.raises(AssertionError) as caught:
        wait_for(lambda: ["y"], has_item("x"), within_s=0.01, what="the reasons")
    assert str(caught.value) == (
        "Waited 0.01 s for the reasons, but it did not happen. "
        'Expected a sequence containing "x"; instead "y".'
    )
    assert explain(is_not(has_item(False)), [True, False]) == (
        "Expected not a sequence containing no; instead yes and no."
    )
    assert (
        explain(has_length(2), ("a",)) == 'Expected an object with length of 2; instead "a" with length of 1.'
    )
    assert explain(empty(), ["a", "b"]) == 'Expected an empty collection; instead "a" and "b".'
    assert explain(has_item("x"), []) == 'Expected a sequence containing "x"; instead none.'
    assert explain(has_key("a"), {"b": 1}) == 'Expected a dictionary containing key "a"; instead b 1.'
    for said in (explain(has_item("x"), ["y"]), explain(has_key("a"), {})):
        assert not any(mark in said for mark in "[]{}'"), said


def test_a_single_value_is_still_told_as_the_matcher_tells_it() -> None:
    assert explain(contains_string("x"), "y") == "Expected a string containing 'x'; instead was 'y'."
    assert explain(less_than(0), 3) == "Expected a value less than 0; instead was 3."
