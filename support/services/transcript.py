"""The message transcript: every frame the gateway sent or received, as facts (when, which way, what type,
which sequence number, how big) and never the frame's contents. The report shows it as a table
(support/report/transcript.py).

Contents stay out on purpose: frames carry tokens and application data, and the report must not.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

TO_CLIENT = "gateway → client"
FROM_CLIENT = "client → gateway"


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
