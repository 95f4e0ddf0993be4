"""Who may sign in, and how often a caller whose sign-ins keep failing is heard: accounts and the failure
limiter, without I/O.

An ``Account`` is what an API key signs in as: its subject (the JWT ``sub``) and the channels its access
tokens may read and post to. The ``FailureLimiter`` throttles a caller (an OAuth ``client_id``, else a network
address) whose credentials were refused too often within a sliding window: the auth service then answers
``429 rate_limited`` with ``Retry-After`` (RFC 6585 §4, RFC 9110 §10.2.3) until enough refusals have aged out.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Account:
    """An account an API key signs in as.

    ``channels`` may be read (subscribed to), ``"*"`` being every channel; ``publish_channels`` may be posted
    to, None meaning wherever the account may read (as accounts were before publish rights existed)."""

    subject: str
    channels: tuple[str, ...] = ("*",)
    publish_channels: tuple[str, ...] | None = None


class FailureLimiter:
    """Counts refused sign-ins per caller in a sliding window and says how long a caller over the limit must
    wait. Refusals for being over the limit are not counted, so a caller that keeps knocking is let back in
    once its oldest counted refusal leaves the window.

    ``clock`` gives seconds (``time.monotonic`` unless a test gives another); raises ``ValueError`` for a
    ``limit`` under 1 or a ``window_ms`` under 1 ms."""

    def __init__(self, limit: int, window_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"the failure limit must be at least 1, not {limit}")
        if window_ms < 1:
            raise ValueError(f"the failure window must be at least 1 ms, not {window_ms}")
        self.limit = limit
        self.window_s = window_ms / 1000
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def wait_s(self, caller: str) -> float | None:
        """Seconds the caller must wait before it is heard again, or None when it is not over the limit."""
        failures = self._recent(caller)
        if len(failures) < self.limit:
            return None
        # The caller is heard again when enough refusals have aged out to bring it under the limit.
        return max(0.0, failures[len(failures) - self.limit] + self.window_s - self._clock())

    def retry_after_s(self, caller: str) -> float | None:
        """``wait_s`` rounded up to the millisecond, for ``Retry-After``: a caller that waits exactly as long
        as it is told is heard again. None when the caller is not over the limit."""
        wait_s = self.wait_s(caller)
        return None if wait_s is None else math.ceil(wait_s * 1000) / 1000

    def record_failure(self, caller: str) -> None:
        """One more refused sign-in for ``caller``, now."""
        self._recent(caller).append(self._clock())

    def failures(self, caller: str) -> int:
        """How many of the caller's refusals are still within the window."""
        return len(self._recent(caller))

    def reset(self) -> None:
        """Forget every refusal of every caller."""
        self._failures.clear()

    def _recent(self, caller: str) -> deque[float]:
        failures = self._failures[caller]
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures
