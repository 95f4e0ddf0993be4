"""The fault proxy's control: down and up, toxics added and removed, flapping, timed heals, and the journal
of every fault applied and lifted. The bytes themselves are moved by ``relay.Relay``.
"""

from __future__ import annotations

import asyncio
import random
import time

from support.services.journal import Journal
from support.services.proxy.faults import DOWN, FLAPPING, FaultRecord
from support.services.proxy.flapping import FlappingSchedule, flap
from support.services.proxy.relay import Relay, TaskSet
from support.services.proxy.toxics import STREAMS, TOXICS, Stream, Toxic

__all__ = ["FaultProxy"]


class FaultProxy:
    """Listens on ``listen_host``:``port`` and forwards each connection to ``upstream_host``:``upstream_port``
    through the toxics added, journaling every fault applied and lifted (and each connection) in ``journal``.

    Randomness (latency jitter, slice sizes, flapping lengths) is drawn from ``rng``, so a seed replays a run.
    All methods must be called from coroutines on the one event loop the proxy runs on (``ProxyHandle``
    calls them from other threads).
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
        self._rng = rng
        self._journal = journal
        self._relay = Relay(name, listen_host, upstream_host, upstream_port, self._toxics_on, journal)
        self._started = False
        self._down: FaultRecord | None = None
        self._toxics: dict[str, Toxic] = {}
        self._records: dict[str, FaultRecord] = {}
        self._faults: list[FaultRecord] = []
        # Flapping and timed heals: not ended by down() along with the connections' tasks, only by
        # lifting them, reset() or close().
        self._schedules = TaskSet(name)
        self._flapping: FaultRecord | None = None

    # --- state --------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the proxy listens on; ``RuntimeError`` before the first ``start``."""
        if self._relay.port is None:
            raise RuntimeError(f"the {self.name} fault proxy has not been started, so it has no port yet")
        return self._relay.port

    @property
    def upstream_port(self) -> int:
        """The service's port; changing it (to move the service) applies to new connections."""
        return self._relay.upstream_port

    @upstream_port.setter
    def upstream_port(self, port: int) -> None:
        self._relay.upstream_port = port

    @property
    def faults(self) -> list[FaultRecord]:
        """Every fault applied since the last reset, lifted or not, oldest first."""
        return list(self._faults)

    @property
    def active_connections(self) -> int:
        return len(self._relay.connections)

    @property
    def bytes_forwarded(self) -> dict[Stream, int]:
        return dict(self._relay.bytes_forwarded)

    @property
    def bytes_dropped(self) -> dict[Stream, int]:
        """Bytes the toxics discarded, so a test can tell "dropped" from "not sent yet"."""
        return dict(self._relay.bytes_dropped)

    @property
    def is_down(self) -> bool:
        return self._down is not None

    # --- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen. The first start picks an ephemeral port; later ones re-bind it, so clients that
        were given the address can reconnect. A proxy that is down stays down until ``up()``."""
        if self._down is None and not self._relay.listening:
            await self._relay.listen()
        self._started = True

    async def close(self) -> None:
        """Stop listening, abort every connection and finish every task the proxy started. Idempotent."""
        await self._schedules.cancel_all()
        self._started = False
        self._relay.stop_listening()
        self._relay.abort_connections("proxy closed")
        await self._relay.settle_tasks()

    async def down(self) -> FaultRecord:
        """Toxiproxy's ``enabled=false``: reset every live connection on both sides, refuse new ones."""
        if self._down is not None:
            return self._down
        self._down = self._apply(FaultRecord(DOWN, DOWN, None, {}, time.monotonic()))
        self._relay.stop_listening()
        self._relay.abort_connections("proxy down")
        await self._relay.settle_tasks()
        return self._down

    async def up(self) -> None:
        """Lift ``down``: listen again on the same port (if the proxy is started)."""
        if self._down is None:
            return
        record, self._down = self._down, None
        self._lift(record)
        if self._started and not self._relay.listening:
            await self._relay.listen()

    async def reset(self) -> None:
        """Between scenarios: no toxics, up, no connections, no fault history, counters at zero."""
        await self._schedules.cancel_all()
        if self._flapping is not None:
            self._lift(self._flapping)
            self._flapping = None
        # Connections go first so no byte slips through between lifting a toxic and aborting.
        self._relay.abort_connections("proxy reset")
        for name in list(self._toxics):
            self.remove_toxic(name)
        await self._relay.settle_tasks()
        await self.up()
        self._faults.clear()
        self._relay.reset_counters()

    # --- schedules ----------------------------------------------------------------------------------

    def start_flapping(self, *, up_ms: float, down_ms: float, variation: float = 0.0) -> FaultRecord:
        """The link goes down and up, over and over, until ``stop_flapping`` or ``heal``: down at once for
        about ``down_ms``, then up for about ``up_ms``, each length drawn from the proxy's seeded rng within
        ``variation`` (a fraction) of its mean (``FlappingSchedule``). Every ``down`` is journaled as a fault
        of its own. ``ValueError`` if already flapping or for lengths the schedule refuses."""
        if self._flapping is not None:
            raise ValueError(f"the {self.name} fault proxy is already flapping")
        schedule = FlappingSchedule(up_ms=up_ms, down_ms=down_ms, variation=variation, rng=self._rng)
        record = FaultRecord(FLAPPING, FLAPPING, None, schedule.attributes, time.monotonic())
        self._flapping = self._apply(record)
        self._schedules.spawn(flap(schedule, self.down, self.up), "flapping")
        return self._flapping

    async def stop_flapping(self) -> None:
        """Lift flapping, leaving the link up."""
        record, self._flapping = self._flapping, None
        if record is None:
            return
        for task in self._schedules.labelled("flapping"):
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._lift(record)
        await self.up()

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

        self._schedules.spawn(later(), "heal")

    # --- toxics -------------------------------------------------------------------------------------

    def add_toxic(
        self, kind: str, *, stream: Stream = "downstream", name: str | None = None, **attributes: float
    ) -> FaultRecord:
        """Apply a toxic of ``kind`` (a key of ``TOXICS``) to new and live connections. Names default to
        ``f"{kind}_{stream}"``. ``ValueError`` for an unknown kind or stream, a name in use, or attributes
        the kind refuses."""
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
        for link in self._relay.live_links(stream):
            toxic.attach(link)
        return record

    def remove_toxic(self, name: str) -> None:
        """Lift a toxic; bytes read from now on are forwarded normally on live connections too. ``KeyError``
        if there is no toxic of that name."""
        toxic = self._toxics.pop(name, None)
        if toxic is None:
            raise KeyError(f"the {self.name} fault proxy has no toxic named {name!r}")
        for link in self._relay.live_links(toxic.stream):
            toxic.detach(link)
        self._lift(self._records.pop(name))

    # --- internals ----------------------------------------------------------------------------------

    def _toxics_on(self, stream: Stream) -> list[Toxic]:
        return [toxic for toxic in self._toxics.values() if toxic.stream == stream]

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
