"""The message transcript as the report shows it: a standalone HTML page, one row per frame the gateway sent
or received (support/services/transcript.py records them), contents left out on purpose."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from support.services.transcript import TO_CLIENT, Frame

MAX_ROWS_SHOWN = 2000


def transcript_table(frames: Sequence[Frame], start: float) -> str:
    """A standalone HTML page with one row per frame, oldest first, for the report's attachment."""
    shown = sorted(frames, key=lambda frame: frame.at)[:MAX_ROWS_SHOWN]
    rows = "\n".join(_row(frame, start) for frame in shown)
    more = len(frames) - len(shown)
    note = f"<p>{more} later frames are not shown.</p>" if more > 0 else ""
    sent = sum(frame.direction == TO_CLIENT for frame in frames)
    summary = f"{len(frames)} frames: {sent} from the gateway to clients, {len(frames) - sent} from clients."
    if not frames:
        summary = "No frames crossed the gateway in this scenario."
    return _PAGE.format(summary=escape(summary), rows=rows, note=note)


def _row(frame: Frame, start: float) -> str:
    cells = (
        f"{max(frame.at - start, 0.0) * 1000:.0f} ms",
        frame.direction,
        str(frame.connection),
        frame.type,
        "" if frame.seq is None else str(frame.seq),
        frame.channel or "",
        frame.message_id or "",
        f"{frame.size} B",
    )
    css = "out" if frame.direction == TO_CLIENT else "in"
    return f'<tr class="{css}">' + "".join(f"<td>{escape(cell)}</td>" for cell in cells) + "</tr>"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Message transcript</title>
<style>
body {{ font-family: system-ui, sans-serif; font-size: 13px; margin: 8px; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 2px 10px; text-align: left; border-bottom: 1px solid #ddd; white-space: nowrap; }}
th {{ background: #f3f3f3; position: sticky; top: 0; }}
tr.in td:nth-child(2) {{ color: #0072b2; }}
tr.out td:nth-child(2) {{ color: #b35806; }}
</style></head><body>
<p>{summary} Times are from the start of the scenario; contents are left out on purpose.</p>
<table>
<thead><tr><th>Time</th><th>Direction</th><th>Connection</th><th>Type</th><th>Sequence</th><th>Channel</th>
<th>Message id</th><th>Size</th></tr></thead>
<tbody>
{rows}
</tbody></table>{note}
</body></html>
"""
