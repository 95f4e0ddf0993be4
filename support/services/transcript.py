"""The message transcript: every frame the gateway sent or received, as facts a person can read in a
table (when, which way, what type, which sequence number, how big) and never the frame's contents.

Contents stay out on purpose: frames carry tokens and application data, and the report must not.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

TO_CLIENT = "gateway → client"
FROM_CLIENT = "client → gateway"
MAX_ROWS_SHOWN = 2000


@dataclass(frozen=True)
class Frame:
    at: float  # time.monotonic() when the frame went out or came in
    direction: str
    connection: int
    type: str
    size: int  # bytes on the wire, before WebSocket framing
    seq: int | None = None
    channel: str | None = None
    message_id: str | None = None


class Transcript:
    """A thread-safe record of frames, filled by the gateway and read by the report."""

    def __init__(self) -> None:
        self._frames: list[Frame] = []
        self._lock = threading.Lock()

    def record(self, at: float, direction: str, connection: int, frame: str | bytes) -> Frame:
        entry = _facts_of(at, direction, connection, frame)
        with self._lock:
            self._frames.append(entry)
        return entry

    def frames(self) -> list[Frame]:
        with self._lock:
            return list(self._frames)

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()


def _facts_of(at: float, direction: str, connection: int, frame: str | bytes) -> Frame:
    raw = frame.encode("utf-8") if isinstance(frame, str) else frame
    if isinstance(frame, bytes):
        return Frame(at, direction, connection, "binary data", len(raw))
    try:
        message = json.loads(raw)
    except ValueError:
        return Frame(at, direction, connection, "not valid JSON", len(raw))
    if not isinstance(message, dict):
        return Frame(at, direction, connection, "not a JSON object", len(raw))
    return Frame(
        at,
        direction,
        connection,
        str(message.get("type", "no type")),
        len(raw),
        seq=message["seq"] if isinstance(message.get("seq"), int) else None,
        channel=message["channel"] if isinstance(message.get("channel"), str) else None,
        message_id=message["id"] if isinstance(message.get("id"), str) else None,
    )


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
