"""What the client remembers about its session so a reconnect can carry on where it left off."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Arrival(Enum):
    NEXT = "next"  # the message the application has not seen yet, in order
    DUPLICATE = "duplicate"  # already delivered (a replay overlapped what arrived before the drop)
    GAP = "gap"  # later than expected: something in between never arrived


@dataclass
class PendingPublish:
    id: str
    channel: str
    data: Any
    sends: int = 0


@dataclass
class SessionState:
    session_id: str | None = None
    subscriptions: list[str] = field(default_factory=list)  # in the order the application asked
    confirmed: set[str] = field(default_factory=set)  # what the current session on the server has
    last_seq: int = 0  # the highest sequence number delivered to the application
    unacked: dict[str, PendingPublish] = field(default_factory=dict)  # insertion-ordered

    def want(self, channel: str) -> bool:
        """Remember a subscription; True if it is new."""
        if channel in self.subscriptions:
            return False
        self.subscriptions.append(channel)
        return True

    def unconfirmed(self) -> list[str]:
        return [channel for channel in self.subscriptions if channel not in self.confirmed]

    def start_fresh(self, session_id: str) -> None:
        """A new server session: nothing is confirmed and numbering starts again."""
        self.session_id = session_id
        self.confirmed.clear()
        self.last_seq = 0

    def arrival(self, seq: int) -> Arrival:
        if seq <= self.last_seq:
            return Arrival.DUPLICATE
        return Arrival.NEXT if seq == self.last_seq + 1 else Arrival.GAP

    def delivered(self, seq: int) -> None:
        self.last_seq = max(self.last_seq, seq)

    def acknowledge(self, message_id: str) -> PendingPublish | None:
        return self.unacked.pop(message_id, None)
