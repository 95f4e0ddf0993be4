"""Waiting inside async self-tests: poll a condition with a deadline, never sleep a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest


async def eventually(predicate: Callable[[], bool], within: float = 2.0, what: str = "condition") -> None:
    """Poll ``predicate`` every 5 ms until it holds; fail if it has not within ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        if predicate():
            return
        if loop.time() > deadline:
            pytest.fail(f"{what} did not hold within {within:g} s")
        await asyncio.sleep(0.005)
