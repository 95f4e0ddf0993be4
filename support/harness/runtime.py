"""An asyncio event loop running in a background thread.

behave steps are synchronous; the client and the mock services are asyncio code. Each runs on a
``BackgroundLoop`` and steps hand coroutines to it. Stopping the loop cancels whatever is still running
and reports it, so a scenario that leaves a task behind is noticed instead of leaking into the next one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, TypeVar

T = TypeVar("T")


class LoopStoppedError(RuntimeError):
    """Work was handed to a loop that is not running."""


class BackgroundLoop:
    """One event loop on one daemon thread, started and stopped explicitly."""

    # Every loop that has been started and not yet stopped, so a run can make sure none outlives it.
    _running: ClassVar[set[BackgroundLoop]] = set()
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def still_running(cls) -> list[BackgroundLoop]:
        with cls._registry_lock:
            return list(cls._running)

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None or not self._loop.is_running():
            raise LoopStoppedError(f"the {self.name} loop is not running")
        return self._loop

    @property
    def running(self) -> bool:
        return self._loop is not None and self._loop.is_running()

    def start(self) -> BackgroundLoop:
        if self.running:
            return self
        self._ready.clear()
        # Daemon, so an interrupted run can always exit even if a stop never happens.
        self._thread = threading.Thread(target=self._run, name=f"loop:{self.name}", daemon=True)
        with self._registry_lock:
            self._running.add(self)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise LoopStoppedError(f"the {self.name} loop did not start within 10 s")
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        loop.call_soon(self._ready.set)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def run(self, work: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run a coroutine on the loop and wait for its result in the calling thread."""
        try:
            future = asyncio.run_coroutine_threadsafe(work, self.loop)
        except LoopStoppedError:
            work.close()
            raise
        # Wait first, then take the result: a TimeoutError raised by the work itself must reach the
        # caller as it is, not be mistaken for this wait running out.
        done, _ = concurrent.futures.wait([future], timeout=timeout)
        if not done:
            future.cancel()
            raise TimeoutError(f"the {self.name} loop did not finish its work within {timeout:g} s")
        return future.result()

    def call(self, function: Callable[[], T], timeout: float | None = 30.0) -> T:
        """Run a plain function on the loop thread (to read loop-owned state safely)."""

        async def invoke() -> T:
            return function()

        return self.run(invoke(), timeout=timeout)

    def spawn(self, work: Awaitable[Any]) -> None:
        """Start work on the loop without waiting for it."""
        try:
            loop = self.loop
        except LoopStoppedError:
            if inspect.iscoroutine(work):
                work.close()
            raise
        asyncio.run_coroutine_threadsafe(_as_coroutine(work), loop)

    def stop(self, grace: float = 5.0) -> list[str]:
        """Cancel leftover tasks, stop the loop and join the thread.

        Returns a description of every task that was still running, so callers can report leaks.
        """
        if self._thread is not None and self._thread.is_alive():
            self._ready.wait(timeout=grace)  # a loop interrupted while starting is stopped all the same
        if not self.running:
            with self._registry_lock:
                self._running.discard(self)
            return []
        leftovers = self.run(_cancel_all_tasks(grace), timeout=grace + 5)
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=grace + 5)
        self._loop = None
        self._thread = None
        with self._registry_lock:
            self._running.discard(self)
        return leftovers


async def _as_coroutine(work: Awaitable[T]) -> T:
    return await work


async def _cancel_all_tasks(grace: float) -> list[str]:
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait(leftovers, timeout=grace)
    return [_describe(task) for task in leftovers]


def _describe(task: asyncio.Task[Any]) -> str:
    coroutine = task.get_coro()
    name = getattr(coroutine, "__qualname__", repr(coroutine))
    return f"{task.get_name()} ({name})"
