"""Reconnect delays: exponential backoff with jitter, a cap, and a prompt first retry."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    initial_ms: int = 1000
    multiplier: float = 2.0
    max_ms: int = 30_000
    jitter: float = 0.2  # each delay is the base delay ± this fraction of it
    immediate_first_retry: bool = True  # after a stable connection, the first retry does not wait

    def __post_init__(self) -> None:
        if self.initial_ms <= 0 or self.max_ms < self.initial_ms:
            raise ValueError("backoff needs 0 < initial_ms <= max_ms")
        if self.multiplier < 1:
            raise ValueError("backoff multiplier must be at least 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter must be between 0 and 1")

    def base_delay_ms(self, attempt: int) -> float:
        """The delay before retry number ``attempt`` (1-based), before jitter."""
        if self.immediate_first_retry:
            if attempt == 1:
                return 0.0
            attempt -= 1
        try:
            grown = self.initial_ms * self.multiplier ** (attempt - 1)
        except OverflowError:  # long past the cap: a client retrying forever must not crash here
            return float(self.max_ms)
        return min(float(self.max_ms), grown)

    def bounds_ms(self, attempt: int) -> tuple[float, float]:
        """The smallest and largest delay jitter can produce for this attempt (never above the cap)."""
        base = self.base_delay_ms(attempt)
        return base * (1 - self.jitter), min(float(self.max_ms), base * (1 + self.jitter))


class Backoff:
    """Counts consecutive failed attempts and draws jittered delays from its own random generator."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng
        self.attempt = 0

    def next_delay_ms(self) -> tuple[int, float]:
        """Advance to the next attempt; return (attempt number, delay in ms)."""
        self.attempt += 1
        low, high = self.policy.bounds_ms(self.attempt)
        return self.attempt, self._rng.uniform(low, high)

    def reset(self) -> None:
        self.attempt = 0
