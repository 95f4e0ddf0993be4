"""Channel access, read plainly: made-up people and their rights to read, and who received what from where."""

from __future__ import annotations

import random
from typing import Any

import pytest

from support.areas import channel_access
from support.drivers.base import ObservedEvent
from support.harness.people import CHANNEL_NAMES, Person, channel_names, read_grants

# -- people and their rights ---------------------------------------------------------------------------


def person(name: str, *read: str) -> Person:
    return Person(name=name, api_key=f"key-{name}", read=read, publish=())


def test_a_person_reads_what_they_are_granted_and_hides_their_key() -> None:
    ann = person("ann", "news")
    assert ann.may_read("news") and not ann.may_read("prices")
    assert person("bob", "*").may_read("anything")
    assert "key-ann" not in repr(ann)


def test_channel_names_are_familiar_first_then_numbered() -> None:
    assert channel_names(3) == ["prices", "orders", "news"]
    many = channel_names(14)
    assert many[: len(CHANNEL_NAMES)] == list(CHANNEL_NAMES)
    assert many[-2:] == ["channel-13", "channel-14"]
    assert len(set(many)) == 14
    with pytest.raises(ValueError, match="at least one channel"):
        channel_names(0)


@pytest.mark.parametrize(("people", "count"), [(2, 2), (5, 2), (24, 8), (40, 12)])
def test_every_channel_is_both_read_and_withheld_and_everyone_reads_something(
    people: int, count: int
) -> None:
    channels = channel_names(count)
    grants = read_grants(people, channels, random.Random(1))
    assert len(grants) == people
    for grant in grants:
        assert grant and len(grant) < count  # something to receive and something to be kept from
        assert list(grant) == [channel for channel in channels if channel in grant]  # in channel order
    for channel in channels:
        assert any(channel in grant for grant in grants)
        assert any(channel not in grant for grant in grants)


def test_grants_come_from_the_seed() -> None:
    channels = channel_names(8)
    assert read_grants(24, channels, random.Random(5)) == read_grants(24, channels, random.Random(5))
    assert read_grants(24, channels, random.Random(5)) != read_grants(24, channels, random.Random(6))


@pytest.mark.parametrize(
    ("people", "count", "words"), [(5, 1, "at least two channels"), (3, 4, "3 people are too few for 4")]
)
def test_grants_that_could_not_tell_readers_apart_are_refused(people: int, count: int, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        read_grants(people, channel_names(count), random.Random(1))


# -- who received what, from where ---------------------------------------------------------------------


def message(channel: str, seq: int, data: Any) -> ObservedEvent:
    return ObservedEvent("message", {"channel": channel, "seq": seq, "data": data})


PEOPLE = {"ann": person("ann", "news"), "bob": person("bob", "news", "prices")}


def test_received_groups_what_a_client_delivered_by_channel_in_order() -> None:
    events = [
        message("news", 1, {"n": 1}),
        ObservedEvent("subscribed", {"channel": "news"}),
        message("prices", 2, {"n": 1}),
        message("news", 3, {"n": 2}),
    ]
    assert channel_access.received(events) == {"news": [{"n": 1}, {"n": 2}], "prices": [{"n": 1}]}
    assert channel_access.highest_seq(events) == 3
    assert channel_access.highest_seq([]) == 0


def test_nothing_missing_when_everyone_got_every_message_they_may_read() -> None:
    deliveries = {
        "ann": {"news": [{"n": 1}, {"n": 2}]},
        "bob": {"news": [{"n": 1}, {"n": 2}], "prices": [{"n": 1}, {"n": 2}]},
    }
    assert channel_access.missing_deliveries(PEOPLE, deliveries, ["news", "prices"], 2) == []
    assert channel_access.leaks(PEOPLE, deliveries) == []


def test_missing_deliveries_name_the_person_the_channel_and_the_messages() -> None:
    deliveries = {"ann": {"news": [{"n": 1}]}, "bob": {"news": [{"n": 2}, {"n": 1}]}}
    assert channel_access.missing_deliveries(PEOPLE, deliveries, ["news", "prices"], 2) == [
        "ann on 'news': 1 message(s) arrived: message 2 never arrived",
        "bob on 'news': 2 message(s) arrived: message 1 arrived out of order",
        "bob on 'prices': 0 message(s) arrived: messages 1, 2 never arrived",
    ]


def test_a_message_that_is_not_numbered_counts_as_never_sent() -> None:
    deliveries = {"ann": {"news": [{"n": 1}, {"text": "hello"}]}}
    assert channel_access.missing_deliveries({"ann": PEOPLE["ann"]}, deliveries, ["news"], 1) == [
        "ann on 'news': 2 message(s) arrived: message 0 arrived but was never sent; "
        "message 0 arrived out of order"
    ]


def test_leaks_name_who_received_how_many_from_where() -> None:
    deliveries = {"ann": {"news": [{"n": 1}], "prices": [{"n": 1}, {"n": 2}], "orders": []}}
    assert channel_access.leaks(PEOPLE, deliveries) == [
        "ann received 2 message(s) from 'prices', which they may not read"
    ]


def test_forbidden_pairs_are_every_channel_each_person_may_not_read() -> None:
    assert channel_access.forbidden_pairs(PEOPLE, ["news", "prices", "orders"]) == {
        ("ann", "prices"),
        ("ann", "orders"),
        ("bob", "orders"),
    }


def test_subscription_answers_count_confirmations_and_forbidden_refusals() -> None:
    events = [
        ObservedEvent("subscribed", {"channel": "news"}),
        ObservedEvent("server:error", {"code": "forbidden", "message": "no access to 'prices'"}),
        ObservedEvent("server:error", {"code": "bad_message", "message": "something else"}),
    ]
    assert channel_access.subscription_answers(events) == 2


def test_still_in_flight_says_who_is_behind() -> None:
    assert channel_access.still_in_flight({"ann": 3, "bob": 5}, {"ann": 5, "bob": 5, "cy": 1}) == [
        "ann has 3 of 5",
        "cy has 0 of 1",
    ]


# -- the sign-in rush ----------------------------------------------------------------------------------
