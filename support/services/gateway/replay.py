"""A session's replay buffer: the messages the gateway numbered for one session that its client has not
acknowledged yet, oldest first. Sans-I/O: no sockets, no event loop.

The numbering and the replay are the suite's protocol (docs/protocol.md), not WebSocket's: every message
on a session carries ``seq`` 1, 2, 3…; the client acknowledges with ``{"type": "ack", "seq": n}`` (every
message up to ``n``), and a client that resumes with ``hello.resume.last_seq`` is sent again whatever it
had not acknowledged.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from realtime_protocol import MessageType, encode


class ReplayBuffer:
    """The numbered messages of one session still waiting for the client's acknowledgement."""

    def __init__(self) -> None:
        self._next_seq = 1
        self._unacknowledged: deque[tuple[int, str]] = deque()

    @property
    def numbered(self) -> int:
        """How many messages this session has been given a sequence number for, acknowledged or not."""
        return self._next_seq - 1

    def number(self, channel: str, data: Any) -> str:
        """Give the next sequence number to a message on ``channel`` carrying ``data`` (any JSON value); keep
        it until acknowledged; return its frame, to send now if the client is connected."""
        seq = self._next_seq
        self._next_seq += 1
        frame = encode({"type": MessageType.MESSAGE, "seq": seq, "channel": channel, "data": data})
        self._unacknowledged.append((seq, frame))
        return frame

    def acknowledge(self, seq: int) -> None:
        """The client has every message up to and including ``seq``: they need never be sent again."""
        while self._unacknowledged and self._unacknowledged[0][0] <= seq:
            self._unacknowledged.popleft()

    def drop_next(self, after_seq: int) -> tuple[int, str] | None:
        """Let go of the message right after ``after_seq`` without its acknowledgement (a client that cannot
        take it); return it as ``(seq, frame)``, or None when the next message kept is not that one."""
        if self._unacknowledged and self._unacknowledged[0][0] == after_seq + 1:
            return self._unacknowledged.popleft()
        return None

    def frames(self) -> list[str]:
        """The frames a resume replays, oldest first."""
        return [frame for _, frame in self._unacknowledged]

    def __len__(self) -> int:
        return len(self._unacknowledged)
