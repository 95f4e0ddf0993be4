"""Places on the network where a client's connection goes nowhere, for the ways opening a connection fails.

- ``SilentHost`` accepts TCP connections on 127.0.0.1 and never says a word, so an opening handshake with it
  times out;
- ``RefusingPort`` holds a port on 127.0.0.1 without listening on it, so every connection to it is refused
  (the port stays ours, so nothing else can start answering there);
- ``UNRESOLVABLE_HOST`` is a name under ``.invalid``, which RFC 2606 reserves so that it never resolves.

All are on loopback, on ephemeral ports, and closed with everything they accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from support.services.journal import Journal

UNRESOLVABLE_HOST = "gateway.invalid"


class SilentHost:
    """A host that takes every TCP connection and never answers; each one is journaled as it comes in."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._server: asyncio.Server | None = None
        self._held: set[asyncio.StreamWriter] = set()
        self._holders: set[asyncio.Task[None]] = set()
        self.accepted = 0

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the silent host has not been started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._held.add(writer)
        holder = asyncio.current_task()
        if holder is not None:
            self._holders.add(holder)
        self.journal.record("connection left unanswered", host="silent host", connection=self.accepted)
        try:
            while await reader.read(4096):  # whatever the client says goes unanswered, until it hangs up
                pass
        except ConnectionError:
            pass
        finally:
            self._held.discard(writer)
            writer.transport.abort()
            if holder is not None:
                self._holders.discard(holder)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for writer in list(self._held):
            writer.transport.abort()
        if self._holders:
            await asyncio.wait(set(self._holders), timeout=5)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)


class RefusingPort:
    """A port on 127.0.0.1 that is bound but not listening: connecting to it is refused at once."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            self._socket.bind(("127.0.0.1", 0))
        except OSError:
            self._socket.close()
            raise
        self.port = int(self._socket.getsockname()[1])

    def close(self) -> None:
        self._socket.close()
