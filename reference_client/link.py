"""The thin network side of the session: the WebSocket connection it runs on now, and carrying out what the
sans-I/O session core (``reference_client.session_core``) answers with.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from reference_client.auth import TokenManager
from reference_client.coordination import LiveConfig, Recovery
from reference_client.events import EventEmitter
from reference_client.session_core import ClientSession, Emit, Reaction
from reference_client.states import StateMachine


class Link:
    """The client's hold on the gateway: its session, the connection that carries it (None between
    connections) and an event set whenever the outbox is empty (what a graceful shutdown waits for)."""

    def __init__(self, session: ClientSession, events: EventEmitter) -> None:
        self.session = session
        self._events = events
        self.connection: ClientConnection | None = None
        self.drained = asyncio.Event()
        self.drained.set()

    def announce(self, events: Iterable[Emit]) -> None:
        """Emit the session's events, in order."""
        for event in events:
            self._events.emit(event.name, **event.data)

    async def carry_out(self, reaction: Reaction, connection: ClientConnection) -> None:
        """Emit the reaction's events, then send its frames on ``connection``. A connection that closed
        meanwhile raises ``ConnectionClosed``: the caller's connection has ended."""
        self.announce(reaction.events)
        try:
            for frame in reaction.frames:
                await connection.send(frame)
        finally:
            self.outbox_changed()

    async def send_if_open(self, reaction: Reaction) -> None:
        """Like ``carry_out``, on whatever connection there is now. Frames that can't go now go after the
        reconnect (publishes stay in the outbox until acknowledged), so a closed or missing connection is
        not an error here."""
        self.announce(reaction.events)
        connection = self.connection
        if connection is not None:
            with contextlib.suppress(ConnectionClosed):
                for frame in reaction.frames:
                    await connection.send(frame)

    def outbox_changed(self) -> None:
        """Set ``drained`` if the outbox is now empty."""
        if self.session.drained:
            self.drained.set()


@dataclass(frozen=True)
class Wiring:
    """What the connection code (``Connector``, ``Supervisor``) shares with the client that made it: the link,
    the connection state, the configuration in force, the event emitter, the tokens and the recovery."""

    link: Link
    states: StateMachine
    live: LiveConfig
    events: EventEmitter
    auth: TokenManager
    recovery: Recovery
