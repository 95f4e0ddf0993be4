"""Troubles a scenario programs the gateway to have with its coming connections, sans-I/O: a refused upgrade
(an HTTP status, RFC 6455 §4.2.2) or a session ended on purpose (a close code, RFC 6455 §7.4), one each,
in order."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from http import HTTPStatus

from realtime_protocol import CloseCode, describe_close_code
from support.services.gateway.actions import Note


@dataclass(frozen=True)
class GatewayTrouble:
    """A misbehaviour programmed for one coming connection: answer its upgrade with an HTTP ``status`` (with a
    ``Retry-After`` when ``retry_after_s`` is given), or let its session open and then end it with
    ``close_code`` and ``reason`` (1006: drop it without a close frame). ``ValueError`` when it is neither or
    both, the status is not a known 4xx or 5xx, or the close code is 1000 (a normal close is no trouble)."""

    status: int | None = None
    retry_after_s: float | None = None
    close_code: int | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.status is None) == (self.close_code is None):
            raise ValueError("a gateway trouble is an HTTP status or a close code: give exactly one")
        if self.status is not None and not (400 <= self.status <= 599 and _known_status(self.status)):
            raise ValueError(f"a refused upgrade needs a known 4xx or 5xx HTTP status, got {self.status}")
        if self.close_code == CloseCode.NORMAL:
            raise ValueError("closing normally (1000) is not a trouble")

    def note(self) -> Note:
        """How programming it is journaled ("trouble programmed")."""
        code = self.close_code
        return Note(
            "trouble programmed",
            {
                "status": self.status,
                "retry_after_s": self.retry_after_s,
                "close_code": code,
                "reason": describe_close_code(code) if code is not None else None,
            },
        )


class TroubleQueue:
    """The troubles programmed for the coming connections, first come first served."""

    def __init__(self) -> None:
        self._coming: deque[GatewayTrouble] = deque()

    def program(self, *troubles: GatewayTrouble) -> list[Note]:
        """Queue ``troubles`` after those already programmed; the notes to journal, one each."""
        self._coming.extend(troubles)
        return [trouble.note() for trouble in troubles]

    def next(self) -> GatewayTrouble | None:
        """The trouble for the connection asking now, if any (it is used up)."""
        return self._coming.popleft() if self._coming else None

    def clear(self) -> None:
        self._coming.clear()


def _known_status(status: int) -> bool:
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return True
