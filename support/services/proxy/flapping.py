"""The flapping schedule: a link that goes down and up, over and over, on lengths drawn from a seed.

Flapping is a proxy-level fault of this suite's own (Toxiproxy has none): the proxy goes ``down`` for about
``down_ms``, then ``up`` for about ``up_ms``, each length drawn from the proxy's seeded rng within
``variation`` (a fraction) of its mean, until the fault is lifted. The schedule and its arithmetic are plain
objects; ``flap`` is the thin loop that sleeps through it.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from support.services.proxy.toxics import plain

__all__ = ["FlappingSchedule", "describe", "flap", "phase_length_s"]


def phase_length_s(mean_ms: float, variation: float, rng: random.Random) -> float:
    """One phase's length in seconds: ``mean_ms`` stretched or shrunk by a uniform draw from ``rng`` within
    ``variation`` (a fraction, e.g. 0.2 for ± 20 %)."""
    return mean_ms * (1 + rng.uniform(-variation, variation)) / 1000


@dataclass(frozen=True)
class FlappingSchedule:
    """Down about ``down_ms``, then up about ``up_ms``, each within ``variation`` of its mean.

    ``ValueError`` unless both lengths are finite and above 0 and ``variation`` is from 0 up to (not
    including) 1. Lengths are drawn from ``rng`` one phase at a time, as the phase begins, so a seed replays
    the same schedule.
    """

    up_ms: float
    down_ms: float
    variation: float
    rng: random.Random = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, value in (("up_ms", self.up_ms), ("down_ms", self.down_ms)):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"flapping {name} must be a finite number above 0, not {value!r}")
        variation = self.variation
        if not 0 <= variation < 1:
            raise ValueError(
                f"flapping variation must be a fraction from 0 up to (not including) 1, not {variation!r}"
            )

    @property
    def attributes(self) -> dict[str, float]:
        """The fault's attributes as journaled: ``up_ms``, ``down_ms`` and ``variation``."""
        return {"up_ms": self.up_ms, "down_ms": self.down_ms, "variation": self.variation}

    def down_s(self) -> float:
        """The next down phase's length in seconds."""
        return phase_length_s(self.down_ms, self.variation, self.rng)

    def up_s(self) -> float:
        """The next up phase's length in seconds."""
        return phase_length_s(self.up_ms, self.variation, self.rng)


def describe(attributes: Mapping[str, float | int]) -> str:
    """Plain English for a report, from a flapping fault's attributes."""
    variation = attributes["variation"]
    return (
        f"network flapping: down about {plain(attributes['down_ms'])} ms, "
        f"then up about {plain(attributes['up_ms'])} ms, over and over"
        + (f" (each ± {plain(variation * 100)}%)" if variation else "")
    )


async def flap(
    schedule: FlappingSchedule, down: Callable[[], Awaitable[object]], up: Callable[[], Awaitable[object]]
) -> None:
    """Follow the schedule until cancelled: down first (the fault shows at once, as the other faults do),
    each phase's length drawn once its change is made."""
    while True:
        await down()
        await asyncio.sleep(schedule.down_s())
        await up()
        await asyncio.sleep(schedule.up_s())
