"""The suite's one way to wait: poll a condition until it holds or a deadline passes.

Failures say what was awaited, what was expected and what was last seen, in plain words, so the
report explains itself without a stack trace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from hamcrest.core.matcher import Matcher
from hamcrest.core.string_description import StringDescription

T = TypeVar("T")

POLL_INTERVAL_S = 0.005


def wait_for(probe: Callable[[], T], matcher: Matcher[T], *, within_s: float, what: str) -> T:
    """Return the first value of ``probe()`` that satisfies ``matcher``; fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while True:
        value = probe()
        if matcher.matches(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"Waited {within_s:g} s for {what}, but it did not happen. {explain(matcher, value)}"
            )
        time.sleep(POLL_INTERVAL_S)


def holds_throughout(probe: Callable[[], T], matcher: Matcher[T], *, during_s: float, what: str) -> T:
    """Check that ``probe()`` keeps satisfying ``matcher`` for ``during_s`` seconds.

    For things that must *not* happen, such as a reconnect attempt after shutdown.
    """
    deadline = time.monotonic() + during_s
    while True:
        value = probe()
        if not matcher.matches(value):
            raise AssertionError(
                f"Expected {what} for {during_s:g} s, but it changed. {explain(matcher, value)}"
            )
        if time.monotonic() >= deadline:
            return value
        time.sleep(POLL_INTERVAL_S)


def check(value: T, matcher: Matcher[T], *, what: str) -> T:
    """An immediate assertion with the same plain-English failure as ``wait_for``."""
    if not matcher.matches(value):
        raise AssertionError(f"{what[:1].upper()}{what[1:]} was not as expected. {explain(matcher, value)}")
    return value


def explain(matcher: Matcher[T], value: T) -> str:
    expected = StringDescription()
    matcher.describe_to(expected)
    seen = StringDescription()
    matcher.describe_mismatch(value, seen)
    return f"Expected {expected}; instead {seen}."
