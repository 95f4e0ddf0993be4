"""BackgroundLoop: an asyncio loop on its own thread that synchronous steps hand work to."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from support.harness.interruption import Interruption
from support.harness.runtime import BackgroundLoop, LoopStoppedError


@pytest.fixture
def background() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop("test").start()
    try:
        yield loop
    finally:
        loop.stop(grace=1.0)


def loop_threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == f"loop:{name}"]


def test_run_returns_the_coroutines_result(background: BackgroundLoop) -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert background.running
    assert background.run(add(2, 3)) == 5
    assert background.run(add(4, 5), timeout=None) == 9


def test_run_propagates_the_coroutines_exception(background: BackgroundLoop) -> None:
    async def fail() -> None:
        await asyncio.sleep(0)
        raise KeyError("no such channel")

    with pytest.raises(KeyError, match="no such channel"):
        background.run(fail())
    assert background.running


def test_a_timeout_raised_by_the_work_itself_is_not_mistaken_for_the_loops(
    background: BackgroundLoop,
) -> None:
    async def connect() -> None:
        async with asyncio.timeout(0.01):
            await asyncio.sleep(5)

    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        background.run(connect(), timeout=5.0)
    assert time.monotonic() - started < 2.0
    assert "did not finish its work" not in str(caught.value)


def test_run_gives_up_after_its_timeout_and_cancels_the_work(background: BackgroundLoop) -> None:
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cancelled.set()

    with pytest.raises(TimeoutError, match=r"the test loop did not finish its work within 0\.05 s"):
        background.run(forever(), timeout=0.05)
    assert cancelled.wait(timeout=2.0)


def test_work_runs_on_the_loop_thread(background: BackgroundLoop) -> None:
    async def where() -> str:
        return threading.current_thread().name

    assert background.run(where()) == "loop:test"


def test_call_runs_a_function_on_the_loop_thread(background: BackgroundLoop) -> None:
    def inspect() -> tuple[str, bool]:
        return threading.current_thread().name, asyncio.get_running_loop() is background.loop

    assert background.call(inspect) == ("loop:test", True)


def test_call_propagates_the_functions_exception(background: BackgroundLoop) -> None:
    def broken() -> None:
        raise ValueError("bad state")

    with pytest.raises(ValueError, match="bad state"):
        background.call(broken)


def test_spawned_work_runs_without_being_waited_for(background: BackgroundLoop) -> None:
    done = threading.Event()

    async def later() -> None:
        await asyncio.sleep(0.01)
        done.set()

    background.spawn(later())
    assert done.wait(timeout=2.0)


def test_start_twice_keeps_one_thread(background: BackgroundLoop) -> None:
    assert background.start() is background
    assert len(loop_threads("test")) == 1


def test_stop_cancels_leftover_tasks_and_reports_them_by_name() -> None:
    loop = BackgroundLoop("leaky").start()
    cancelled = threading.Event()

    async def heartbeat_forever() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cancelled.set()

    async def start_heartbeat() -> None:
        asyncio.get_running_loop().create_task(heartbeat_forever(), name="heartbeat")

    loop.run(start_heartbeat())
    leftovers = loop.stop(grace=1.0)
    assert cancelled.is_set()
    assert len(leftovers) == 1
    assert leftovers[0].startswith("heartbeat (")
    assert "heartbeat_forever" in leftovers[0]


def test_stop_reports_nothing_when_nothing_is_left() -> None:
    loop = BackgroundLoop("tidy").start()
    loop.run(asyncio.sleep(0))
    assert loop.stop() == []


def test_the_thread_is_gone_after_stop() -> None:
    loop = BackgroundLoop("short-lived").start()
    threads = loop_threads("short-lived")
    assert len(threads) == 1
    assert loop.stop() == []
    assert not threads[0].is_alive()
    assert loop_threads("short-lived") == []
    assert not loop.running
    assert loop.stop() == []  # stopping again is harmless


def test_work_on_a_stopped_loop_raises_loop_stopped() -> None:
    loop = BackgroundLoop("stopped")
    with pytest.raises(LoopStoppedError, match="the stopped loop is not running"):
        _ = loop.loop
    loop.start()
    loop.stop()

    async def work() -> int:
        return 1

    with warnings.catch_warnings():
        # A coroutine that is refused must be closed, not left to warn that it was never awaited.
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(LoopStoppedError, match="the stopped loop is not running"):
            loop.run(work())
        with pytest.raises(LoopStoppedError):
            loop.call(lambda: 1)
        with pytest.raises(LoopStoppedError):
            loop.spawn(work())
        gc.collect()


def test_a_stopped_loop_can_be_started_again() -> None:
    loop = BackgroundLoop("again").start()
    loop.stop()
    loop.start()
    try:
        assert loop.call(lambda: 7) == 7
    finally:
        loop.stop()


def test_a_run_can_find_every_loop_still_running() -> None:
    loop = BackgroundLoop("registry").start()
    try:
        assert loop in BackgroundLoop.still_running()
    finally:
        loop.stop()
    assert loop not in BackgroundLoop.still_running()


@contextlib.contextmanager
def sigint_handled_by(handler: Any) -> Iterator[None]:
    """SIGINT goes to ``handler`` for the block, and to whatever it went to before afterwards."""
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# The point of the test is an exception Python drops in a finalizer; pytest would report it as a warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_lost_in_a_finalizer_is_raised_again_before_the_next_step() -> None:
    interruption = Interruption()
    with sigint_handled_by(signal.default_int_handler):
        interruption.install()
        assert signal.getsignal(signal.SIGINT) == interruption._on_sigint

        class Garbage:
            def __del__(self) -> None:
                # Python runs the handler at once, inside this finalizer, and drops its KeyboardInterrupt.
                os.kill(os.getpid(), signal.SIGINT)

        Garbage()
        assert interruption.noticed, "the interrupt should be remembered even though it was dropped"
        try:
            interruption.raise_if_missed(aborted=True)  # behave heard of it: nothing more to do
        except KeyboardInterrupt:
            pytest.fail("an interrupt behave had already heard of was raised again")
        with pytest.raises(KeyboardInterrupt):
            interruption.raise_if_missed(aborted=False)


def test_without_ctrl_c_nothing_is_raised_and_a_handler_of_someone_else_is_left_alone() -> None:
    interruption = Interruption()
    with sigint_handled_by(signal.SIG_IGN):
        interruption.install()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        interruption.raise_if_missed(aborted=False)
