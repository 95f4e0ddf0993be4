"""The SVG the timeline is written in: escaped elements, text with tooltips, placed labels and the document
around them. Nothing here knows about clients or services.

An element's tooltip is an SVG ``<title>``: browsers show it on hover, and it always says everything a
shortened or dropped label leaves out.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from support.report.timeline import wording
from support.report.timeline.labels import LabelRows, Placed, place_in_plot
from support.report.timeline.vocabulary import WHITE

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def document(heading: str, width: float, height: float, body: list[str]) -> str:
    """A whole SVG picture, ``width`` by ``height`` px, on a white background with the hatch pattern that
    faults are drawn with, titled ``heading``."""
    size = f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"'
    hatch = (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#000000" '
        'stroke-opacity="0.35" stroke-width="1.5"/></pattern></defs>'
    )
    opening = f'<svg xmlns="http://www.w3.org/2000/svg" {size} font-family={quoteattr(FONT)} font-size="11">'
    background = element("rect", width="100%", height="100%", fill=WHITE)  # readable in dark-mode viewers too
    return "\n".join([opening, f"<title>{escape(heading)}</title>", hatch, background, *body, "</svg>"])


def element(tag: str, tooltip: str | None = None, words: str | None = None, **attributes: object) -> str:
    """One element, everything escaped. ``class_`` becomes ``class`` and ``font_size`` ``font-size``."""
    shown = [(name.rstrip("_").replace("_", "-"), value) for name, value in attributes.items()]
    rendered = "".join(
        f" {name}={quoteattr(_attribute(value))}" for name, value in shown if value is not None
    )
    inner = (f"<title>{escape(tooltip)}</title>" if tooltip else "") + (escape(words) if words else "")
    return f"<{tag}{rendered}>{inner}</{tag}>" if inner else f"<{tag}{rendered}/>"


def text(words: str, tooltip: str | None = None, **attributes: object) -> str:
    """A ``<text>`` element showing ``words``, with a tooltip when given."""
    return element("text", tooltip, words, **attributes)


def label(rows: LabelRows, x: float, baseline: float, words: str, *shorter: str) -> list[str]:
    """A label for a mark at x, in a row where it overlaps nothing, shortened if only that fits; none at all
    when nothing fits (the mark's tooltip still says it)."""
    placed = place_in_plot(rows, x, words, *shorter)
    return [] if placed is None else [placed_text(placed, baseline)]


def placed_text(placed: Placed, baseline: float) -> str:
    """A placed label as text, its row 11 px below the one before, from ``baseline`` (px)."""
    return text(
        placed.words,
        placed.full,
        x=placed.x,
        y=baseline + placed.row * 11,
        text_anchor=placed.anchor,
        class_="label",
    )


def _attribute(value: object) -> str:
    return wording.number(value) if isinstance(value, float) else str(value)
