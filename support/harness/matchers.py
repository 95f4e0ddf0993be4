"""PyHamcrest matchers whose descriptions read as plain English in failure messages."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from hamcrest.core.base_matcher import BaseMatcher
from hamcrest.core.description import Description


class NumberedExactlyOnceInOrder(BaseMatcher[Sequence[int]]):
    """Matches the numbers 1..count, each exactly once, in order."""

    def __init__(self, count: int) -> None:
        self.count = count

    def _matches(self, item: Sequence[int]) -> bool:
        return list(item) == list(range(1, self.count + 1))

    def describe_to(self, description: Description) -> None:
        description.append_text(f"messages 1–{self.count}, each exactly once and in order")

    def describe_mismatch(self, item: Sequence[int], mismatch_description: Description) -> None:
        mismatch_description.append_text(delivery_problems(list(item), self.count))


def delivery_problems(numbers: list[int], count: int) -> str:
    """Say what is wrong with a delivered sequence, the way a person would."""
    problems: list[str] = []
    counts = Counter(numbers)
    missing = [n for n in range(1, count + 1) if n not in counts]
    if missing:
        problems.append(_some("never arrived", missing))
    twice = sorted(n for n, seen in counts.items() if seen > 1)
    if twice:
        problems.append(_some("arrived more than once", twice))
    unexpected = sorted(n for n in counts if not 1 <= n <= count)
    if unexpected:
        problems.append(_some("arrived but was never sent", unexpected))
    out_of_order = [later for earlier, later in itertools.pairwise(numbers) if later < earlier]
    if out_of_order:
        problems.append(_some("arrived out of order", out_of_order))
    summary = f"{len(numbers)} message(s) arrived"
    return summary + (": " + "; ".join(problems) if problems else "")


def _some(what: str, numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10]) + (
        f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    )
    noun = "message" if len(numbers) == 1 else "messages"
    return f"{noun} {shown} {what}"


class InOrderOnceEach(BaseMatcher[Sequence[Any]]):
    """The expected items appear in this order and each exactly once (other items may come between)."""

    def __init__(self, expected: Sequence[Any]) -> None:
        self.expected = list(expected)

    def _matches(self, item: Sequence[Any]) -> bool:
        seen = list(item)
        if any(seen.count(wanted) != 1 for wanted in self.expected):
            return False
        positions = [seen.index(wanted) for wanted in self.expected]
        return positions == sorted(positions)

    def describe_to(self, description: Description) -> None:
        description.append_text(" → ".join(str(x) for x in self.expected) + ", in that order, once each")

    def describe_mismatch(self, item: Sequence[Any], mismatch_description: Description) -> None:
        shown = " → ".join(str(x) for x in item) if item else "nothing"
        mismatch_description.append_text(f"saw {shown}")


def numbered_exactly_once_in_order(count: int) -> NumberedExactlyOnceInOrder:
    return NumberedExactlyOnceInOrder(count)


def in_order_once_each(expected: Sequence[Any]) -> InOrderOnceEach:
    return InOrderOnceEach(expected)


class EachExactlyOnce(BaseMatcher[Sequence[str]]):
    """Every expected id appears exactly once among those seen (and nothing else does)."""

    def __init__(self, expected: Sequence[str], noun: str = "message") -> None:
        self.expected = list(expected)
        self.noun = noun

    def _matches(self, item: Sequence[str]) -> bool:
        return Counter(item) == Counter(self.expected)

    def describe_to(self, description: Description) -> None:
        description.append_text(f"each of the {len(self.expected)} {self.noun}s exactly once")

    def describe_mismatch(self, item: Sequence[str], mismatch_description: Description) -> None:
        counts = Counter(item)
        # People think of "the 3rd message sent", not of its id.
        position = {wanted: number for number, wanted in enumerate(self.expected, start=1)}
        missing = [position[wanted] for wanted in self.expected if counts[wanted] == 0]
        repeated = [position[wanted] for wanted in self.expected if counts[wanted] > 1]
        strangers = [seen for seen in counts if seen not in position]
        problems = []
        if missing:
            problems.append(_some("never arrived", missing))
        if repeated:
            problems.append(_some("arrived more than once", repeated))
        if strangers:
            problems.append(f"{len(strangers)} {self.noun}(s) arrived that were never sent")
        mismatch_description.append_text(f"{len(item)} arrived: " + "; ".join(problems))


def each_exactly_once(expected: Sequence[str], noun: str = "message") -> EachExactlyOnce:
    return EachExactlyOnce(expected, noun)


class KeepsGrowing(BaseMatcher[Sequence[float]]):
    """Values that never shrink and end larger than they started (a cap may hold them level)."""

    def _matches(self, item: Sequence[float]) -> bool:
        values = list(item)
        return (
            len(values) >= 2
            and all(later >= earlier for earlier, later in itertools.pairwise(values))
            and values[-1] > values[0]
        )

    def describe_to(self, description: Description) -> None:
        description.append_text("values that never shrink and end larger than they started")

    def describe_mismatch(self, item: Sequence[float], mismatch_description: Description) -> None:
        shown = ", ".join(f"{value:g}" for value in item) if item else "nothing"
        mismatch_description.append_text(f"saw {shown}")


def keeps_growing() -> KeepsGrowing:
    return KeepsGrowing()


class NoProblems(BaseMatcher[Sequence[str]]):
    """Matches an empty list of problems, each a plain sentence; a mismatch names the first ten."""

    def __init__(self, noun: str) -> None:
        self.noun = noun

    def _matches(self, item: Sequence[str]) -> bool:
        return not item

    def describe_to(self, description: Description) -> None:
        description.append_text(f"no {self.noun}")

    def describe_mismatch(self, item: Sequence[str], mismatch_description: Description) -> None:
        shown = "; ".join(item[:10]) + (f"; and {len(item) - 10} more" if len(item) > 10 else "")
        mismatch_description.append_text(f"{len(item)} {self.noun}: {shown}")


def no_problems(noun: str) -> NoProblems:
    """No problems of a kind (say "leaks"): the failure lists them in plain words."""
    return NoProblems(noun)


class ShareAtLeast(BaseMatcher[float]):
    """A share (0 to 1) no smaller than a minimum, both shown as percentages."""

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def _matches(self, item: float) -> bool:
        return item >= self.minimum

    def describe_to(self, description: Description) -> None:
        description.append_text(f"at least {self.minimum:.0%}")

    def describe_mismatch(self, item: float, mismatch_description: Description) -> None:
        mismatch_description.append_text(f"it was {item:.1%}")


def share_at_least(minimum: float) -> ShareAtLeast:
    return ShareAtLeast(minimum)


class MillisecondsUnder(BaseMatcher[float | None]):
    """A time in milliseconds below a limit; None (nothing to time) never matches."""

    def __init__(self, limit_ms: float) -> None:
        self.limit_ms = limit_ms

    def _matches(self, item: float | None) -> bool:
        return item is not None and item < self.limit_ms

    def describe_to(self, description: Description) -> None:
        description.append_text(f"under {self.limit_ms:.0f} ms")

    def describe_mismatch(self, item: float | None, mismatch_description: Description) -> None:
        mismatch_description.append_text(
            "there was nothing to time" if item is None else f"it was {item:.0f} ms"
        )


def milliseconds_under(limit_ms: float) -> MillisecondsUnder:
    return MillisecondsUnder(limit_ms)


class AllPartsUp(BaseMatcher[Mapping[str, Any]]):
    """Matches a client's health (as a driver's ``health()`` answers) whose every part is up."""

    def _matches(self, item: Mapping[str, Any]) -> bool:
        parts = item.get("subsystems") or {}
        return bool(parts) and all(part.get("status") == "up" for part in parts.values())

    def describe_to(self, description: Description) -> None:
        description.append_text("every part of the client up")

    def describe_mismatch(self, item: Mapping[str, Any], mismatch_description: Description) -> None:
        parts = item.get("subsystems") or {}
        if not parts:
            mismatch_description.append_text("the client named no parts")
            return
        down = [f"{name} {part.get('status')}" for name, part in parts.items() if part.get("status") != "up"]
        mismatch_description.append_text(f"these parts were not up: {', '.join(down)} (health: {dict(item)})")


def all_parts_up() -> AllPartsUp:
    return AllPartsUp()
