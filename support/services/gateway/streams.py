"""Push streams: a gateway node publishing numbered messages (data ``{"n": 1}``, ``{"n": 2}``, …) on a channel
at a steady rate, until stopped, to every session reading the channel."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from support.services.gateway.server import Gateway


@dataclass
class PushStream:
    channel: str
    rate_per_s: float
    sent: int = 0
    task: asyncio.Task[None] | None = None


class PushStreams:
    """The streams gateway node ``node`` is running, at most one per channel."""

    def __init__(self, node: Gateway) -> None:
        self._node = node
        self._running: dict[str, PushStream] = {}

    def start(self, channel: str, rate_per_s: float) -> None:
        """Push messages on ``channel`` at ``rate_per_s`` messages a second ("stream started");
        ``RuntimeError`` when a stream already runs on that channel. Call it on the gateway's loop."""
        if channel in self._running:
            raise RuntimeError(f"a stream is already running on {channel!r}")
        stream = PushStream(channel=channel, rate_per_s=rate_per_s)
        stream.task = asyncio.get_running_loop().create_task(self._run(stream), name=f"stream:{channel}")
        self._running[channel] = stream
        self._node.journal.record("stream started", channel=channel, rate_per_s=rate_per_s)

    async def stop(self, channel: str) -> int:
        """Stop the stream on ``channel`` ("stream stopped") and return how many messages it sent;
        ``KeyError`` when none runs there."""
        stream = self._running.pop(channel)
        await _cancel(stream)
        self._node.journal.record("stream stopped", channel=channel, sent=stream.sent)
        return stream.sent

    async def cancel_all(self) -> None:
        """Stop every stream without a word in the journal (a reset, a close)."""
        streams, self._running = list(self._running.values()), {}
        for stream in streams:
            await _cancel(stream)

    async def _run(self, stream: PushStream) -> None:
        interval = 1 / stream.rate_per_s
        next_at = asyncio.get_running_loop().time()
        while True:
            stream.sent += 1
            await self._node.publish(stream.channel, {"n": stream.sent})
            # Pace against a schedule rather than sleeping a fixed interval, so a slow send doesn't
            # lower the rate.
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - asyncio.get_running_loop().time()))


async def _cancel(stream: PushStream) -> None:
    if stream.task is not None:
        stream.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream.task
