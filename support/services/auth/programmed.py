"""Trouble programmed into the auth service: how to answer the next token requests instead of normally,
without I/O.

A scenario queues ``ProgrammedResponse``s; each coming token request takes the next one, oldest first, before
anything else is looked at (except throttling, see ``accounts.FailureLimiter``). Error answers are OAuth error
bodies (RFC 6749 §5.2): an ``error`` code and an ``error_description``.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from http import HTTPStatus

from support.services.journal import Journal

# Used when a programmed refusal names no error code, so the body is still a well-formed OAuth error.
_DEFAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    429: "rate_limited",
    503: "temporarily_unavailable",
}


@dataclass(frozen=True)
class ProgrammedResponse:
    """How to answer one future token request. ``status`` 200 means "answer normally, after ``delay_ms``";
    any other status is an OAuth error answer, given after ``delay_ms``, with ``Retry-After`` set to
    ``retry_after_s`` seconds when that is given. Raises ``ValueError`` for a status outside 100 to 599 or a
    negative delay or pause."""

    status: int
    error: str | None = None
    description: str | None = None
    retry_after_s: float | None = None
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.delay_ms < 0:
            raise ValueError(f"delay_ms must not be negative, not {self.delay_ms}")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must not be negative, not {self.retry_after_s}")

    def error_code(self) -> str:
        """The OAuth ``error``: the one given, else the usual one for the status."""
        if self.error:
            return self.error
        return _DEFAULT_ERRORS.get(self.status, "server_error" if self.status >= 500 else "invalid_request")

    def error_description(self) -> str:
        """The OAuth ``error_description``: the one given, else the status's reason phrase."""
        if self.description:
            return self.description
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return f"HTTP {self.status}"


class ProgrammedResponses:
    """The queue of programmed answers, journaled as they are queued ("trouble programmed", one entry per run
    of like answers) and as they are used ("programmed response")."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._queue: deque[ProgrammedResponse] = deque()

    def program(self, *responses: ProgrammedResponse) -> None:
        """Queue answers for the next ``len(responses)`` token requests, after any already queued."""
        for response, run in itertools.groupby(responses):
            pause_s = response.retry_after_s
            self.journal.record(
                "trouble programmed",
                requests=len(list(run)),
                status=response.status,
                error=None if response.status == 200 else response.error_code(),
                delay_ms=response.delay_ms or None,
                retry_after_ms=None if pause_s is None else round(pause_s * 1000),
            )
        self._queue.extend(responses)

    def take(self) -> ProgrammedResponse | None:
        """The answer programmed for the request at hand (None: answer it normally), taken off the queue."""
        if not self._queue:
            return None
        programmed = self._queue.popleft()
        self.journal.record(
            "programmed response",
            status=programmed.status,
            error=None if programmed.status == 200 else programmed.error_code(),
            delay_ms=programmed.delay_ms,
        )
        return programmed

    @property
    def pending(self) -> int:
        """How many programmed answers are still to be given."""
        return len(self._queue)

    def clear(self) -> None:
        """Drop every answer still queued (nothing is journaled)."""
        self._queue.clear()
