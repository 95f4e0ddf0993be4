"""Drives the reference client on its own event loop thread, as an application would run it."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import reference_client
from realtime_protocol import fingerprint
from reference_client import BackoffPolicy, ClientConfig, ClientEvent, RealtimeClient
from support.drivers.base import ClientSetup, ObservedEvent
from support.runtime import BackgroundLoop


class ReferenceClientDriver:
    target = f"reference client {reference_client.__version__} (embedded, Python)"

    def __init__(self, setup: ClientSetup) -> None:
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
        )
        self._events: list[ObservedEvent] = []
        self._lock = threading.Lock()
        self._loop = BackgroundLoop("client").start()
        self._client: RealtimeClient = self._loop.run(self._create(config))

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
        if not self._loop.running:
            return []

        def running_tasks() -> list[str]:
            current = asyncio.current_task()
            return [
                task.get_name() for task in asyncio.all_tasks() if task is not current and not task.done()
            ]

        return self._loop.call(running_tasks)

    def dispose(self) -> list[str]:
        if not self._loop.running:
            return []
        if not self._client.state.terminal:
            self._loop.run(self._client.close("the scenario ended"))
        return self._loop.stop()
