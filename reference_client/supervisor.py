"""The connection supervisor: the one task that owns the client's connection.

Each pass makes one attempt (``Connector.attempt``: token → handshake → session), keeps the session live
until the link ends, hands why it ended (a ``Classification``) on as ``error:classified``, and either retries
after a backoff delay (``reconnect:scheduled``) or stops (``failed``: a fatal error, or ``retry_limit``
retries in a row, ``reconnect:exhausted``). A connection that stayed ready for ``stable_connection_ms``
starts the backoff afresh.
"""

from __future__ import annotations

import asyncio
import contextlib

from realtime_protocol.structured_log import correlated
from reference_client.backoff import Backoff
from reference_client.connection import Connector
from reference_client.coordination import failed_part
from reference_client.errors import Classification
from reference_client.link import Wiring
from reference_client.states import ConnectionState


class Supervisor:
    """Starts, runs and stops the connect/reconnect loop; ``last_error`` is why the last connection ended."""

    def __init__(self, wiring: Wiring, connector: Connector, backoff: Backoff) -> None:
        self._wiring = wiring
        self._connector = connector
        self._backoff = backoff
        self._task: asyncio.Task[None] | None = None
        self._skip_wait = asyncio.Event()
        self.last_error: Classification | None = None

    @property
    def running(self) -> bool:
        """Whether the loop is running (connected, connecting, or waiting to retry)."""
        return self._task is not None and not self._task.done()

    def start(self, correlation_id: str) -> None:
        """Start the loop with a fresh backoff. Everything its tasks log, the libraries under them included,
        carries ``correlation_id``."""
        self._backoff.reset()
        with correlated(correlation_id):
            self._task = asyncio.get_running_loop().create_task(self._supervise(), name="client-supervisor")

    def retry_now(self) -> None:
        """While waiting to retry, retry now."""
        self._skip_wait.set()

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _supervise(self) -> None:
        states = self._wiring.states
        reason = "the application asked to connect"
        while not states.closing:
            ended, ready_for_s = await self._connector.attempt(reason)
            if states.closing:
                return
            config = self._wiring.live.current
            ended = ended.with_pause_for(config.backoff.max_ms)
            self.last_error = ended
            if self._wiring.link.session.session_id is not None:
                # The live session was lost (or is still being won back): one recovery for all of it.
                self._wiring.recovery.failed(failed_part(ended), ended.description)
            self._wiring.events.emit(
                "error:classified",
                classification=ended.kind,
                error=ended.description,
                retryable=ended.retryable,
                recommended_delay_ms=round(ended.recommended_delay_ms),
                close_code=ended.close_code,
            )
            if ready_for_s * 1000 >= config.stable_connection_ms:
                self._backoff.reset()
            if self._gave_up(ended):
                return
            if ended.renew_token:
                self._wiring.auth.invalidate(self._wiring.link.session.token_in_use)
            attempt, jittered_ms = self._backoff.next_delay_ms()
            delay_ms = max(jittered_ms, ended.recommended_delay_ms)
            states.move(ConnectionState.RECONNECTING, f"retry {attempt} after: {ended.description}")
            self._wiring.events.emit(
                "reconnect:scheduled",
                attempt=attempt,
                delay_ms=round(delay_ms, 1),
                base_delay_ms=round(config.backoff.base_delay_ms(attempt), 1),
                reason=ended.description,
            )
            await self._wait_before_retry(delay_ms / 1000)
            reason = f"retry {attempt}"

    def _gave_up(self, ended: Classification) -> bool:
        """Whether to stop here: the failure is fatal, or ``retry_limit`` retries have failed in a row. Says
        so when it is (``failed``, ``reconnect:exhausted``, ``recovery:failed``)."""
        if not ended.retryable:
            self._wiring.states.move(ConnectionState.FAILED, f"gave up: {ended.description}")
            self._wiring.recovery.gave_up(ended.description)
            return True
        limit = self._wiring.live.current.retry_limit
        if limit is None or self._backoff.attempt < limit:
            return False
        self._wiring.events.emit(
            "reconnect:exhausted",
            total_attempts=self._backoff.attempt + 1,
            limit=limit,
            last_error=ended.description,
        )
        self._wiring.states.move(
            ConnectionState.FAILED, f"gave up after {limit} retries; last error: {ended.description}"
        )
        self._wiring.recovery.gave_up(f"gave up after {limit} retries")
        return True

    async def _wait_before_retry(self, delay_s: float) -> None:
        self._skip_wait.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._skip_wait.wait(), delay_s)
