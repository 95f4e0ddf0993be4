"""Drives the reference client on an event loop thread, as an application would run it.

A single client gets a loop of its own. A crowd of clients (``ReferenceClientDriver.crowd``) shares one
loop, as one application running many connections would, so hundreds of clients need one thread, not
hundreds; the loop stops when the last of them is disposed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import reference_client
from realtime_protocol import fingerprint
from reference_client import BackoffPolicy, ClientConfig, ClientEvent, ConfigError, RealtimeClient
from support.drivers.base import ClientSetup, ConfigurationRefused, ObservedEvent
from support.harness.runtime import BackgroundLoop

SCENARIO_ENDED = "the scenario ended"


class _SharedLoop:
    """A client loop and how many drivers still use it; the last one to let go stops it."""

    def __init__(self, name: str) -> None:
        self.loop = BackgroundLoop(name).start()
        self._users = 0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            self._users += 1

    def release(self) -> list[str]:
        """Let go of the loop; stop it (returning what had to be cancelled) if nobody else uses it."""
        with self._lock:
            self._users -= 1
            last = self._users <= 0
        return self.loop.stop() if last else []


class ReferenceClientDriver:
    target = f"reference client {reference_client.__version__} (embedded, Python)"

    def __init__(self, setup: ClientSetup, shared: _SharedLoop | None = None) -> None:
        timings = setup.timings
        config = ClientConfig(
            auth_url=setup.endpoints.auth_url,
            gateway_url=setup.endpoints.gateway_url,
            api_key=setup.api_key,
            heartbeat_interval_ms=timings.heartbeat_interval_ms,
            heartbeat_timeout_ms=timings.heartbeat_timeout_ms,
            connect_timeout_ms=timings.connect_timeout_ms,
            auth_timeout_ms=timings.auth_timeout_ms,
            backoff=BackoffPolicy(
                initial_ms=timings.backoff_initial_ms,
                multiplier=timings.backoff_multiplier,
                max_ms=timings.backoff_max_ms,
                jitter=timings.backoff_jitter,
            ),
            retry_limit=timings.retry_limit,
            stable_connection_ms=timings.stable_connection_ms,
            token_refresh_fraction=timings.token_refresh_fraction,
            shutdown_flush_ms=timings.shutdown_flush_ms,
            random_seed=setup.seed,
            token_store_path=setup.token_keeping.path if setup.token_keeping else None,
            token_store_key=setup.token_keeping.key if setup.token_keeping else None,
            ca_file=setup.ca_file,
            correlation_id=setup.correlation_id,
            avatar_url=setup.endpoints.avatar_url if setup.avatar_api_key is not None else None,
            avatar_api_key=setup.avatar_api_key,
            avatar_timeout_ms=timings.avatar_timeout_ms,
            max_message_bytes=timings.max_message_bytes,
            compression=setup.compression,
        )
        self._events: list[ObservedEvent] = []
        self._lock = threading.Lock()
        self._shared = shared if shared is not None else _SharedLoop("client")
        self._loop = self._shared.loop
        try:
            self._client: RealtimeClient = self._loop.run(self._create(config))
        except BaseException:
            if shared is None:
                self._loop.stop()
            raise
        self._shared.acquire()
        self._disposed = False

    @classmethod
    def crowd(cls, setups: Sequence[ClientSetup]) -> list[ReferenceClientDriver]:
        """One driver per setup, all on one shared loop."""
        if not setups:
            return []
        shared = _SharedLoop("clients")
        drivers: list[ReferenceClientDriver] = []
        try:
            for setup in setups:
                drivers.append(cls(setup, shared))
        finally:
            if len(drivers) < len(setups):
                for driver in drivers:
                    driver.dispose()
                if not drivers:
                    shared.loop.stop()
        return drivers

    @staticmethod
    def connect_together(drivers: Sequence[ReferenceClientDriver]) -> list[float]:
        """Tell every client to connect in the same turn of their loop; returns when each was told
        (``time.monotonic()``), in the order given. Clients on different loops are told loop by loop."""
        told: dict[int, float] = {}

        async def connect_all(group: list[ReferenceClientDriver]) -> None:
            # Nothing is awaited between the connects: each only starts its client's own task.
            for driver in group:
                told[id(driver)] = time.monotonic()
                await driver._client.connect()

        for group in _by_loop(drivers):
            group[0]._loop.run(connect_all(group))
        return [told[id(driver)] for driver in drivers]

    @staticmethod
    def close_together(drivers: Sequence[ReferenceClientDriver], reason: str) -> None:
        """Shut every client down at the same time rather than one after another: a crowd's closing
        handshakes then overlap instead of adding up."""

        async def close_all(group: list[ReferenceClientDriver]) -> None:
            await asyncio.gather(*(driver._client.close(reason) for driver in group), return_exceptions=True)

        for group in _by_loop(drivers):
            open_ones = [driver for driver in group if not driver._client.state.terminal]
            if open_ones and open_ones[0]._loop.running:
                open_ones[0]._loop.run(close_all(open_ones))

    async def _create(self, config: ClientConfig) -> RealtimeClient:
        # Built on its own loop: the client's asyncio objects belong to the loop that runs it.
        client = RealtimeClient(config)
        client.add_listener(self._observe)
        return client

    def _observe(self, event: ClientEvent) -> None:
        with self._lock:
            self._events.append(ObservedEvent(name=event.name, data=dict(event.data), at=event.at))

    def connect(self) -> None:
        self._loop.run(self._client.connect())

    def subscribe(self, channel: str) -> None:
        self._loop.run(self._client.subscribe(channel))

    def publish(self, channel: str, data: Any) -> str:
        return self._loop.run(self._client.publish(channel, data))

    def shutdown(self) -> None:
        self._loop.run(self._client.close())

    def logout(self) -> None:
        self._loop.run(self._client.logout())

    def need_fresh_access(self, callers: int) -> list[str]:
        async def all_at_once() -> list[str]:
            refused = await self._client.access_token()
            tokens = await asyncio.gather(*(self._client.access_token(refused) for _ in range(callers)))
            return [fingerprint(token) for token in tokens]

        return self._loop.run(all_at_once())

    def start_avatar(self, avatar_id: str, quality: str, background: str) -> dict[str, Any] | None:
        return self._loop.run(self._client.start_avatar(avatar_id, quality, background))

    def start_speaking(self, voice_id: str) -> None:
        self._loop.run(self._client.start_speaking(voice_id))

    def stop_speaking(self) -> None:
        self._loop.run(self._client.stop_speaking())

    def health(self) -> dict[str, Any]:
        return self._loop.call(self._client.health)

    def update_configuration(self, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        try:
            return self._loop.run(self._client.update_configuration(changes))
        except ConfigError as refused:
            raise ConfigurationRefused(str(refused)) from None

    def configuration(self) -> dict[str, dict[str, Any]]:
        return self._loop.call(self._client.configuration)

    def events(self) -> list[ObservedEvent]:
        with self._lock:
            return list(self._events)

    @property
    def state(self) -> str:
        return self._client.state.value

    @property
    def session_id(self) -> str | None:
        return self._client.session_id

    @property
    def pending(self) -> int:
        return self._client.pending

    def leftovers(self) -> list[str]:
        """Tasks still running on the client's loop: for a client of a crowd, those of the whole crowd."""
        if not self._loop.running:
            return []

        def running_tasks() -> list[str]:
            current = asyncio.current_task()
            return [
                task.get_name() for task in asyncio.all_tasks() if task is not current and not task.done()
            ]

        return self._loop.call(running_tasks)

    def dispose(self) -> list[str]:
        if self._disposed:
            return []
        self._disposed = True
        if self._loop.running and not self._client.state.terminal:
            self._loop.run(self._client.close(SCENARIO_ENDED))
        return self._shared.release()


def _by_loop(drivers: Sequence[ReferenceClientDriver]) -> list[list[ReferenceClientDriver]]:
    """The drivers grouped by the loop they run on, in the order given."""
    groups: dict[int, list[ReferenceClientDriver]] = {}
    for driver in drivers:
        groups.setdefault(id(driver._loop), []).append(driver)
    return list(groups.values())
