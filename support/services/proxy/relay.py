"""The relay: the proxy's sockets, moving each connection's bytes through the toxics of its stream.

A ``Relay`` listens, accepts clients and connects each to the service; each accepted connection is a
``Connection`` of two ``Link`` s, one per stream. A link reads from one socket, passes each chunk through the
stream's toxics (looked up per chunk, so toxics act on live connections too) and writes what they let
through to the other socket, never reordering. Everything runs on the caller's event loop; the relay starts
no threads, and every task it owns is named with ``TASK_PREFIX`` so a leak can be attributed to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import struct
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from support.services.journal import Journal
from support.services.proxy.toxics import STREAMS, Piece, Stream, Toxic, through

__all__ = ["TASK_PREFIX", "Connection", "Link", "Relay", "TaskSet", "in_order", "shut"]

# Every task the proxy owns carries this prefix, so a leak can be attributed to it.
TASK_PREFIX = "fault-proxy:"
_READ_SIZE = 64 * 1024
# Chunks a link may hold between reading and delivering. Bounded so that a slow (delayed) stream pushes
# back on its sender through TCP instead of buffering without limit inside the proxy.
_QUEUE_CHUNKS = 256


def shut(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    """Close one socket: a clean FIN, or an RST so the peer sees ECONNRESET rather than an orderly end."""
    if not reset:
        writer.close()
        return
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # Linger on with a zero timeout makes close() discard unsent data and send RST.
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TaskSet:
    """Tasks started on the running loop, each named ``TASK_PREFIX`` + ``owner`` + ``:`` + its label, kept
    until they finish so they can be cancelled together."""

    def __init__(self, owner: str) -> None:
        self._prefix = f"{TASK_PREFIX}{owner}:"
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], label: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(work, name=self._prefix + label)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def labelled(self, label: str) -> list[asyncio.Task[Any]]:
        """The unfinished tasks spawned with ``label``."""
        return [task for task in self._tasks if task.get_name() == self._prefix + label]

    async def cancel_all(self) -> None:
        """Cancel every task (but the calling one) and wait until they have finished."""
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


def in_order(pieces: list[Piece], now: float, last: float) -> tuple[list[tuple[float, bytes]], float]:
    """When (loop time, seconds) each piece is delivered: ``now`` plus its delay, yet never before the piece
    delivered before it (at ``last``), since TCP never reorders. Returns the times and the new ``last``."""
    timed: list[tuple[float, bytes]] = []
    for delay, data in pieces:
        last = max(last, now + delay)
        timed.append((last, data))
    return timed, last


class Link:
    """One direction of one proxied connection (a ``toxics.ToxicLink``): reads from one socket, passes each
    chunk through the stream's toxics and writes what they let through to the other socket.

    Reading and writing are separate tasks joined by a queue, so delayed chunks are pipelined (a
    chunk's delay counts from when it was read) instead of each delay adding to the next.
    """

    def __init__(
        self,
        connection: Connection,
        stream: Stream,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
    ) -> None:
        self.connection = connection
        self.stream = stream
        self._source = source
        self._sink = sink
        self._source_side, self._sink_side = (
            ("client", "service") if stream == "upstream" else ("service", "client")
        )
        self._queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(maxsize=_QUEUE_CHUNKS)
        self._last_delivery = 0.0
        self._timers: dict[str, list[asyncio.TimerHandle]] = {}
        self._state: dict[str, dict[str, Any]] = {}
        self._end_reason: str | None = None  # set when a toxic ends the link after what it let through

    @property
    def number(self) -> int:
        return self.connection.number

    # --- for toxics -------------------------------------------------------------------------------

    def schedule(self, toxic: Toxic, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``delay`` seconds unless the toxic is removed or the link closes first."""
        handle = asyncio.get_running_loop().call_later(delay, callback)
        self._timers.setdefault(toxic.name, []).append(handle)

    def state(self, toxic: Toxic) -> dict[str, Any]:
        """Scratch space for a toxic that keeps per-connection counts (e.g. bytes let through so far)."""
        return self._state.setdefault(toxic.name, {})

    def now(self) -> float:
        """The event loop's clock, which chunk delays are measured against."""
        return asyncio.get_running_loop().time()

    def finish(self, reason: str) -> None:
        """End the link once the bytes let through so far are delivered: no more are read, and then the
        connection is closed (after any close delay of the stream's toxics)."""
        if self._end_reason is None:
            self._end_reason = reason

    def forget(self, toxic: Toxic) -> None:
        for handle in self._timers.pop(toxic.name, []):
            handle.cancel()
        self._state.pop(toxic.name, None)

    def close(self, reason: str) -> None:
        self.connection.close(reset=False, reason=reason)

    def reset(self, reason: str) -> None:
        self.connection.close(reset=True, reason=reason)

    # --- inside the relay -------------------------------------------------------------------------

    def stop(self) -> None:
        for handles in self._timers.values():
            for handle in handles:
                handle.cancel()
        self._timers.clear()
        self._state.clear()

    async def pump_in(self) -> None:
        relay = self.connection.relay
        loop = asyncio.get_running_loop()
        while True:
            try:
                chunk = await self._source.read(_READ_SIZE)
            except OSError as error:
                self.connection.close(
                    reset=True, reason=f"{self._source_side} reset ({type(error).__name__})"
                )
                return
            if not chunk:
                await self._end(relay.toxics_on(self.stream))
                return
            now = loop.time()
            # Toxics are looked up per chunk, so adding or removing one takes effect on live connections
            # from the next chunk on; bytes already dropped stay dropped.
            pieces = through(relay.toxics_on(self.stream), self, chunk)
            dropped = len(chunk) - sum(len(data) for _, data in pieces)
            if dropped > 0:
                relay.bytes_dropped[self.stream] += dropped
            timed, self._last_delivery = in_order(pieces, now, self._last_delivery)
            for item in timed:
                await self._queue.put(item)
            if self._end_reason is not None:
                await self._end(relay.toxics_on(self.stream))
                return

    async def _end(self, toxics: list[Toxic]) -> None:
        # The end of the stream queues behind any delayed bytes, so they are delivered first; a close
        # delay holds it back further (an empty piece the writer waits for and skips).
        close_delay = sum(toxic.close_delay(self) for toxic in toxics)
        if close_delay > 0:
            self._last_delivery = max(self._last_delivery, self.now() + close_delay)
            await self._queue.put((self._last_delivery, b""))
        await self._queue.put(None)

    async def pump_out(self) -> None:
        relay = self.connection.relay
        loop = asyncio.get_running_loop()
        while True:
            item = await self._queue.get()
            if item is None:
                self.connection.close(reset=False, reason=self._end_reason or f"{self._source_side} closed")
                return
            deliver_at, data = item
            wait = deliver_at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                continue
            try:
                self._sink.write(data)
                relay.bytes_forwarded[self.stream] += len(data)
                await self._sink.drain()
            except OSError as error:
                self.connection.close(reset=True, reason=f"{self._sink_side} reset ({type(error).__name__})")
                return


@dataclass(eq=False)  # compared and hashed by identity: the relay keeps its connections in a set
class Connection:
    """A client connection (number ``number``, counted from 1 per relay) and, once reached, its connection to
    the service; closing one closes both."""

    relay: Relay
    number: int
    client_reader: asyncio.StreamReader
    client_writer: asyncio.StreamWriter
    service_writer: asyncio.StreamWriter | None = None
    links: list[Link] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    closed: bool = False

    def open_links(self, service_reader: asyncio.StreamReader, service_writer: asyncio.StreamWriter) -> None:
        """The service is reached: attach the toxics to both links and start moving bytes."""
        self.service_writer = service_writer
        self.links = [
            Link(self, "upstream", self.client_reader, service_writer),
            Link(self, "downstream", service_reader, self.client_writer),
        ]
        for link in self.links:
            for toxic in self.relay.toxics_on(link.stream):
                toxic.attach(link)
        if self.closed:  # a toxic may end the connection the moment it attaches
            return
        for link in self.links:
            for role, pump in (("in", link.pump_in), ("out", link.pump_out)):
                self.tasks.append(self.relay.spawn(pump(), f"{self.number}:{link.stream}-{role}"))

    def close(self, *, reset: bool, reason: str) -> None:
        """Close both sides, with RST if ``reset`` (else FIN); ``reason`` goes to the journal. Idempotent."""
        if self.closed:
            return
        self.closed = True
        for link in self.links:
            link.stop()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        for writer in (self.client_writer, self.service_writer):
            if writer is not None:
                shut(writer, reset=reset)
        self.relay.connection_closed(self, reason)


class Relay:
    """Listens on ``host`` and forwards each connection to ``upstream_host``:``upstream_port`` through the
    toxics ``toxics_on(stream)`` names at that moment, journaling each connection opened and closed.

    ``upstream_port`` may be changed at any time; it applies to new connections. ``bytes_forwarded`` and
    ``bytes_dropped`` count bytes per stream. All methods must be called on the one event loop it runs on.
    """

    def __init__(
        self,
        name: str,
        host: str,
        upstream_host: str,
        upstream_port: int,
        toxics_on: Callable[[Stream], list[Toxic]],
        journal: Journal | None,
    ) -> None:
        self.name = name
        self.host = host
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.toxics_on = toxics_on
        self._journal = journal
        self.port: int | None = None  # chosen by the first listen, kept after
        self._server: asyncio.Server | None = None
        # Bumped on every listen and stop, so a connection accepted just before a stop is turned away.
        self._generation = 0
        self.connections: set[Connection] = set()
        self._tasks = TaskSet(name)
        self._next_number = 0
        self.bytes_forwarded: dict[Stream, int] = dict.fromkeys(STREAMS, 0)
        self.bytes_dropped: dict[Stream, int] = dict.fromkeys(STREAMS, 0)

    @property
    def listening(self) -> bool:
        return self._server is not None

    def reset_counters(self) -> None:
        self.bytes_forwarded = dict.fromkeys(STREAMS, 0)
        self.bytes_dropped = dict.fromkeys(STREAMS, 0)

    def live_links(self, stream: Stream) -> list[Link]:
        """The ``stream`` links of every connection that has reached the service."""
        return [
            link
            for connection in list(self.connections)
            for link in connection.links
            if link.stream == stream
        ]

    async def listen(self) -> None:
        """Listen on ``port``, or on an ephemeral port the first time; ``OSError`` if it cannot be bound."""
        self._generation += 1
        handler = functools.partial(self._serve, self._generation)
        server = await asyncio.start_server(handler, self.host, self.port or 0)
        if self.port is None:
            self.port = server.sockets[0].getsockname()[1]
        self._server = server

    def stop_listening(self) -> None:
        """Refuse new connections from now on; live ones are untouched."""
        # Server.close() closes the listening socket at once, so connects are refused from here on and
        # the port can be bound again straight away. wait_closed() is not awaited: from 3.12 it waits
        # for every accepted connection, which abort_connections ends anyway.
        self._generation += 1
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def abort_connections(self, reason: str) -> None:
        """Reset every live connection on both sides."""
        for connection in list(self.connections):
            connection.close(reset=True, reason=reason)

    async def settle_tasks(self) -> None:
        """Cancel every task the relay started (but the calling one) and wait until they have finished."""
        await self._tasks.cancel_all()

    def spawn(self, work: Coroutine[Any, Any, None], label: str) -> asyncio.Task[None]:
        """Run ``work`` in a task of the relay's, named ``TASK_PREFIX`` + name + ``:`` + ``label``."""
        return self._tasks.spawn(work, label)

    def connection_closed(self, connection: Connection, reason: str) -> None:
        self.connections.discard(connection)
        if self._journal is not None:
            self._journal.record(
                "connection closed", proxy=self.name, number=connection.number, reason=reason
            )

    async def _serve(
        self, generation: int, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        """Takes an accepted client. Returns at once: the work happens in tasks the relay owns, because
        cancelling the task asyncio runs this in makes Python 3.11 log a spurious error."""
        if generation != self._generation:
            # Accepted just before the proxy stopped listening: the client must see the same refusal.
            shut(client_writer, reset=True)
            return
        self._next_number += 1
        connection = Connection(self, self._next_number, client_reader, client_writer)
        self.connections.add(connection)
        if self._journal is not None:
            self._journal.record("connection opened", proxy=self.name, number=connection.number)
        connection.tasks.append(self.spawn(self._connect(connection), f"{connection.number}:connect"))

    async def _connect(self, connection: Connection) -> None:
        try:
            service_reader, service_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError as error:
            what = "refused" if isinstance(error, ConnectionRefusedError) else f"unreachable ({error})"
            # Reset, not FIN, so the client sees a failed connection rather than a server that hung up.
            connection.close(reset=True, reason=f"service {what}")
            return
        if connection.closed:
            shut(service_writer, reset=True)
            return
        connection.open_links(service_reader, service_writer)
