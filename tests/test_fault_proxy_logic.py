"""Self-test of the fault proxy's logic without sockets: the toxics' arithmetic, the relay's ordering rule,
the flapping schedule, and the handle's hops onto a background loop."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import pytest

from support.harness.runtime import BackgroundLoop
from support.services.proxy import TOXICS, FaultProxy, FaultRecord
from support.services.proxy.flapping import FlappingSchedule, flap, phase_length_s
from support.services.proxy.handle import ProxyHandle
from support.services.proxy.relay import in_order
from support.services.proxy.toxics import Toxic, pace, plain, slice_sizes, sliced, through
from tests.polling import eventually


class FakeLink:
    """A link on a clock that stands still, recording what toxics ask of it."""

    def __init__(self, now: float = 100.0) -> None:
        self.clock = now
        self.states: dict[str, dict[str, Any]] = {}
        self.finished: list[str] = []
        self.scheduled: list[tuple[str, float]] = []

    def schedule(self, toxic: Toxic, delay: float, callback: Callable[[], None]) -> None:
        self.scheduled.append((toxic.name, delay))

    def state(self, toxic: Toxic) -> dict[str, Any]:
        return self.states.setdefault(toxic.name, {})

    def now(self) -> float:
        return self.clock

    def finish(self, reason: str) -> None:
        self.finished.append(reason)

    def forget(self, toxic: Toxic) -> None:
        self.states.pop(toxic.name, None)

    def close(self, reason: str) -> None:
        pass

    def reset(self, reason: str) -> None:
        pass


def toxic(kind: str, **attributes: float) -> Toxic:
    return TOXICS[kind](f"{kind}_downstream", "downstream", attributes, random.Random(1))


def test_numbers_are_written_as_people_write_them() -> None:
    assert [plain(200.0), plain(12.5), plain(0), plain(3)] == ["200", "12.5", "0", "3"]


def test_pacing_slices_a_tenth_of_a_second_each_and_keeps_the_link_busy() -> None:
    pieces, free_at = pace(b"x" * 250, bytes_per_s=1000, busy_until=0.0, now=10.0)
    assert [len(data) for _, data in pieces] == [100, 100, 50]
    assert [round(delay, 6) for delay, _ in pieces] == [0.1, 0.2, 0.25]
    assert free_at == pytest.approx(10.25)
    # Bytes read while the link is still busy wait for the ones before them.
    pieces, free_at = pace(b"y" * 100, bytes_per_s=1000, busy_until=free_at, now=10.05)
    assert pieces[0][0] == pytest.approx(0.3) and free_at == pytest.approx(10.35)
    # A very slow link still sends at least one byte a slice.
    assert [len(data) for _, data in pace(b"ab", bytes_per_s=5, busy_until=0.0, now=0.0)[0]] == [1, 1]


def test_the_bandwidth_toxic_carries_the_busy_time_from_chunk_to_chunk() -> None:
    link, bandwidth = FakeLink(now=5.0), toxic("bandwidth", rate=1)  # 1000 bytes/s
    assert bandwidth.process(link, b"x" * 100)[-1][0] == pytest.approx(0.1)
    assert bandwidth.process(link, b"x" * 100)[-1][0] == pytest.approx(0.2)
    assert link.states["bandwidth_downstream"]["free_at"] == pytest.approx(5.2)


def test_slices_add_up_to_the_chunk_and_stay_within_the_variation() -> None:
    sizes = slice_sizes(1000, average=10, variation=3, rng=random.Random(2))
    assert sum(sizes) == 1000
    assert all(7 <= size <= 13 for size in sizes[:-1]) and 1 <= sizes[-1] <= 13
    assert sizes == slice_sizes(1000, 10, 3, random.Random(2))
    assert slice_sizes(5, 10, 0, random.Random(2)) == [5]
    assert slice_sizes(0, 10, 0, random.Random(2)) == []
    pieces = sliced(b"abcdefg", [3, 3, 1], gap_s=0.02)
    assert pieces == [(0.0, b"abc"), (0.02, b"def"), (0.04, b"g")]


def test_toxics_chain_in_the_order_added_and_their_delays_add_up() -> None:
    link = FakeLink()
    latency, slicer = toxic("latency", latency=50), toxic("slicer", average_size=2, delay=10_000)
    pieces = through([latency, slicer], link, b"abcd")
    assert [data for _, data in pieces] == [b"ab", b"cd"]
    assert [round(delay, 6) for delay, _ in pieces] == [0.05, 0.06]
    assert through([], link, b"abcd") == [(0.0, b"abcd")]
    assert through([toxic("timeout", timeout=0), latency], link, b"abcd") == []


def test_limit_data_lets_the_limit_through_across_chunks_then_finishes_the_link() -> None:
    link, limit = FakeLink(), toxic("limit_data", bytes=10)
    assert limit.process(link, b"123456") == [(0.0, b"123456")] and link.finished == []
    assert limit.process(link, b"789abc") == [(0.0, b"789a")]
    assert link.finished == ["limit_data_downstream: 10 bytes passed"]
    assert limit.process(link, b"more") == [(0.0, b"")]


def test_timers_are_asked_of_the_link_in_seconds() -> None:
    link = FakeLink()
    toxic("timeout", timeout=250).attach(link)
    toxic("reset_peer", timeout=40).attach(link)
    toxic("timeout", timeout=0).attach(link)  # half-open: never closes
    assert link.scheduled == [("timeout_downstream", 0.25), ("reset_peer_downstream", 0.04)]
    assert toxic("slow_close", delay=150).close_delay(link) == 0.15


def test_pieces_are_delivered_in_order_however_their_delays_fall() -> None:
    timed, last = in_order([(0.3, b"a"), (0.1, b"b"), (0.5, b"c")], now=10.0, last=0.0)
    assert timed == [(10.3, b"a"), (10.3, b"b"), (10.5, b"c")] and last == 10.5
    timed, last = in_order([(0.0, b"d")], now=10.1, last=last)  # read later, still after c
    assert timed == [(10.5, b"d")] and last == 10.5
    assert in_order([], now=11.0, last=10.5) == ([], 10.5)


def test_a_new_kind_registers_itself_and_describes_itself_from_its_summary() -> None:
    class EchoToxic(Toxic, kind="echo_for_test", parameters={"times": 2}):
        summary = "{stream} echoed {times} times"

    try:
        assert TOXICS["echo_for_test"] is EchoToxic and EchoToxic.kind == "echo_for_test"
        record = FaultRecord("e", "echo_for_test", "upstream", {"times": 3.0}, applied_at=0.0)
        assert record.describe() == "upstream echoed 3 times"
        with pytest.raises(ValueError, match="has no attribute loud"):
            EchoToxic.validate({"loud": 1})
    finally:
        del TOXICS["echo_for_test"]
    unknown = FaultRecord("x", "gremlins", "downstream", {"bite": 2.5}, applied_at=0.0)
    assert unknown.describe() == "downstream gremlins (bite=2.5)"


def test_the_flapping_schedule_draws_each_phase_from_the_seed_within_its_variation() -> None:
    schedule = FlappingSchedule(up_ms=200, down_ms=50, variation=0.1, rng=random.Random(4))
    downs = [schedule.down_s() for _ in range(20)]
    assert all(0.045 <= length <= 0.055 for length in downs) and len(set(downs)) > 1
    assert all(0.18 <= schedule.up_s() <= 0.22 for _ in range(20))
    assert schedule.attributes == {"up_ms": 200, "down_ms": 50, "variation": 0.1}
    steady = FlappingSchedule(up_ms=30, down_ms=10, variation=0, rng=random.Random(4))
    assert (steady.down_s(), steady.up_s()) == (0.01, 0.03)
    assert phase_length_s(100, 0.5, random.Random(9)) == phase_length_s(100, 0.5, random.Random(9))


@pytest.mark.parametrize(
    ("up_ms", "down_ms", "variation", "message"),
    [
        (0, 10, 0, "flapping up_ms must be a finite number above 0, not 0"),
        (10, float("inf"), 0, "flapping down_ms must be a finite number above 0, not inf"),
        (10, 10, 1, r"flapping variation must be a fraction from 0 up to \(not including\) 1, not 1"),
        (10, 10, -0.1, "flapping variation must be"),
    ],
)
def test_the_flapping_schedule_refuses_lengths_it_cannot_keep(
    up_ms: float, down_ms: float, variation: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        FlappingSchedule(up_ms=up_ms, down_ms=down_ms, variation=variation, rng=random.Random(0))


def test_flapping_goes_down_first_then_up_and_so_on() -> None:
    changes: list[str] = []

    async def scenario() -> None:
        async def down() -> None:
            changes.append("down")

        async def up() -> None:
            changes.append("up")

        schedule = FlappingSchedule(up_ms=1, down_ms=1, variation=0, rng=random.Random(0))
        task = asyncio.create_task(flap(schedule, down, up))
        await eventually(lambda: len(changes) >= 5, what="five changes")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())
    assert changes[:5] == ["down", "up", "down", "up", "down"]


def test_the_handle_hops_onto_the_loop_and_reaches_the_proxy_itself() -> None:
    loop = BackgroundLoop("proxy handle test").start()
    try:
        proxy = FaultProxy("service", "127.0.0.1", 1, rng=random.Random(0))
        loop.run(proxy.start())
        handle = ProxyHandle(loop, proxy)
        assert handle.service is proxy and handle.port == proxy.port
        handle.upstream_port = 2
        assert proxy.upstream_port == 2
        toxic_record = handle.add_toxic("latency", latency=10)
        assert toxic_record.name == "latency_downstream" and toxic_record.stream == "downstream"
        down = handle.down()
        assert handle.down() is down and proxy.is_down
        assert handle.start_flapping(up_ms=1000, down_ms=1000).kind == "flapping"
        with pytest.raises(ValueError, match="already flapping"):
            handle.start_flapping(up_ms=10, down_ms=10)
        handle.heal()
        assert not proxy.is_down and not any(fault.active for fault in handle.faults())
        assert [fault.kind for fault in handle.faults()][:3] == ["latency", "down", "flapping"]
        handle.add_toxic("timeout", timeout=0)
        handle.heal_after(1)

        async def healed() -> None:
            await eventually(lambda: not any(fault.active for fault in proxy.faults), what="the timed heal")

        loop.run(healed())
        with pytest.raises(AttributeError):
            handle.uptream_port = 3  # type: ignore[attr-defined]  # a misspelt setting is not lost silently
        loop.run(proxy.close())
    finally:
        assert loop.stop() == []
