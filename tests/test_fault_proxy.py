"""Self-test of the fault proxy against a small echo server, all on 127.0.0.1 with ephemeral ports.

Waits are conditions polled against a deadline, never fixed sleeps, so the tests are as fast as the
machine allows and fail with a message instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest

from support.services.journal import Journal
from support.services.proxy import TASK_PREFIX, TOXICS, FaultProxy, FaultRecord
from support.services.proxy.flapping import FlappingSchedule
from support.services.proxy.toxics import LatencyToxic, SlicerToxic
from tests.polling import eventually

HOST = "127.0.0.1"


async def closure(reader: asyncio.StreamReader, within: float = 1.0) -> str:
    """How the connection ended, "reset" or "eof"; fails if data arrives or it stays open."""
    try:
        data = await asyncio.wait_for(reader.read(1024), within)
    except ConnectionResetError:
        return "reset"
    except TimeoutError:
        pytest.fail(f"the connection was still open after {within:g} s")
    assert data == b"", f"expected the connection to end, got {data!r}"
    return "eof"


def proxy_tasks() -> list[str]:
    return [task.get_name() for task in asyncio.all_tasks() if task.get_name().startswith(TASK_PREFIX)]


class EchoServer:
    """Echoes what it reads; a chunk ending in b"close" makes it hang up instead."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.open_connections = 0
        self.resets = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, HOST, 0)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        self.open_connections += 1
        try:
            while chunk := await reader.read(65536):
                self.received += chunk
                if chunk.endswith(b"close"):
                    break
                writer.write(chunk)
                await writer.drain()
        except ConnectionResetError:
            self.resets += 1
        finally:
            self.open_connections -= 1
            writer.close()
            self._tasks.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        # Aborting ends every handler by itself. They are not cancelled: asyncio (3.11) logs a spurious
        # error when a start_server handler task is cancelled.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=2)
        assert not self._tasks, "echo server handlers did not finish"
        if self._server is not None:
            await self._server.wait_closed()


@dataclass
class Rig:
    proxy: FaultProxy
    echo: EchoServer
    journal: Journal
    clients: list[asyncio.StreamWriter] = field(default_factory=list)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(HOST, self.proxy.port)
        self.clients.append(writer)
        return reader, writer

    async def connected(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A client whose connection is known to reach the service (a round trip has been made)."""
        reader, writer = await self.connect()
        writer.write(b"hi")
        assert await asyncio.wait_for(reader.readexactly(2), 2) == b"hi"
        return reader, writer


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    echo = EchoServer()
    await echo.start()
    journal = Journal("network")
    proxy = FaultProxy("service", HOST, echo.port, rng=random.Random(7), journal=journal)
    setup = Rig(proxy, echo, journal)
    try:
        await proxy.start()
        yield setup
        await proxy.close()
        assert proxy_tasks() == [], "the proxy left tasks behind after close()"
    finally:
        await proxy.close()
        for writer in setup.clients:
            writer.transport.abort()
        await echo.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_passes_bytes_both_ways_and_counts_them() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, writer = await r.connect()
            writer.write(b"hello")
            assert await asyncio.wait_for(reader.readexactly(5), 2) == b"hello"
            assert bytes(r.echo.received) == b"hello"
            await eventually(
                lambda: r.proxy.bytes_forwarded == {"upstream": 5, "downstream": 5}, what="counts"
            )
            assert r.proxy.active_connections == 1
            assert r.proxy.bytes_dropped == {"upstream": 0, "downstream": 0}

    run(scenario)


def test_port_is_unknown_before_start() -> None:
    proxy = FaultProxy("service", HOST, 1, rng=random.Random(0))
    with pytest.raises(RuntimeError, match="not been started"):
        _ = proxy.port


def test_close_is_idempotent_and_start_rebinds_the_same_port() -> None:
    async def scenario() -> None:
        async with rig() as r:
            port = r.proxy.port
            await r.connected()
            await r.proxy.close()
            await r.proxy.close()
            assert r.proxy.active_connections == 0
            assert proxy_tasks() == []
            with pytest.raises(ConnectionRefusedError):
                await r.connect()
            await r.proxy.start()
            assert r.proxy.port == port
            await r.connected()

    run(scenario)


def test_down_resets_live_connections_and_refuses_new_ones_until_up() -> None:
    async def scenario() -> None:
        async with rig() as r:
            port = r.proxy.port
            reader, _ = await r.connected()
            record = await r.proxy.down()
            assert record.kind == "down" and record.active
            assert await closure(reader) == "reset"
            await eventually(lambda: r.echo.open_connections == 0, what="the service side closing")
            assert r.proxy.active_connections == 0
            with pytest.raises(ConnectionRefusedError):
                await r.connect()
            assert await r.proxy.down() is record  # already down: the same fault, not a second one

            await r.proxy.up()
            assert record.lifted_at is not None
            assert r.proxy.port == port
            await r.connected()
            assert [fault.kind for fault in r.proxy.faults] == ["down"]

    run(scenario)


def test_half_open_timeout_drops_downstream_but_keeps_the_connection() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, writer = await r.connected()  # live before the toxic, which must still apply
            r.proxy.add_toxic("timeout", stream="downstream", timeout=0)
            writer.write(b"ping")
            await eventually(lambda: r.echo.received.endswith(b"ping"), what="the service receiving ping")
            await eventually(lambda: r.proxy.bytes_dropped["downstream"] == 4, what="the echo being dropped")
            assert r.proxy.bytes_forwarded == {"upstream": 6, "downstream": 2}
            assert not reader.at_eof() and not writer.is_closing()
            assert r.proxy.active_connections == 1 and r.echo.open_connections == 1

            r.proxy.remove_toxic("timeout_downstream")
            writer.write(b"pong")
            # The first bytes to arrive are the new ones: the dropped ping never turns up.
            assert await asyncio.wait_for(reader.readexactly(4), 2) == b"pong"

    run(scenario)


def test_timeout_closes_the_connection_after_the_delay() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, writer = await r.connected()
            r.proxy.add_toxic("timeout", stream="upstream", timeout=50)
            writer.write(b"lost")
            assert await closure(reader) in {"eof", "reset"}
            await eventually(
                lambda: r.proxy.active_connections == 0, what="the proxy forgetting the connection"
            )
            await eventually(lambda: r.echo.open_connections == 0, what="the service side closing")
            assert bytes(r.echo.received) == b"hi"
            assert r.proxy.bytes_dropped["upstream"] == 4

    run(scenario)


def test_latency_delays_by_at_least_latency_minus_jitter_and_keeps_order() -> None:
    latency, jitter = 80, 20

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with rig() as r:
            reader, writer = await r.connected()
            r.proxy.add_toxic("latency", latency=latency, jitter=jitter)

            started = loop.time()
            writer.write(b"000,")
            assert await asyncio.wait_for(reader.readexactly(4), 2) == b"000,"
            # Lower bound only: a loaded machine may be slower, never faster. 1 ms covers clock rounding.
            assert loop.time() - started >= (latency - jitter) / 1000 - 0.001

            # Each message reaches the service before the next is sent, so the echoes come back as
            # separate chunks a few ms apart, well inside the jitter; reordering would show.
            messages = [f"{index:03d},".encode() for index in range(1, 31)]
            for message in messages:
                writer.write(message)
                await eventually(
                    lambda m=message: r.echo.received.endswith(m), what=f"service got {message!r}"
                )
            received = await asyncio.wait_for(reader.readexactly(len(b"".join(messages))), 2)
            assert received == b"".join(messages)

    run(scenario)


def test_latency_draws_repeat_with_the_same_seed() -> None:
    def draws(seed: int) -> list[float]:
        toxic = TOXICS["latency"](
            "latency_downstream", "downstream", {"latency": 100, "jitter": 30}, random.Random(seed)
        )
        assert isinstance(toxic, LatencyToxic)
        return [toxic.draw_delay() for _ in range(50)]

    first = draws(11)
    assert first == draws(11)
    assert first != draws(12)
    assert all(0.07 <= delay <= 0.13 for delay in first)
    assert len(set(first)) > 1


def test_service_closing_closes_the_client_and_back() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, writer = await r.connected()
            writer.write(b"close")
            assert await closure(reader) == "eof"
            await eventually(
                lambda: r.proxy.active_connections == 0, what="the proxy dropping the connection"
            )

            _, writer = await r.connected()
            writer.close()
            await eventually(lambda: r.echo.open_connections == 0, what="the service seeing the client leave")
            await eventually(
                lambda: r.proxy.active_connections == 0, what="the proxy dropping the connection"
            )

    run(scenario)


def test_service_refusing_fails_the_client_connection_promptly() -> None:
    async def scenario() -> None:
        async with rig() as r:
            vacant = await asyncio.start_server(lambda _r, _w: None, HOST, 0)
            r.proxy.upstream_port = vacant.sockets[0].getsockname()[1]
            vacant.close()
            await vacant.wait_closed()

            reader, _ = await r.connect()
            assert await closure(reader) == "reset"
            await eventually(
                lambda: r.proxy.active_connections == 0, what="the proxy dropping the connection"
            )
            assert r.journal.count("connection closed", reason="service refused") == 1

    run(scenario)


def test_reset_lifts_everything_and_restores_service() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, _ = await r.connected()
            latency = r.proxy.add_toxic("latency", stream="upstream", latency=5000)
            r.proxy.add_toxic("timeout", timeout=0)
            await r.proxy.reset()
            assert await closure(reader) == "reset"
            assert r.proxy.faults == [] and latency.lifted_at is not None
            assert r.proxy.bytes_forwarded == {"upstream": 0, "downstream": 0}
            await r.connected()  # no latency, nothing dropped

            await r.proxy.down()
            await r.proxy.reset()
            assert r.proxy.faults == [] and not r.proxy.is_down
            await r.connected()
            r.proxy.add_toxic("timeout", timeout=0)  # the old name is free again

    run(scenario)


def test_fault_records_describe_themselves() -> None:
    def record(kind: str, stream: str | None, **attributes: float) -> FaultRecord:
        return FaultRecord(kind, kind, stream, dict(attributes), applied_at=0.0)

    assert (
        record("latency", "downstream", latency=200, jitter=50).describe()
        == "downstream latency of 200 ms ± 50 ms"
    )
    assert record("latency", "upstream", latency=100, jitter=0).describe() == "upstream latency of 100 ms"
    assert record("latency", "upstream", latency=12.5, jitter=0).describe() == "upstream latency of 12.5 ms"
    assert record("down", None).describe() == "network down"
    assert record("timeout", "downstream", timeout=0).describe() == "half-open: downstream bytes dropped"
    assert (
        record("timeout", "upstream", timeout=500).describe()
        == "upstream bytes dropped, connection closed after 500 ms"
    )

    proxy = FaultProxy("service", HOST, 1, rng=random.Random(0))
    added = proxy.add_toxic("latency", latency=200, jitter=50)
    assert added.name == "latency_downstream" and added.attributes == {"latency": 200, "jitter": 50}
    assert added.describe() == "downstream latency of 200 ms ± 50 ms"
    assert proxy.add_toxic("timeout", stream="upstream", name="cut", timeout=0).name == "cut"


def test_bad_toxics_are_refused() -> None:
    proxy = FaultProxy("service", HOST, 1, rng=random.Random(0))
    with pytest.raises(ValueError, match="unknown toxic kind"):
        proxy.add_toxic("gremlins")
    with pytest.raises(ValueError, match="no attribute latncy"):
        proxy.add_toxic("latency", latncy=100)
    with pytest.raises(ValueError, match="needs the attribute latency"):
        proxy.add_toxic("latency")
    with pytest.raises(ValueError, match=">= 0"):
        proxy.add_toxic("timeout", timeout=-1)
    with pytest.raises(ValueError, match="stream"):
        proxy.add_toxic("timeout", stream="sideways", timeout=0)  # type: ignore[arg-type]
    proxy.add_toxic("timeout", timeout=0)
    with pytest.raises(ValueError, match="already has a toxic"):
        proxy.add_toxic("timeout", timeout=0)
    with pytest.raises(KeyError):
        proxy.remove_toxic("latency_downstream")
    assert [fault.name for fault in proxy.faults] == ["timeout_downstream"]


def test_every_fault_and_connection_is_journalled() -> None:
    async def scenario() -> None:
        async with rig() as r:
            await r.connected()
            r.proxy.add_toxic("latency", stream="upstream", latency=1, jitter=0)
            r.proxy.add_toxic("timeout", timeout=0)
            r.proxy.remove_toxic("latency_upstream")
            r.proxy.remove_toxic("timeout_downstream")
            await r.proxy.down()
            await r.proxy.up()

            applied = r.journal.entries("fault applied")
            lifted = r.journal.entries("fault lifted")
            assert [entry.detail["name"] for entry in applied] == [
                "latency_upstream",
                "timeout_downstream",
                "down",
            ]
            assert [entry.detail["name"] for entry in lifted] == [
                "latency_upstream",
                "timeout_downstream",
                "down",
            ]
            assert applied[0].detail == {
                "proxy": "service",
                "name": "latency_upstream",
                "fault_kind": "latency",
                "stream": "upstream",
                "attributes": {"latency": 1, "jitter": 0},
                "description": "upstream latency of 1 ms",
            }
            assert applied[2].detail["fault_kind"] == "down" and applied[2].detail["stream"] is None
            assert len(r.proxy.faults) == 3 and all(not fault.active for fault in r.proxy.faults)
            assert r.journal.count("connection opened", number=1) == 1
            assert r.journal.count("connection closed", number=1, reason="proxy down") == 1

    run(scenario)


# -- the toxics that shape, cut and end a stream, and flapping -------------------------------------


def test_bandwidth_trickles_the_stream_at_the_rate_and_delivers_it_whole() -> None:
    rate_kb_s, size = 20, 4000  # 4000 bytes at 20 KB/s take 0.2 s

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with rig() as r:
            reader, writer = await r.connected()
            r.proxy.add_toxic("bandwidth", rate=rate_kb_s)
            payload = bytes(index % 251 for index in range(size))
            started = loop.time()
            writer.write(payload)
            first = await asyncio.wait_for(reader.read(size), 2)
            first_at = loop.time() - started
            rest = await asyncio.wait_for(reader.readexactly(size - len(first)), 2)
            took = loop.time() - started
            assert first + rest == payload
            # It arrives in slices (the first well before the whole), and no faster than the rate allows.
            assert len(first) < size and first_at < took
            assert took >= size / (rate_kb_s * 1000) - 0.005
            assert r.proxy.bytes_dropped == {"upstream": 0, "downstream": 0}

    run(scenario)


def test_reset_peer_lets_bytes_through_then_resets_live_and_new_connections() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with rig() as r:
            reader, writer = await r.connected()
            r.proxy.add_toxic("reset_peer", timeout=100)
            added = loop.time()
            writer.write(b"still")
            assert await asyncio.wait_for(reader.readexactly(5), 2) == b"still"
            assert await closure(reader) == "reset"
            assert loop.time() - added >= 0.1 - 0.005
            await eventually(lambda: r.echo.open_connections == 0, what="the service side closing")

            r.proxy.remove_toxic("reset_peer_downstream")
            r.proxy.add_toxic("reset_peer", timeout=0)
            reader, _ = await r.connect()
            assert await closure(reader) == "reset"
            assert r.journal.count("connection closed", reason="reset_peer_downstream: reset by peer") == 2

    run(scenario)


def test_limit_data_passes_the_first_bytes_of_each_connection_then_closes_it() -> None:
    async def scenario() -> None:
        async with rig() as r:
            r.proxy.add_toxic("limit_data", bytes=10)
            reader, writer = await r.connected()  # "hi": 2 of the 10 bytes
            writer.write(b"abcdef")
            assert await asyncio.wait_for(reader.readexactly(6), 2) == b"abcdef"
            writer.write(b"ghijkl")
            assert await asyncio.wait_for(reader.readexactly(2), 2) == b"gh"
            assert await closure(reader) == "eof"
            assert r.proxy.bytes_forwarded["downstream"] == 10
            # The count is per connection: a new one gets its own 10 bytes.
            reader, writer = await r.connected()
            writer.write(b"0123456789")
            assert await asyncio.wait_for(reader.readexactly(8), 2) == b"01234567"
            assert await closure(reader) == "eof"

    run(scenario)


def test_slicer_cuts_the_stream_into_small_pieces_apart_in_time_without_changing_it() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with rig() as r:
            reader, writer = await r.connected()
            r.proxy.add_toxic("slicer", average_size=5, size_variation=2, delay=20_000)
            payload = b"the quick brown fox jumps over the lazy dog"
            started = loop.time()
            writer.write(payload)
            reads: list[bytes] = []
            while sum(map(len, reads)) < len(payload):
                reads.append(await asyncio.wait_for(reader.read(1024), 2))
            took = loop.time() - started
            assert b"".join(reads) == payload
            assert len(reads) >= 2 and max(map(len, reads)) < len(payload)
            # At least ceil(43 / 7) = 7 slices, 20 ms apart: 6 gaps.
            assert took >= 6 * 0.02 - 0.005

    run(scenario)


def test_slicer_sizes_stay_within_the_variation_and_repeat_with_the_same_seed() -> None:
    def sizes(seed: int) -> list[int]:
        toxic = TOXICS["slicer"](
            "slicer_downstream", "downstream", {"average_size": 10, "size_variation": 4}, random.Random(seed)
        )
        assert isinstance(toxic, SlicerToxic)
        return toxic.slice_sizes(1000)

    first = sizes(3)
    assert sum(first) == 1000 and first == sizes(3) and first != sizes(4)
    assert all(6 <= size <= 14 for size in first[:-1]) and len(set(first)) > 1


def test_slow_close_holds_back_the_end_of_the_stream_but_not_its_bytes() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with rig() as r:
            reader, writer = await r.connected()
            r.proxy.add_toxic("slow_close", delay=200)
            writer.write(b"echo")
            assert await asyncio.wait_for(reader.readexactly(4), 0.15) == b"echo"  # bytes are not held
            writer.write(b"close")
            await eventually(lambda: r.echo.open_connections == 0, what="the service hanging up")
            hung_up = loop.time()
            assert await closure(reader, within=2) == "eof"
            assert loop.time() - hung_up >= 0.2 - 0.02
            await eventually(
                lambda: r.proxy.active_connections == 0, what="the proxy forgetting the connection"
            )

    run(scenario)


def test_slow_close_also_holds_back_a_close_another_toxic_makes() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with rig() as r:
            r.proxy.add_toxic("limit_data", bytes=4)
            r.proxy.add_toxic("slow_close", delay=150)
            reader, writer = await r.connect()
            writer.write(b"abcdef")
            assert await asyncio.wait_for(reader.readexactly(4), 2) == b"abcd"
            cut = loop.time()
            assert await closure(reader, within=2) == "eof"
            assert loop.time() - cut >= 0.15 - 0.02

    run(scenario)


def test_flapping_takes_the_link_down_and_up_on_a_schedule_until_stopped() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, _ = await r.connected()
            record = r.proxy.start_flapping(up_ms=40, down_ms=40, variation=0.25)
            assert record.kind == "flapping" and record.active
            assert await closure(reader) == "reset"  # it starts down
            await eventually(
                lambda: len([f for f in r.proxy.faults if f.kind == "down"]) >= 3, what="three downs"
            )
            downs = [fault for fault in r.proxy.faults if fault.kind == "down"]
            lasted = [fault.lifted_at - fault.applied_at for fault in downs if fault.lifted_at is not None]
            assert lasted and all(took >= 0.03 - 0.002 for took in lasted)
            with pytest.raises(ValueError, match="already flapping"):
                r.proxy.start_flapping(up_ms=1, down_ms=1)

            await r.proxy.stop_flapping()
            assert not record.active and not r.proxy.is_down
            assert all(not fault.active for fault in r.proxy.faults)
            await r.connected()
            settled = len(r.proxy.faults)
            await asyncio.sleep(0.1)  # a stopped schedule must not take the link down again
            assert len(r.proxy.faults) == settled
            assert r.journal.count("fault applied", name="flapping") == 1
            assert r.journal.count("fault lifted", name="flapping") == 1

    run(scenario)


def test_flapping_lengths_repeat_with_the_same_seed_and_stay_within_the_variation() -> None:
    def lengths(seed: int) -> list[float]:
        schedule = FlappingSchedule(up_ms=100, down_ms=100, variation=0.2, rng=random.Random(seed))
        return [schedule.down_s() if turn % 2 else schedule.up_s() for turn in range(30)]

    assert lengths(5) == lengths(5) != lengths(6)
    assert all(0.08 <= length <= 0.12 for length in lengths(5))


def test_heal_after_lifts_every_fault_by_itself_and_reset_stops_flapping() -> None:
    async def scenario() -> None:
        async with rig() as r:
            r.proxy.add_toxic("latency", latency=10)
            r.proxy.start_flapping(up_ms=20, down_ms=20)
            r.proxy.heal_after(60)
            assert any(fault.active for fault in r.proxy.faults)
            await eventually(
                lambda: not any(fault.active for fault in r.proxy.faults), what="every fault lifted"
            )
            await r.connected()

            r.proxy.start_flapping(up_ms=20, down_ms=20)
            r.proxy.heal_after(10_000)
            await r.proxy.reset()
            assert r.proxy.faults == [] and not r.proxy.is_down
            await r.connected()
            await asyncio.sleep(0.06)  # neither the flapping nor the timed heal survived the reset
            assert r.proxy.faults == []
            assert [task for task in proxy_tasks() if task.endswith((":flapping", ":heal"))] == []

    run(scenario)


def test_new_toxics_describe_themselves_and_refuse_bad_attributes() -> None:
    def described(kind: str, **attributes: float) -> str:
        return FaultRecord(kind, kind, "downstream", dict(attributes), applied_at=0.0).describe()

    assert described("bandwidth", rate=16) == "downstream bandwidth limited to 16 KB/s"
    assert described("reset_peer", timeout=40) == "connections reset by peer after 40 ms (downstream)"
    assert described("reset_peer", timeout=0) == "connections reset by peer at once (downstream)"
    assert (
        described("limit_data", bytes=4000)
        == "downstream data cut after 4000 bytes, then the connection closed"
    )
    assert (
        described("slicer", average_size=64, size_variation=16, delay=500)
        == "downstream sliced into pieces of 64 bytes ± 16, 500 µs apart"
    )
    assert described("slow_close", delay=200) == "downstream close held back 200 ms"
    flapping = FaultRecord("flapping", "flapping", None, {"up_ms": 100, "down_ms": 50, "variation": 0.2}, 0)
    assert flapping.describe() == (
        "network flapping: down about 50 ms, then up about 100 ms, over and over (each ± 20%)"
    )

    proxy = FaultProxy("service", HOST, 1, rng=random.Random(0))
    with pytest.raises(ValueError, match="above 0 KB/s"):
        proxy.add_toxic("bandwidth", rate=0)
    with pytest.raises(ValueError, match="must be below average_size"):
        proxy.add_toxic("slicer", average_size=4, size_variation=4)
    with pytest.raises(ValueError, match="whole numbers"):
        proxy.add_toxic("slicer", average_size=2.5)
    with pytest.raises(ValueError, match="needs the attribute bytes"):
        proxy.add_toxic("limit_data")
    with pytest.raises(ValueError, match="above 0"):
        proxy.start_flapping(up_ms=0, down_ms=10)
    with pytest.raises(ValueError, match="variation"):
        proxy.start_flapping(up_ms=10, down_ms=10, variation=1.5)
