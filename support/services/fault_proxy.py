"""An embedded TCP proxy that injects network faults between a client and a service on 127.0.0.1.

It speaks Toxiproxy's vocabulary so scenarios read the same as they would against a real Toxiproxy:
a *toxic* is a fault acting on one *stream* ("upstream" is client -> service, "downstream" is
service -> client), and taking the proxy *down* is Toxiproxy's ``enabled=false``.

Everything runs on the caller's event loop; the proxy starts no threads. Toxics act on live
connections as well as new ones, because the faults worth testing are the ones that strike an
established session. Every fault applied and lifted is kept in ``faults`` (and the journal, if given)
so a report can say exactly what the network did and when.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import random
import socket
import struct
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, get_args

from support.services.journal import Journal

__all__ = [
    "FLAPPING",
    "STREAMS",
    "TASK_PREFIX",
    "TOXICS",
    "BandwidthToxic",
    "FaultProxy",
    "FaultRecord",
    "LatencyToxic",
    "LimitDataToxic",
    "Link",
    "Piece",
    "ResetPeerToxic",
    "SlicerToxic",
    "SlowCloseToxic",
    "Stream",
    "TimeoutToxic",
    "Toxic",
    "register",
]

Stream = Literal["upstream", "downstream"]  # upstream: client -> service; downstream: service -> client
STREAMS: tuple[Stream, ...] = get_args(Stream)

# Bytes for a link to deliver, with the extra delay in seconds that the toxics added to them.
Piece = tuple[float, bytes]

DOWN = "down"
# A proxy-level fault of this suite's own (Toxiproxy has none): the proxy goes ``down`` and ``up`` on a seeded
# schedule until it is lifted, each ``down`` journaled as a fault of its own.
FLAPPING = "flapping"
_READ_SIZE = 64 * 1024
# Chunks a link may hold between reading and delivering. Bounded so that a slow (delayed) stream pushes
# back on its sender through TCP instead of buffering without limit inside the proxy.
_QUEUE_CHUNKS = 256
# Every task the proxy owns carries this prefix, so a leak can be attributed to it.
TASK_PREFIX = "fault-proxy:"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass
class FaultRecord:
    """One fault as it appears in the report. ``lifted_at`` stays ``None`` while the fault is active."""

    name: str
    kind: str
    stream: str | None
    attributes: dict[str, float | int]
    applied_at: float  # time.monotonic(), the clock the journals and client events use
    lifted_at: float | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def describe(self) -> str:
        """Plain English, for people reading a scenario report."""
        if self.kind == DOWN:
            return "network down"
        if self.kind == FLAPPING:
            variation = self.attributes["variation"]
            return (
                f"network flapping: down about {_number(self.attributes['down_ms'])} ms, "
                f"then up about {_number(self.attributes['up_ms'])} ms, over and over"
                + (f" (each ± {_number(variation * 100)}%)" if variation else "")
            )
        toxic = TOXICS.get(self.kind)
        if toxic is None:
            facts = ", ".join(f"{key}={_number(value)}" for key, value in self.attributes.items())
            return f"{self.stream} {self.kind}" + (f" ({facts})" if facts else "")
        return toxic.describe(self.stream, self.attributes)


class Toxic:
    """A fault acting on one stream. Subclasses set ``kind`` and ``parameters`` and override hooks.

    ``parameters`` maps each attribute name to its default; ``None`` means the attribute is required.
    Attributes not listed are refused, so a misspelt attribute fails the step instead of being ignored.

    Hooks, all called on the event loop:
    - ``attach(link)``: the toxic starts acting on a link (a new connection, or a live one when the
      toxic is added). Timers started here with ``link.schedule`` are cancelled by ``detach``.
    - ``process(link, chunk)``: what to deliver for one chunk read from the stream's source, as pieces
      with extra delays; return ``[]`` to drop it. Pieces go to the next toxic on the stream, in the
      order the toxics were added, and the delays add up.
    - ``detach(link)``: the toxic was removed while the link is live.
    - ``close_delay(link)``: seconds to hold back the end of the stream (the source closed, or a toxic
      ended the link) before it is passed on; the delays of the stream's toxics add up.
    """

    kind: ClassVar[str]
    parameters: ClassVar[dict[str, float | int | None]] = {}

    def __init__(
        self, name: str, stream: Stream, attributes: Mapping[str, float], rng: random.Random
    ) -> None:
        self.name = name
        self.stream = stream
        self.rng = rng
        self.attributes = self.validate(attributes)

    @classmethod
    def validate(cls, attributes: Mapping[str, float]) -> dict[str, float | int]:
        unknown = sorted(set(attributes) - set(cls.parameters))
        if unknown:
            raise ValueError(
                f"the {cls.kind} toxic has no attribute {', '.join(unknown)} "
                f"(it takes {', '.join(cls.parameters) or 'none'})"
            )
        values: dict[str, float | int] = {}
        for key, default in cls.parameters.items():
            value = attributes.get(key, default)
            if value is None:
                raise ValueError(f"the {cls.kind} toxic needs the attribute {key}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{cls.kind} {key} must be a number, not {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{cls.kind} {key} must be a finite number >= 0, not {value!r}")
            values[key] = value
        return values

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        return f"{stream} {cls.kind}"

    def attach(self, link: Link) -> None:
        pass

    def detach(self, link: Link) -> None:
        link.forget(self)

    def process(self, link: Link, chunk: bytes) -> list[Piece]:
        return [(0.0, chunk)]

    def close_delay(self, link: Link) -> float:
        return 0.0


ToxicType = TypeVar("ToxicType", bound=type[Toxic])

TOXICS: dict[str, type[Toxic]] = {}


def register(toxic: ToxicType) -> ToxicType:
    """Make a toxic kind available to ``FaultProxy.add_toxic`` under its ``kind``."""
    TOXICS[toxic.kind] = toxic
    return toxic


@register
class LatencyToxic(Toxic):
    """Delays every chunk by ``latency`` ms, give or take a uniform ``jitter`` ms.

    The link never reorders: a chunk is delivered no earlier than the chunk before it, so jitter
    stretches the gaps between chunks but cannot swap them (TCP would never deliver out of order).
    """

    kind = "latency"
    parameters: ClassVar[dict[str, float | int | None]] = {"latency": None, "jitter": 0}

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        text = f"{stream} latency of {_number(attributes['latency'])} ms"
        jitter = attributes.get("jitter", 0)
        return text + (f" ± {_number(jitter)} ms" if jitter else "")

    def draw_delay(self) -> float:
        """One chunk's delay in seconds, drawn from the injected rng so a seed replays a run."""
        latency = self.attributes["latency"]
        jitter = self.attributes["jitter"]
        offset = self.rng.uniform(-jitter, jitter) if jitter else 0.0
        return max(0.0, latency + offset) / 1000

    def process(self, link: Link, chunk: bytes) -> list[Piece]:
        return [(self.draw_delay(), chunk)]


@register
class TimeoutToxic(Toxic):
    """Drops every byte on the stream. With ``timeout`` 0 the connection stays open (a half-open
    blackhole, the hardest case for a client to notice); otherwise it is closed after ``timeout`` ms.
    """

    kind = "timeout"
    parameters: ClassVar[dict[str, float | int | None]] = {"timeout": None}

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        timeout = attributes["timeout"]
        if not timeout:
            return f"half-open: {stream} bytes dropped"
        return f"{stream} bytes dropped, connection closed after {_number(timeout)} ms"

    def attach(self, link: Link) -> None:
        timeout = self.attributes["timeout"]
        if timeout > 0:
            link.schedule(self, timeout / 1000, functools.partial(link.close, f"{self.name} timed out"))

    def process(self, link: Link, chunk: bytes) -> list[Piece]:
        return []


@register
class BandwidthToxic(Toxic):
    """Lets ``rate`` KB/s through (1 KB = 1000 bytes, as in Toxiproxy): each chunk is delivered in slices of
    at most a tenth of a second's worth, each when the link would have finished sending it."""

    kind = "bandwidth"
    parameters: ClassVar[dict[str, float | int | None]] = {"rate": None}

    @classmethod
    def validate(cls, attributes: Mapping[str, float]) -> dict[str, float | int]:
        values = super().validate(attributes)
        if values["rate"] <= 0:
            raise ValueError("bandwidth rate must be above 0 KB/s (to stop all bytes, use a timeout toxic)")
        return values

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        return f"{stream} bandwidth limited to {_number(attributes['rate'])} KB/s"

    def process(self, link: Link, chunk: bytes) -> list[Piece]:
        bytes_per_s = self.attributes["rate"] * 1000
        state, now = link.state(self), link.now()
        # The link is busy until the bytes before these have gone; a link idle since then starts now.
        sent_at = max(state.get("free_at", now), now)
        step = max(1, int(bytes_per_s / 10))
        pieces: list[Piece] = []
        for start in range(0, len(chunk), step):
            part = chunk[start : start + step]
            sent_at += len(part) / bytes_per_s
            pieces.append((sent_at - now, part))
        state["free_at"] = sent_at
        return pieces


@register
class ResetPeerToxic(Toxic):
    """Lets bytes through, then resets the connection (TCP RST, "connection reset by peer") ``timeout`` ms
    after it was opened, or after the toxic was added to a live one; with 0, at once."""

    kind = "reset_peer"
    parameters: ClassVar[dict[str, float | int | None]] = {"timeout": 0}

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        timeout = attributes["timeout"]
        when = f"after {_number(timeout)} ms" if timeout else "at once"
        return f"connections reset by peer {when} ({stream})"

    def attach(self, link: Link) -> None:
        reason = f"{self.name}: reset by peer"
        link.schedule(self, self.attributes["timeout"] / 1000, functools.partial(link.reset, reason))


@register
class LimitDataToxic(Toxic):
    """Lets the first ``bytes`` of each connection's stream through, then closes the connection."""

    kind = "limit_data"
    parameters: ClassVar[dict[str, float | int | None]] = {"bytes": None}

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        return f"{stream} data cut after {_number(attributes['bytes'])} bytes, then the connection closed"

    def process(self, link: Link, chunk: bytes) -> list[Piece]:
        state = link.state(self)
        allowed = int(self.attributes["bytes"]) - state.get("passed", 0)
        if len(chunk) < allowed:
            state["passed"] = state.get("passed", 0) + len(chunk)
            return [(0.0, chunk)]
        state["passed"] = int(self.attributes["bytes"])
        link.finish(f"{self.name}: {_number(self.attributes['bytes'])} bytes passed")
        return [(0.0, chunk[: max(allowed, 0)])]


@register
class SlicerToxic(Toxic):
    """Slices every chunk into pieces of ``average_size`` bytes, give or take ``size_variation``, each sent
    ``delay`` microseconds after the one before (as a network that fragments and trickles would)."""

    kind = "slicer"
    parameters: ClassVar[dict[str, float | int | None]] = {
        "average_size": None,
        "size_variation": 0,
        "delay": 0,
    }

    @classmethod
    def validate(cls, attributes: Mapping[str, float]) -> dict[str, float | int]:
        values = super().validate(attributes)
        average, variation = values["average_size"], values["size_variation"]
        if not float(average).is_integer() or not float(variation).is_integer() or average < 1:
            raise ValueError(
                "slicer average_size and size_variation must be whole numbers of bytes, average_size >= 1"
            )
        if variation >= average:
            raise ValueError(
                f"slicer size_variation ({_number(variation)}) must be below "
                f"average_size ({_number(average)})"
            )
        return values

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        size = f"{_number(attributes['average_size'])} bytes"
        if attributes["size_variation"]:
            size += f" ± {_number(attributes['size_variation'])}"
        return f"{stream} sliced into pieces of {size}, {_number(attributes['delay'])} µs apart"

    def slice_sizes(self, total: int) -> list[int]:
        """The sizes one chunk of ``total`` bytes is cut into, drawn from the injected rng."""
        average, variation = int(self.attributes["average_size"]), int(self.attributes["size_variation"])
        sizes: list[int] = []
        while total > 0:
            size = min(total, max(1, average + self.rng.randint(-variation, variation)))
            sizes.append(size)
            total -= size
        return sizes

    def process(self, link: Link, chunk: bytes) -> list[Piece]:
        gap_s = self.attributes["delay"] / 1_000_000
        pieces: list[Piece] = []
        start = 0
        for index, size in enumerate(self.slice_sizes(len(chunk))):
            pieces.append((index * gap_s, chunk[start : start + size]))
            start += size
        return pieces


@register
class SlowCloseToxic(Toxic):
    """Holds back the end of the stream ``delay`` ms before passing the close on; bytes are untouched."""

    kind = "slow_close"
    parameters: ClassVar[dict[str, float | int | None]] = {"delay": None}

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        return f"{stream} close held back {_number(attributes['delay'])} ms"

    def close_delay(self, link: Link) -> float:
        return self.attributes["delay"] / 1000


def _shut(writer: asyncio.StreamWriter, *, reset: bool) -> None:
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


class Link:
    """One direction of one proxied connection: reads from one socket, passes each chunk through the
    stream's toxics and writes what they let through to the other socket.

    Reading and writing are separate tasks joined by a queue, so delayed chunks are pipelined (a
    chunk's delay counts from when it was read) instead of each delay adding to the next.
    """

    def __init__(
        self,
        connection: _Connection,
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

    # --- inside the proxy -------------------------------------------------------------------------

    def stop(self) -> None:
        for handles in self._timers.values():
            for handle in handles:
                handle.cancel()
        self._timers.clear()
        self._state.clear()

    async def pump_in(self) -> None:
        proxy = self.connection.proxy
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
                await self._end(proxy._toxics_on(self.stream))
                return
            now = loop.time()
            # Toxics are looked up per chunk, so adding or removing one takes effect on live connections
            # from the next chunk on; bytes already dropped stay dropped.
            pieces: list[Piece] = [(0.0, chunk)]
            for toxic in proxy._toxics_on(self.stream):
                pieces = [
                    (delay + extra, out) for delay, data in pieces for extra, out in toxic.process(self, data)
                ]
            dropped = len(chunk) - sum(len(data) for _, data in pieces)
            if dropped > 0:
                proxy._bytes_dropped[self.stream] += dropped
            for delay, data in pieces:
                deliver_at = max(self._last_delivery, now + delay)
                self._last_delivery = deliver_at
                await self._queue.put((deliver_at, data))
            if self._end_reason is not None:
                await self._end(proxy._toxics_on(self.stream))
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
        proxy = self.connection.proxy
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
                proxy._bytes_forwarded[self.stream] += len(data)
                await self._sink.drain()
            except OSError as error:
                self.connection.close(reset=True, reason=f"{self._sink_side} reset ({type(error).__name__})")
                return


class _Connection:
    """A client connection and, once reached, its connection to the service; closing one closes both."""

    def __init__(
        self,
        proxy: FaultProxy,
        number: int,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
    ) -> None:
        self.proxy = proxy
        self.number = number
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.service_writer: asyncio.StreamWriter | None = None
        self.links: list[Link] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.closed = False

    def open_links(self, service_reader: asyncio.StreamReader, service_writer: asyncio.StreamWriter) -> None:
        self.service_writer = service_writer
        self.links = [
            Link(self, "upstream", self.client_reader, service_writer),
            Link(self, "downstream", service_reader, self.client_writer),
        ]
        for link in self.links:
            for toxic in self.proxy._toxics_on(link.stream):
                toxic.attach(link)
        if self.closed:  # a toxic may end the connection the moment it attaches
            return
        for link in self.links:
            for role, pump in (("in", link.pump_in), ("out", link.pump_out)):
                self.tasks.append(self.proxy._spawn(pump(), f"{self.number}:{link.stream}-{role}"))

    def close(self, *, reset: bool, reason: str) -> None:
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
                _shut(writer, reset=reset)
        self.proxy._connection_closed(self, reason)


class FaultProxy:
    """Listens on ``host``:``port`` and forwards each connection to ``upstream_host``:``upstream_port``.

    All methods must be called from coroutines on the one event loop the proxy runs on.
    """

    def __init__(
        self,
        name: str,
        upstream_host: str,
        upstream_port: int,
        *,
        rng: random.Random,
        journal: Journal | None = None,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.name = name
        self.host = listen_host
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port  # may be changed to move the service; applies to new connections
        self._rng = rng
        self._journal = journal
        self._port: int | None = None
        self._server: asyncio.Server | None = None
        # Bumped on every listen and stop, so a connection accepted just before a stop is turned away.
        self._generation = 0
        self._started = False
        self._down: FaultRecord | None = None
        self._toxics: dict[str, Toxic] = {}
        self._records: dict[str, FaultRecord] = {}
        self._faults: list[FaultRecord] = []
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Flapping and timed heals: not ended by down() along with the connections' tasks, only by
        # lifting them, reset() or close().
        self._schedules: set[asyncio.Task[Any]] = set()
        self._flapping: FaultRecord | None = None
        self._next_number = 0
        self._bytes_forwarded: dict[Stream, int] = dict.fromkeys(STREAMS, 0)
        self._bytes_dropped: dict[Stream, int] = dict.fromkeys(STREAMS, 0)

    # --- state --------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"the {self.name} fault proxy has not been started, so it has no port yet")
        return self._port

    @property
    def faults(self) -> list[FaultRecord]:
        return list(self._faults)

    @property
    def active_connections(self) -> int:
        return len(self._connections)

    @property
    def bytes_forwarded(self) -> dict[Stream, int]:
        return dict(self._bytes_forwarded)

    @property
    def bytes_dropped(self) -> dict[Stream, int]:
        """Bytes the toxics discarded, so a test can tell "dropped" from "not sent yet"."""
        return dict(self._bytes_dropped)

    @property
    def is_down(self) -> bool:
        return self._down is not None

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen. The first start picks an ephemeral port; later ones re-bind it, so clients that
        were given the address can reconnect. A proxy that is down stays down until ``up()``."""
        if self._down is None and self._server is None:
            await self._listen()
        self._started = True

    async def close(self) -> None:
        """Stop listening, abort every connection and finish every task the proxy started. Idempotent."""
        await self._cancel_schedules()
        self._started = False
        self._stop_listening()
        self._abort_connections("proxy closed")
        await self._settle_tasks()

    async def down(self) -> FaultRecord:
        """Toxiproxy's ``enabled=false``: reset every live connection on both sides, refuse new ones."""
        if self._down is not None:
            return self._down
        self._down = self._apply(FaultRecord(DOWN, DOWN, None, {}, time.monotonic()))
        self._stop_listening()
        self._abort_connections("proxy down")
        await self._settle_tasks()
        return self._down

    async def up(self) -> None:
        """Lift ``down``: listen again on the same port (if the proxy is started)."""
        if self._down is None:
            return
        record, self._down = self._down, None
        self._lift(record)
        if self._started and self._server is None:
            await self._listen()

    async def reset(self) -> None:
        """Between scenarios: no toxics, up, no connections, no fault history, counters at zero."""
        await self._cancel_schedules()
        if self._flapping is not None:
            self._lift(self._flapping)
            self._flapping = None
        # Connections go first so no byte slips through between lifting a toxic and aborting.
        self._abort_connections("proxy reset")
        for name in list(self._toxics):
            self.remove_toxic(name)
        await self._settle_tasks()
        await self.up()
        self._faults.clear()
        self._bytes_forwarded = dict.fromkeys(STREAMS, 0)
        self._bytes_dropped = dict.fromkeys(STREAMS, 0)

    # --- schedules ----------------------------------------------------------------------------------

    def start_flapping(self, *, up_ms: float, down_ms: float, variation: float = 0.0) -> FaultRecord:
        """The link goes down and up, over and over, until ``stop_flapping`` or ``heal``: down at once for
        about ``down_ms``, then up for about ``up_ms``, each length drawn from the proxy's seeded rng within
        ``variation`` (a fraction) of its mean. Every ``down`` is journaled as a fault of its own."""
        if self._flapping is not None:
            raise ValueError(f"the {self.name} fault proxy is already flapping")
        for name, value in (("up_ms", up_ms), ("down_ms", down_ms)):
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"flapping {name} must be a finite number above 0, not {value!r}")
        if not 0 <= variation < 1:
            raise ValueError(
                f"flapping variation must be a fraction from 0 up to (not including) 1, not {variation!r}"
            )
        attributes = {"up_ms": up_ms, "down_ms": down_ms, "variation": variation}
        self._flapping = self._apply(FaultRecord(FLAPPING, FLAPPING, None, attributes, time.monotonic()))
        self._schedule(self._flap(up_ms, down_ms, variation), "flapping")
        return self._flapping

    async def stop_flapping(self) -> None:
        """Lift flapping, leaving the link up."""
        record, self._flapping = self._flapping, None
        if record is None:
            return
        for task in [task for task in self._schedules if task.get_name().endswith(":flapping")]:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._lift(record)
        await self.up()

    def flap_length(self, mean_ms: float, variation: float) -> float:
        """One phase's length in seconds, drawn from the proxy's seeded rng."""
        return mean_ms * (1 + self._rng.uniform(-variation, variation)) / 1000

    async def _flap(self, up_ms: float, down_ms: float, variation: float) -> None:
        # Down first: the fault shows at once, as the other faults do.
        while True:
            await self.down()
            await asyncio.sleep(self.flap_length(down_ms, variation))
            await self.up()
            await asyncio.sleep(self.flap_length(up_ms, variation))

    async def heal(self) -> None:
        """Lift every fault: flapping stops, toxics are removed, and the link is up."""
        await self.stop_flapping()
        for name in list(self._toxics):
            self.remove_toxic(name)
        await self.up()

    def heal_after(self, delay_ms: float) -> None:
        """Lift every fault ``delay_ms`` from now, as a fault that lasts a while ends by itself."""

        async def later() -> None:
            await asyncio.sleep(delay_ms / 1000)
            await self.heal()

        self._schedule(later(), "heal")

    # --- toxics -------------------------------------------------------------------------------------

    def add_toxic(
        self, kind: str, *, stream: Stream = "downstream", name: str | None = None, **attributes: float
    ) -> FaultRecord:
        """Apply a toxic to new and live connections. Names default to ``f"{kind}_{stream}"``."""
        toxic_type = TOXICS.get(kind)
        if toxic_type is None:
            raise ValueError(f"unknown toxic kind {kind!r} (known: {', '.join(sorted(TOXICS))})")
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {', '.join(STREAMS)}, not {stream!r}")
        name = name or f"{kind}_{stream}"
        if name in self._toxics:
            raise ValueError(f"the {self.name} fault proxy already has a toxic named {name!r}")
        toxic = toxic_type(name, stream, attributes, self._rng)
        self._toxics[name] = toxic
        record = self._apply(FaultRecord(name, kind, stream, dict(toxic.attributes), time.monotonic()))
        self._records[name] = record
        for link in self._live_links(stream):
            toxic.attach(link)
        return record

    def remove_toxic(self, name: str) -> None:
        """Lift a toxic; bytes read from now on are forwarded normally on live connections too."""
        toxic = self._toxics.pop(name, None)
        if toxic is None:
            raise KeyError(f"the {self.name} fault proxy has no toxic named {name!r}")
        for link in self._live_links(toxic.stream):
            toxic.detach(link)
        self._lift(self._records.pop(name))

    # --- internals ----------------------------------------------------------------------------------

    def _toxics_on(self, stream: Stream) -> list[Toxic]:
        return [toxic for toxic in self._toxics.values() if toxic.stream == stream]

    def _live_links(self, stream: Stream) -> list[Link]:
        return [
            link
            for connection in list(self._connections)
            for link in connection.links
            if link.stream == stream
        ]

    def _apply(self, record: FaultRecord) -> FaultRecord:
        self._faults.append(record)
        self._note("fault applied", record)
        return record

    def _lift(self, record: FaultRecord) -> None:
        record.lifted_at = time.monotonic()
        self._note("fault lifted", record)

    def _note(self, kind: str, record: FaultRecord) -> None:
        if self._journal is not None:
            self._journal.record(
                kind,
                proxy=self.name,
                name=record.name,
                # Journal.record takes the entry's own kind positionally; the fault's kind needs its own key.
                fault_kind=record.kind,
                stream=record.stream,
                attributes=dict(record.attributes),
                description=record.describe(),
            )

    def _schedule(self, work: Coroutine[Any, Any, None], label: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"{TASK_PREFIX}{self.name}:{label}")
        self._schedules.add(task)
        task.add_done_callback(self._schedules.discard)

    async def _cancel_schedules(self) -> None:
        current = asyncio.current_task()
        pending = [task for task in self._schedules if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None], label: str) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(
            work, name=f"{TASK_PREFIX}{self.name}:{label}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _listen(self) -> None:
        self._generation += 1
        handler = functools.partial(self._serve, self._generation)
        server = await asyncio.start_server(handler, self.host, self._port or 0)
        if self._port is None:
            self._port = server.sockets[0].getsockname()[1]
        self._server = server

    def _stop_listening(self) -> None:
        # Server.close() closes the listening socket at once, so connects are refused from here on and
        # the port can be bound again straight away. wait_closed() is not awaited: from 3.12 it waits
        # for every accepted connection, which _abort_connections ends anyway.
        self._generation += 1
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def _abort_connections(self, reason: str) -> None:
        for connection in list(self._connections):
            connection.close(reset=True, reason=reason)

    async def _settle_tasks(self) -> None:
        current = asyncio.current_task()
        pending = [task for task in self._tasks if task is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def _connection_closed(self, connection: _Connection, reason: str) -> None:
        self._connections.discard(connection)
        if self._journal is not None:
            self._journal.record(
                "connection closed", proxy=self.name, number=connection.number, reason=reason
            )

    async def _serve(
        self, generation: int, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        """Takes an accepted client. Returns at once: the work happens in tasks the proxy owns, because
        cancelling the task asyncio runs this in makes Python 3.11 log a spurious error."""
        if generation != self._generation:
            # Accepted just before the proxy stopped listening: the client must see the same refusal.
            _shut(client_writer, reset=True)
            return
        self._next_number += 1
        connection = _Connection(self, self._next_number, client_reader, client_writer)
        self._connections.add(connection)
        if self._journal is not None:
            self._journal.record("connection opened", proxy=self.name, number=connection.number)
        connection.tasks.append(self._spawn(self._connect(connection), f"{connection.number}:connect"))

    async def _connect(self, connection: _Connection) -> None:
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
            _shut(service_writer, reset=True)
            return
        connection.open_links(service_reader, service_writer)
