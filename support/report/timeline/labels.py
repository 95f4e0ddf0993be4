"""Where a timeline label fits: rows of labels that never overprint, like labels close together sharing
one, and words shortened to fit.

The rest of the timeline (``support.report.timeline``) draws; this module only measures. Widths are guesses
from an average character width, good enough to keep 11 px labels apart in the report's SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from support.report.timeline.geometry import LEFT, WIDTH, Scale
from support.report.timeline.vocabulary import SHORT_LABELS

CHAR_W = 6.2  # average width of an 11 px sans-serif character, to guess label widths
BOLD_W = 1.08  # how much wider bold text runs
LABEL_GAP = 4  # the least room between two labels on a row, in px


class LabelRows:
    """Rows of labels: each label goes in the first row where it overlaps no other, in whatever order labels
    are placed (so the labels that matter most can be placed first)."""

    def __init__(self, rows: int) -> None:
        self._taken: list[list[tuple[float, float]]] = [[] for _ in range(rows)]

    def place(self, left: float, right: float) -> int | None:
        """The row the span from ``left`` to ``right`` now holds, or None when every row is taken there."""
        for row, taken in enumerate(self._taken):
            if all(right + LABEL_GAP <= start or left >= end + LABEL_GAP for start, end in taken):
                taken.append((left, right))
                return row
        return None

    def add_row(self) -> None:
        """One more row, for a label that must be shown."""
        self._taken.append([])


@dataclass(frozen=True)
class Placed:
    """A label given a place: its row, the words it shows (maybe shortened), where it is anchored, and the
    full words when they were shortened."""

    row: int
    words: str
    x: float
    anchor: str
    full: str | None = None


def place_label(
    rows: LabelRows, x: float, words: str, *shorter: str, left_edge: float, right_edge: float
) -> Placed | None:
    """The first of ``words`` and its ``shorter`` forms that has room in some row, just right of x (left of it
    near ``right_edge``, and cut short when wider than the room on either side), or None."""
    room = max(right_edge - (x + 3), x - 3 - left_edge)
    for shown in dict.fromkeys(fit(form, room) for form in (words, *shorter) if form):
        wide = width(shown)
        rightwards = x + 3 + wide <= right_edge
        left = x + 3 if rightwards else x - 3 - wide
        row = rows.place(left, left + wide)
        if row is not None:
            anchor = "start" if rightwards else "end"
            return Placed(row, shown, x + 3 if rightwards else x - 3, anchor, unless(words, shown))
    return None


def fit(words: str, room: float, font_size: float = 11, bold: bool = False) -> str:
    """``words`` as they are when they fit in ``room`` px, else cut short with an ellipsis."""
    if width(words, font_size, bold) <= room:
        return words
    keep = max(int(room / width("x", font_size, bold)) - 1, 1)
    return words[:keep].rstrip() + "…"


def unless(full: str, shown: str) -> str | None:
    """The full words, as a tooltip, when what is shown is not all of them."""
    return full if shown != full else None


def width(words: str, font_size: float = 11, bold: bool = False) -> float:
    """A guess at how wide ``words`` are drawn, in px."""
    return len(words) * CHAR_W * font_size / 11 * (BOLD_W if bold else 1)


def place_in_plot(rows: LabelRows, x: float, words: str, *shorter: str) -> Placed | None:
    """``place_label`` within the timeline's plot: from its left edge to just inside the picture's right."""
    return place_label(rows, x, words, *shorter, left_edge=LEFT, right_edge=WIDTH - 4)


def label_runs(scale: Scale, marks: Sequence[tuple[float, str]]) -> list[list[int]]:
    """The indexes of time-ordered (time, label) marks, in runs of like labels close enough together (within
    the first one's label) to share one label."""
    runs: list[list[int]] = []
    for index, (at, label) in enumerate(marks):
        if runs:
            first_at, first_label = marks[runs[-1][0]]
            if label == first_label and scale.x(at) - scale.x(first_at) <= width(label):
                runs[-1].append(index)
                continue
        runs.append([index])
    return runs


def short_form(label: str) -> str:
    """What a label shrinks to when it has no room: its known short form, or what comes before a colon."""
    return SHORT_LABELS.get(label) or (label.split(":")[0] if ":" in label else "")
