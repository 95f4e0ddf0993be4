"""The suite's one way to wait: poll a condition until it holds or a deadline passes.

Failures say what was awaited, what was expected and what was last seen, in plain words, so the
report explains itself without a stack trace. Where the matcher's own words would not say enough (a
client's state, say), ``seen`` turns the last value into a sentence of what was seen instead.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from hamcrest.core.core.isequal import IsEqual
from hamcrest.core.core.isnot import IsNot
from hamcrest.core.description import Description
from hamcrest.core.matcher import Matcher
from hamcrest.core.string_description import StringDescription

from support.services.journal import in_words as worded

T = TypeVar("T")
# Turns the last value seen into a sentence, for a failure message.
Seen = Callable[[T], str]

POLL_INTERVAL_S = 0.005
_BRACKETED = re.compile(r"<([^<>\s][^<>]*)>")


def wait_for(
    probe: Callable[[], T], matcher: Matcher[T], *, within_s: float, what: str, seen: Seen[T] | None = None
) -> T:
    """Return the first value of ``probe()`` that satisfies ``matcher``; fail after ``within_s`` seconds."""
    value, met = _poll(probe, matcher.matches, within_s)
    if not met:
        failed = f"Waited {within_s:g} s for {what}, but it did not happen"
        raise AssertionError(_with_seen(failed, matcher, value, seen))
    return value


def holds_throughout(
    probe: Callable[[], T], matcher: Matcher[T], *, during_s: float, what: str, seen: Seen[T] | None = None
) -> T:
    """Check that ``probe()`` keeps satisfying ``matcher`` for ``during_s`` seconds; returns the last value.

    For things that must *not* happen, such as a reconnect attempt after shutdown.
    """
    value, broke = _poll(probe, lambda value: not matcher.matches(value), during_s)
    if broke:
        raise AssertionError(
            _with_seen(f"Expected {what} for {during_s:g} s, but it changed", matcher, value, seen)
        )
    return value


def _poll(probe: Callable[[], T], stop: Callable[[T], bool], within_s: float) -> tuple[T, bool]:
    """Probe every ``POLL_INTERVAL_S`` until ``stop`` holds for a value or ``within_s`` seconds have passed
    (probing at least once); returns the last value and whether ``stop`` held for it."""
    deadline = time.monotonic() + within_s
    while True:
        value = probe()
        if stop(value):
            return value, True
        if time.monotonic() >= deadline:
            return value, False
        time.sleep(POLL_INTERVAL_S)


def check(value: T, matcher: Matcher[T], *, what: str, seen: Seen[T] | None = None) -> T:
    """An immediate assertion with the same plain-English failure as ``wait_for``."""
    if not matcher.matches(value):
        raise AssertionError(_with_seen(f"Checked {what}, and it was not as expected", matcher, value, seen))
    return value


def explain(matcher: Matcher[T], value: T) -> str:
    """What was expected and what was seen, in words; several values checked at once are listed."""
    if isinstance(matcher, IsEqual) and isinstance(value, tuple | list | dict):
        return f"Expected {in_words(matcher.object)}; instead {in_words(value)}."
    if isinstance(matcher, IsNot) and value is None:
        return "Expected a value; instead there was none."
    several = isinstance(value, tuple | list | dict)
    # Several values are told in words, not as Python writes them: the matcher's text values in double quotes
    # and lists and dictionaries as ``in_words`` says them.
    expected = _WordedDescription() if several else StringDescription()
    matcher.describe_to(expected)
    mismatch = _WordedDescription() if several else StringDescription()
    matcher.describe_mismatch(value, mismatch)
    said = str(mismatch).removeprefix("but ")  # PyHamcrest's "but was …" reads wrong after "instead"
    if several:
        said = said.removeprefix("was ")
    return _without_brackets(f"Expected {expected}; instead {said}.")


def in_words(value: object) -> str:
    """A value as a failure message shows it: text in quotes, several values listed with "and", None as
    "nothing" (``support.services.journal.in_words``)."""
    return worded(value, quoted=True)


class _WordedDescription(StringDescription):
    """A PyHamcrest description that writes text in double quotes, and yes-or-no values, lists, tuples and
    dictionaries in words (``in_words``); everything else as PyHamcrest does."""

    def append_description_of(self, value: Any) -> Description:
        if isinstance(value, str):
            return self.append_text(f'"{value}"')
        if isinstance(value, bool | tuple | list | dict):
            return self.append_text(in_words(value))
        return super().append_description_of(value)


def _without_brackets(text: str) -> str:
    """PyHamcrest writes a plain value in angle brackets (``<3>``); people read it without them."""
    return _BRACKETED.sub(lambda found: found.group(1), text)


def _with_seen(failed: str, matcher: Matcher[T], value: T, seen: Seen[T] | None) -> str:
    """The failure as one or two sentences: what did not happen, then what was seen instead."""
    if seen is None:
        return f"{failed}. {explain(matcher, value)}"
    return f"{failed}: {seen(value).rstrip('.')}."
