"""The toxic catalogue: faults acting on one stream of a proxied connection, in Toxiproxy's vocabulary.

A *toxic* acts on one *stream*: ``upstream`` is client -> service, ``downstream`` is service -> client. Each
kind takes the attributes Toxiproxy gives it (``latency``/``jitter`` in ms, ``rate`` in KB/s, ``timeout`` in
ms, ``bytes``, ``average_size``/``size_variation`` in bytes with ``delay`` in µs, ``slow_close``'s ``delay``
in ms). Toxiproxy's ``toxicity`` (the share of connections a toxic acts on) is always 1 here: every toxic
acts on every connection, live ones included.

Toxics do no I/O of their own: they act through the small ``ToxicLink`` interface the relay's ``Link``
implements, and the arithmetic they share (bandwidth pacing, slicing) is in plain functions below.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Protocol, get_args

__all__ = [
    "STREAMS",
    "TOXICS",
    "BandwidthToxic",
    "LatencyToxic",
    "LimitDataToxic",
    "Parameters",
    "Piece",
    "ResetPeerToxic",
    "SlicerToxic",
    "SlowCloseToxic",
    "Stream",
    "TimeoutToxic",
    "Toxic",
    "ToxicLink",
    "pace",
    "plain",
    "slice_sizes",
    "sliced",
    "through",
]

Stream = Literal["upstream", "downstream"]  # upstream: client -> service; downstream: service -> client
STREAMS: tuple[Stream, ...] = get_args(Stream)

# Bytes for a link to deliver, with the extra delay in seconds that the toxics added to them.
Piece = tuple[float, bytes]

# Each attribute a toxic takes, with its default; None means the attribute is required.
Parameters = dict[str, float | int | None]


def plain(value: float) -> str:
    """A number as a person writes it: ``200`` not ``200.0``, ``12.5`` as it is."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class ToxicLink(Protocol):
    """What a toxic may do to the link (one stream of one connection) it acts on; ``relay.Link`` is the real
    one. Every call is made on the event loop."""

    def schedule(self, toxic: Toxic, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``delay`` seconds unless the toxic is removed or the link closes first."""
        ...

    def state(self, toxic: Toxic) -> dict[str, Any]:
        """Scratch space for a toxic that keeps per-connection counts, gone with the toxic or the link."""
        ...

    def now(self) -> float:
        """The clock, in seconds, that chunk delays are measured against."""
        ...

    def finish(self, reason: str) -> None:
        """End the link once the bytes let through so far are delivered."""
        ...

    def forget(self, toxic: Toxic) -> None:
        """Cancel the toxic's timers and drop its state."""
        ...

    def close(self, reason: str) -> None:
        """Close the connection cleanly (FIN) on both sides."""
        ...

    def reset(self, reason: str) -> None:
        """Reset the connection (RST) on both sides."""
        ...


TOXICS: dict[str, type[Toxic]] = {}


class Toxic:
    """A fault acting on one stream. A subclass names its kind and attributes in its class line, which adds it
    to ``TOXICS`` (the kinds ``FaultProxy.add_toxic`` knows)::

        class SlowCloseToxic(Toxic, kind="slow_close", parameters={"delay": None}):

    ``parameters`` maps each attribute name to its default; ``None`` means the attribute is required.
    Attributes not listed are refused, so a misspelt attribute fails the step instead of being ignored.
    ``summary`` describes a fault of this kind for a report, with ``{stream}`` and each attribute as holes;
    a kind whose words depend on its values overrides ``describe`` instead.

    Hooks, all called on the event loop:
    - ``attach(link)``: the toxic starts acting on a link (a new connection, or a live one when the
      toxic is added). Timers started here with ``link.schedule`` are cancelled by ``detach``.
    - ``process(link, chunk)``: what to deliver for one chunk read from the stream's source, as pieces
      with extra delays; return ``[]`` to drop it. Pieces go to the next toxic on the stream, in the
      order the toxics were added, and the delays add up (see ``through``).
    - ``detach(link)``: the toxic was removed while the link is live.
    - ``close_delay(link)``: seconds to hold back the end of the stream (the source closed, or a toxic
      ended the link) before it is passed on; the delays of the stream's toxics add up.
    """

    kind: ClassVar[str]
    parameters: ClassVar[Parameters] = {}
    summary: ClassVar[str] = "{stream} {kind}"

    def __init_subclass__(cls, *, kind: str, parameters: Parameters | None = None, **rest: Any) -> None:
        super().__init_subclass__(**rest)
        cls.kind = kind
        cls.parameters = dict(parameters or {})
        TOXICS[kind] = cls

    def __init__(
        self, name: str, stream: Stream, attributes: Mapping[str, float], rng: random.Random
    ) -> None:
        self.name = name
        self.stream = stream
        self.rng = rng
        self.attributes = self.validate(attributes)

    @classmethod
    def validate(cls, attributes: Mapping[str, float]) -> dict[str, float | int]:
        """The attributes with defaults filled in; ``ValueError`` for an unknown, missing, non-numeric,
        negative or infinite one."""
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
        """Plain English for a report, e.g. "downstream close held back 200 ms"."""
        values = {key: plain(value) for key, value in attributes.items()}
        return cls.summary.format(stream=stream, kind=cls.kind, **values)

    def attach(self, link: ToxicLink) -> None:
        pass

    def detach(self, link: ToxicLink) -> None:
        link.forget(self)

    def process(self, link: ToxicLink, chunk: bytes) -> list[Piece]:
        return [(0.0, chunk)]

    def close_delay(self, link: ToxicLink) -> float:
        return 0.0


def through(toxics: list[Toxic], link: ToxicLink, chunk: bytes) -> list[Piece]:
    """One chunk passed through a stream's toxics in the order they were added: each toxic processes every
    piece the one before it let through, and the delays (seconds) add up. ``[]`` when they dropped it all."""
    pieces: list[Piece] = [(0.0, chunk)]
    for toxic in toxics:
        pieces = [(delay + extra, out) for delay, data in pieces for extra, out in toxic.process(link, data)]
    return pieces


class LatencyToxic(Toxic, kind="latency", parameters={"latency": None, "jitter": 0}):
    """Delays every chunk by ``latency`` ms, give or take a uniform ``jitter`` ms.

    The link never reorders: a chunk is delivered no earlier than the chunk before it, so jitter
    stretches the gaps between chunks but cannot swap them (TCP would never deliver out of order).
    """

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        text = f"{stream} latency of {plain(attributes['latency'])} ms"
        jitter = attributes.get("jitter", 0)
        return text + (f" ± {plain(jitter)} ms" if jitter else "")

    def draw_delay(self) -> float:
        """One chunk's delay in seconds, drawn from the injected rng so a seed replays a run."""
        latency = self.attributes["latency"]
        jitter = self.attributes["jitter"]
        offset = self.rng.uniform(-jitter, jitter) if jitter else 0.0
        return max(0.0, latency + offset) / 1000

    def process(self, link: ToxicLink, chunk: bytes) -> list[Piece]:
        return [(self.draw_delay(), chunk)]


class TimeoutToxic(Toxic, kind="timeout", parameters={"timeout": None}):
    """Drops every byte on the stream. With ``timeout`` 0 the connection stays open (a half-open
    blackhole, the hardest case for a client to notice); otherwise it is closed after ``timeout`` ms.
    """

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        timeout = attributes["timeout"]
        if not timeout:
            return f"half-open: {stream} bytes dropped"
        return f"{stream} bytes dropped, connection closed after {plain(timeout)} ms"

    def attach(self, link: ToxicLink) -> None:
        timeout = self.attributes["timeout"]
        if timeout > 0:
            link.schedule(self, timeout / 1000, functools.partial(link.close, f"{self.name} timed out"))

    def process(self, link: ToxicLink, chunk: bytes) -> list[Piece]:
        return []


def pace(chunk: bytes, bytes_per_s: float, busy_until: float, now: float) -> tuple[list[Piece], float]:
    """Bandwidth pacing: ``chunk`` cut into slices of at most a tenth of a second's worth, each delayed
    (seconds from ``now``) until a link sending ``bytes_per_s`` would have finished sending it. The link is
    busy until ``busy_until`` with the bytes before these (a link idle since then starts at ``now``).
    Returns the pieces and when the link is free again."""
    sent_at = max(busy_until, now)
    step = max(1, int(bytes_per_s / 10))
    pieces: list[Piece] = []
    for start in range(0, len(chunk), step):
        part = chunk[start : start + step]
        sent_at += len(part) / bytes_per_s
        pieces.append((sent_at - now, part))
    return pieces, sent_at


class BandwidthToxic(Toxic, kind="bandwidth", parameters={"rate": None}):
    """Lets ``rate`` KB/s through (1 KB = 1000 bytes, as in Toxiproxy): each chunk is delivered in slices of
    at most a tenth of a second's worth, each when the link would have finished sending it (``pace``)."""

    summary = "{stream} bandwidth limited to {rate} KB/s"

    @classmethod
    def validate(cls, attributes: Mapping[str, float]) -> dict[str, float | int]:
        values = super().validate(attributes)
        if values["rate"] <= 0:
            raise ValueError("bandwidth rate must be above 0 KB/s (to stop all bytes, use a timeout toxic)")
        return values

    def process(self, link: ToxicLink, chunk: bytes) -> list[Piece]:
        state, now = link.state(self), link.now()
        pieces, state["free_at"] = pace(chunk, self.attributes["rate"] * 1000, state.get("free_at", now), now)
        return pieces


class ResetPeerToxic(Toxic, kind="reset_peer", parameters={"timeout": 0}):
    """Lets bytes through, then resets the connection (TCP RST, "connection reset by peer") ``timeout`` ms
    after it was opened, or after the toxic was added to a live one; with 0, at once."""

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        timeout = attributes["timeout"]
        when = f"after {plain(timeout)} ms" if timeout else "at once"
        return f"connections reset by peer {when} ({stream})"

    def attach(self, link: ToxicLink) -> None:
        reason = f"{self.name}: reset by peer"
        link.schedule(self, self.attributes["timeout"] / 1000, functools.partial(link.reset, reason))


class LimitDataToxic(Toxic, kind="limit_data", parameters={"bytes": None}):
    """Lets the first ``bytes`` of each connection's stream through, then closes the connection."""

    summary = "{stream} data cut after {bytes} bytes, then the connection closed"

    def process(self, link: ToxicLink, chunk: bytes) -> list[Piece]:
        state = link.state(self)
        allowed = int(self.attributes["bytes"]) - state.get("passed", 0)
        if len(chunk) < allowed:
            state["passed"] = state.get("passed", 0) + len(chunk)
            return [(0.0, chunk)]
        state["passed"] = int(self.attributes["bytes"])
        link.finish(f"{self.name}: {plain(self.attributes['bytes'])} bytes passed")
        return [(0.0, chunk[: max(allowed, 0)])]


def slice_sizes(total: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """The sizes (bytes) ``total`` bytes are cut into: each ``average`` give or take up to ``variation``
    (uniform whole numbers drawn from ``rng``), at least 1, the last one what is left."""
    sizes: list[int] = []
    while total > 0:
        size = min(total, max(1, average + rng.randint(-variation, variation)))
        sizes.append(size)
        total -= size
    return sizes


def sliced(chunk: bytes, sizes: list[int], gap_s: float) -> list[Piece]:
    """``chunk`` cut into pieces of ``sizes`` (bytes), each ``gap_s`` seconds after the one before, the first
    at once."""
    pieces: list[Piece] = []
    start = 0
    for index, size in enumerate(sizes):
        pieces.append((index * gap_s, chunk[start : start + size]))
        start += size
    return pieces


class SlicerToxic(Toxic, kind="slicer", parameters={"average_size": None, "size_variation": 0, "delay": 0}):
    """Slices every chunk into pieces of ``average_size`` bytes, give or take ``size_variation``, each sent
    ``delay`` microseconds after the one before (as a network that fragments and trickles would)."""

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
                f"slicer size_variation ({plain(variation)}) must be below average_size ({plain(average)})"
            )
        return values

    @classmethod
    def describe(cls, stream: str | None, attributes: Mapping[str, float | int]) -> str:
        size = f"{plain(attributes['average_size'])} bytes"
        if attributes["size_variation"]:
            size += f" ± {plain(attributes['size_variation'])}"
        return f"{stream} sliced into pieces of {size}, {plain(attributes['delay'])} µs apart"

    def slice_sizes(self, total: int) -> list[int]:
        """The sizes one chunk of ``total`` bytes is cut into, drawn from the injected rng."""
        average, variation = int(self.attributes["average_size"]), int(self.attributes["size_variation"])
        return slice_sizes(total, average, variation, self.rng)

    def process(self, link: ToxicLink, chunk: bytes) -> list[Piece]:
        return sliced(chunk, self.slice_sizes(len(chunk)), self.attributes["delay"] / 1_000_000)


class SlowCloseToxic(Toxic, kind="slow_close", parameters={"delay": None}):
    """Holds back the end of the stream ``delay`` ms before passing the close on; bytes are untouched."""

    summary = "{stream} close held back {delay} ms"

    def close_delay(self, link: ToxicLink) -> float:
        return self.attributes["delay"] / 1000
