"""The timeline's geometry: where the plot sits in the picture, how tall its rows are, and the scale from a
scenario's monotonic times to milliseconds and x pixels.

All sizes are in px of the SVG's user space; times are ``time.monotonic()`` seconds, shown in ms since the
scenario started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

LEFT, PLOT_W = 180, 1000  # the label column, then the drawing area
WIDTH = LEFT + PLOT_W + 40  # room for a label that runs past the last moment
PLOT_TOP, LANE_GAP, ROW_H = 70, 6, 18
POINT_ROWS = 3  # rows of labels above a service lane's points
NAME_W = LEFT - 20  # room for a lane's name and note, left of the plot
TICK_BUCKET_PX = 2  # one message tick per 2 px column at most, so 10,000 messages stay light


@dataclass(frozen=True)
class Scale:
    """Monotonic times to scenario milliseconds and x pixels; times outside the scenario are clamped."""

    start: float
    span_ms: float

    def ms(self, at: float) -> float:
        """``at`` in ms since the start, clamped to the scenario (0 to ``span_ms``)."""
        return min(max((at - self.start) * 1000, 0.0), self.span_ms)

    def x(self, at: float) -> float:
        """Where ``at`` falls on the plot, in px from the picture's left edge."""
        return LEFT + self.ms(at) / self.span_ms * PLOT_W

    def when(self, at: float) -> str:
        """``at`` in words for a tooltip: "12.5 ms"."""
        return f"{self.ms(at):.1f} ms"


@dataclass(frozen=True)
class Lane:
    """One row of the picture: its name and note in the label column, its height in px, and how to draw it."""

    name: str
    note: str  # a second, smaller line under the name, e.g. counts
    height: float
    draw: Callable[[float], list[str]]  # the lane's elements, given its top y
    heading: bool = False
