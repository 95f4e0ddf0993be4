"""Who received what, and from where, when many people follow many channels: every message a person may
read must reach them, and not one from a channel they may not read.

Plain functions over what each client delivered, so the accounting can be tested without a service. Each
problem is one plain sentence naming the person, the channel and the messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from support.drivers.base import ObservedEvent
from support.drivers.events import MessageDelivered, ServerError, Subscribed
from support.harness.matchers import delivery_problems
from support.harness.people import Person
from support.harness.queries import Events


def received(events: Sequence[ObservedEvent]) -> dict[str, list[object]]:
    """What a client delivered to the application, by channel, in the order it arrived."""
    by_channel: dict[str, list[object]] = {}
    for message in Events(events).of(MessageDelivered):
        by_channel.setdefault(message.channel, []).append(message.data)
    return by_channel


def missing_deliveries(
    people: Mapping[str, Person],
    deliveries: Mapping[str, Mapping[str, Sequence[object]]],
    channels: Sequence[str],
    count: int,
) -> list[str]:
    """For each person and each channel they may read: what is wrong with its messages 1 to ``count``."""
    problems = []
    for name, person in people.items():
        got = deliveries.get(name, {})
        for channel in channels:
            if not person.may_read(channel):
                continue
            numbers = _numbers(got.get(channel, ()))
            if numbers != list(range(1, count + 1)):
                problems.append(f"{name} on {channel!r}: {delivery_problems(numbers, count)}")
    return problems


def leaks(
    people: Mapping[str, Person], deliveries: Mapping[str, Mapping[str, Sequence[object]]]
) -> list[str]:
    """Every message a person received from a channel they may not read: a line per person and channel."""
    found = []
    for name, person in people.items():
        for channel, messages in sorted(deliveries.get(name, {}).items()):
            if messages and not person.may_read(channel):
                found.append(
                    f"{name} received {len(messages)} message(s) from {channel!r}, which they may not read"
                )
    return found


def forbidden_pairs(people: Mapping[str, Person], channels: Sequence[str]) -> set[tuple[str, str]]:
    """(person, channel) for every channel each person may not read."""
    return {
        (name, channel)
        for name, person in people.items()
        for channel in channels
        if not person.may_read(channel)
    }


def _numbers(messages: Sequence[object]) -> list[int]:
    # A message that is not one of the numbered ones counts as a number that was never sent.
    return [int(data["n"]) if isinstance(data, dict) and "n" in data else 0 for data in messages]


def subscription_answers(events: Sequence[ObservedEvent]) -> int:
    """How many requests to follow a channel the gateway has answered: confirmed, or refused as forbidden."""
    seen = Events(events)
    return seen.count(Subscribed) + seen.count(ServerError, code="forbidden")


def highest_seq(events: Sequence[ObservedEvent]) -> int:
    """The highest sequence number among the messages a client delivered (0 for none)."""
    return max((message.seq for message in Events(events).of(MessageDelivered)), default=0)


def still_in_flight(delivered: Mapping[str, int], sent: Mapping[str, int]) -> list[str]:
    """Who has not yet received everything sent to them, as "name has 3 of 5", from the highest sequence
    number each delivered and how many messages were sent to each."""
    return [
        f"{name} has {delivered.get(name, 0)} of {count}"
        for name, count in sent.items()
        if delivered.get(name, 0) < count
    ]
