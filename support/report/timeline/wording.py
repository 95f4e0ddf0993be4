"""Plain words for the timeline's labels and tooltips: a mark's facts, counts and numbers.

A picture must never fail a scenario, so a value of an unexpected type reads as 0 rather than raising.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any


def facts(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    """The ``keys`` that ``data`` holds, in words: " (reason: cut; code: 1006)", or "" when it holds none."""
    shown = [f"{key.replace('_', ' ')}: {data[key]}" for key in keys if data.get(key) is not None]
    return f" ({'; '.join(shown)})" if shown else ""


def count(number: int, word: str) -> str:
    """ "1 retry", "3 retries", "2 faults"."""
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{number} {word if number == 1 else plural}"


def times(label: str, count: int) -> str:
    """A label for ``count`` like marks: the label, then a multiplication sign and the count."""
    return label if count == 1 else f"{label} ×{count}"


def number(value: Any) -> str:
    """A number as a label shows it: whole numbers without a point, others to one decimal place."""
    as_number = as_float(value)
    return str(int(as_number)) if as_number.is_integer() else f"{as_number:.1f}"


def as_float(value: Any) -> float:
    """``value`` as a finite float; anything else (None, text, infinity) counts as 0."""
    try:
        as_number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return as_number if math.isfinite(as_number) else 0.0
