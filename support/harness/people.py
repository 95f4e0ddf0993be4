"""Made-up people for scenarios with many clients: who they are, what they may read and post, and the
channels they are told apart by.

Plain Python, so the rules for handing out rights can be tested without a service.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

# Names a person would recognise; more channels than these are numbered.
CHANNEL_NAMES = (
    "prices", "orders", "news", "alerts", "weather", "sports",
    "traffic", "markets", "music", "travel", "health", "science",
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    """Someone with an account: ``name`` is also who the auth service signs them in as."""

    name: str
    api_key: str = field(repr=False)
    read: tuple[str, ...]
    publish: tuple[str, ...]

    def may_read(self, channel: str) -> bool:
        return "*" in self.read or channel in self.read


def channel_names(count: int) -> list[str]:
    """``count`` different channel names, the familiar ones first."""
    if count < 1:
        raise ValueError(f"a scenario needs at least one channel, not {count}")
    numbered = [f"channel-{number}" for number in range(len(CHANNEL_NAMES) + 1, count + 1)]
    return [*CHANNEL_NAMES[:count], *numbered]


def read_grants(people: int, channels: Sequence[str], rng: random.Random) -> list[tuple[str, ...]]:
    """For each of ``people``, a random choice of ``channels`` they may read, in channel order.

    So that every channel is both delivered and withheld, person ``i`` always reads channel ``i`` and never
    channel ``i + 1`` (counting round the list); the rest is drawn from ``rng``. That needs at least two
    channels and at least as many people as channels.
    """
    count = len(channels)
    if count < 2:
        raise ValueError(f"telling readers apart needs at least two channels, not {count}")
    if people < count:
        raise ValueError(f"every channel needs a reader: {people} people are too few for {count} channels")
    grants: list[tuple[str, ...]] = []
    for index in range(people):
        allowed, denied = index % count, (index + 1) % count
        chosen = {
            position
            for position in range(count)
            if position == allowed or (position != denied and rng.random() < 0.5)
        }
        grants.append(tuple(channels[position] for position in sorted(chosen)))
    return grants
