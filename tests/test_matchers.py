"""The suite's matchers: what they accept and how they describe what went wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hamcrest.core.matcher import Matcher
from hamcrest.core.string_description import StringDescription

from support.harness.matchers import (
    delivery_problems,
    each_exactly_once,
    in_order_once_each,
    keeps_growing,
    no_problems,
    numbered_exactly_once_in_order,
)


def expectation(matcher: Matcher[Any]) -> str:
    description = StringDescription()
    matcher.describe_to(description)
    return str(description)


def mismatch(matcher: Matcher[Any], item: Sequence[Any]) -> str:
    assert not matcher.matches(item)
    description = StringDescription()
    matcher.describe_mismatch(item, description)
    return str(description)


# -- numbered_exactly_once_in_order -----------------------------------------------------------------


def test_numbered_accepts_a_perfect_delivery() -> None:
    matcher = numbered_exactly_once_in_order(100)
    assert matcher.matches(list(range(1, 101)))
    assert matcher.matches(tuple(range(1, 101)))
    assert numbered_exactly_once_in_order(0).matches([])
    assert expectation(matcher) == "messages 1–100, each exactly once and in order"


def test_numbered_names_a_missing_message() -> None:
    delivered = [n for n in range(1, 101) if n != 57]
    assert mismatch(numbered_exactly_once_in_order(100), delivered) == (
        "99 message(s) arrived: message 57 never arrived"
    )


def test_numbered_names_duplicates() -> None:
    assert mismatch(numbered_exactly_once_in_order(5), [1, 2, 2, 3, 4, 4, 5]) == (
        "7 message(s) arrived: messages 2, 4 arrived more than once"
    )


def test_numbered_names_messages_out_of_order() -> None:
    assert mismatch(numbered_exactly_once_in_order(5), [1, 3, 2, 4, 5]) == (
        "5 message(s) arrived: message 2 arrived out of order"
    )


def test_numbered_names_messages_that_were_never_sent() -> None:
    assert mismatch(numbered_exactly_once_in_order(3), [1, 2, 3, 99]) == (
        "4 message(s) arrived: message 99 arrived but was never sent"
    )


def test_numbered_lists_every_kind_of_problem_together() -> None:
    text = mismatch(numbered_exactly_once_in_order(5), [2, 1, 1, 7])
    assert text == (
        "4 message(s) arrived: messages 3, 4, 5 never arrived; message 1 arrived more than once; "
        "message 7 arrived but was never sent; message 1 arrived out of order"
    )


def test_numbered_describes_an_empty_delivery() -> None:
    assert mismatch(numbered_exactly_once_in_order(2), []) == (
        "0 message(s) arrived: messages 1, 2 never arrived"
    )


def test_long_lists_of_numbers_are_shortened() -> None:
    text = delivery_problems([], 25)
    assert text == "0 message(s) arrived: messages 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 15 more never arrived"


# -- in_order_once_each -----------------------------------------------------------------------------


def test_in_order_once_each_accepts_the_order_with_others_in_between() -> None:
    matcher = in_order_once_each(["connecting", "connected", "closed"])
    assert matcher.matches(["connecting", "connected", "closed"])
    assert matcher.matches(["idle", "connecting", "authenticating", "connected", "closing", "closed"])
    assert expectation(matcher) == "connecting → connected → closed, in that order, once each"


def test_in_order_once_each_refuses_wrong_order_repeats_and_absences() -> None:
    matcher = in_order_once_each(["connecting", "connected"])
    assert mismatch(matcher, ["connected", "connecting"]) == "saw connected → connecting"
    assert mismatch(matcher, ["connecting", "connected", "connecting", "connected"]) == (
        "saw connecting → connected → connecting → connected"
    )
    assert mismatch(matcher, ["connecting"]) == "saw connecting"
    assert mismatch(matcher, []) == "saw nothing"


# -- each_exactly_once ------------------------------------------------------------------------------

SENT = ["m-a", "m-b", "m-c", "m-d"]


def test_each_exactly_once_accepts_any_order() -> None:
    matcher = each_exactly_once(SENT)
    assert matcher.matches(SENT)
    assert matcher.matches(list(reversed(SENT)))
    assert expectation(matcher) == "each of the 4 messages exactly once"
    assert expectation(each_exactly_once(SENT, noun="event")) == "each of the 4 events exactly once"


def test_each_exactly_once_describes_missing_ones_by_position() -> None:
    assert mismatch(each_exactly_once(SENT), ["m-a", "m-d"]) == ("2 arrived: messages 2, 3 never arrived")


def test_each_exactly_once_describes_repeats_by_position() -> None:
    assert mismatch(each_exactly_once(SENT), ["m-a", "m-b", "m-c", "m-c", "m-d"]) == (
        "5 arrived: message 3 arrived more than once"
    )


def test_each_exactly_once_counts_strangers_without_naming_their_ids() -> None:
    text = mismatch(each_exactly_once(SENT), [*SENT, "x-1", "x-2"])
    assert text == "6 arrived: 2 message(s) arrived that were never sent"
    assert "x-1" not in text


def test_each_exactly_once_combines_problems() -> None:
    assert mismatch(each_exactly_once(SENT), ["m-b", "m-b", "zzz"]) == (
        "3 arrived: messages 1, 3, 4 never arrived; message 2 arrived more than once; "
        "1 message(s) arrived that were never sent"
    )


# -- keeps_growing ----------------------------------------------------------------------------------


def test_keeps_growing_accepts_growth_held_level_by_a_cap() -> None:
    matcher = keeps_growing()
    assert matcher.matches([50, 100, 200, 400, 400, 400])
    assert matcher.matches([1.5, 2.25])
    assert expectation(matcher) == "values that never shrink and end larger than they started"


def test_keeps_growing_refuses_shrinking_flat_or_too_short_series() -> None:
    matcher = keeps_growing()
    assert mismatch(matcher, [50, 100, 80, 200]) == "saw 50, 100, 80, 200"
    assert mismatch(matcher, [100, 100, 100]) == "saw 100, 100, 100"
    assert mismatch(matcher, [0.5]) == "saw 0.5"
    assert mismatch(matcher, []) == "saw nothing"


# -- no_problems ---------------------------------------------------------------------------------------


def test_no_problems_accepts_an_empty_list_and_says_what_it_wanted() -> None:
    assert no_problems("leaks").matches([])
    assert expectation(no_problems("leaks")) == "no leaks"


def test_no_problems_names_the_problems_in_plain_words() -> None:
    problems = ["ann received 2 message(s) from 'news', which they may not read"]
    assert mismatch(no_problems("leaks"), problems) == (
        "1 leaks: ann received 2 message(s) from 'news', which they may not read"
    )


def test_no_problems_shortens_a_long_list() -> None:
    problems = [f"problem {number}" for number in range(1, 14)]
    said = mismatch(no_problems("problems"), problems)
    assert said.startswith("13 problems: problem 1; problem 2;")
    assert "problem 10; and 3 more" in said
    assert "problem 11" not in said
