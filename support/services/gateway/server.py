"""A gateway node: a real WebSocket server on 127.0.0.1 speaking the suite's protocol, started, stopped
(gracefully or as a crash), restarted on the same port keeping or losing its sessions, and reset between
scenarios. Thin network code around the protocol core (protocol.py), like ``websockets``' asyncio server
around its sans-I/O protocol: the handshake, the connections, push streams and programmed misbehaviour each
have a module of their own; this one serves them and answers what steps ask. Everything it does is journaled.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Callable
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve

from realtime_protocol import CloseCode
from realtime_protocol.secrets import masked_logger
from realtime_protocol.structured_log import ConnectionCorrelation
from support.services.auth.tokens import TokenAuthority
from support.services.gateway.connection import HeartbeatHearingConnection, Link, deliver, link_of
from support.services.gateway.handshake import SUBPROTOCOLS, Handshake
from support.services.gateway.misbehaviour import Misbehaviour
from support.services.gateway.protocol import GatewayProtocol
from support.services.gateway.sessions import GatewaySession, ResumeWindow, SessionStore
from support.services.gateway.streams import PushStreams
from support.services.journal import Journal
from support.services.loopback import HOST, LoopbackService

StopMode = Literal["graceful", "crash"]
# websockets writes handshake headers (bearer tokens among them) at debug level: mask them.
_WIRE_LOG = masked_logger("support.services.gateway.websocket")
_WIRE_LOG.addFilter(ConnectionCorrelation())


class Gateway(LoopbackService):
    """One gateway node. Give another node the same ``store`` and it serves the same sessions (a rolling
    update moves clients over). ``resume_window_ms``: how long a session outlives its connection;
    ``max_frame_bytes``: the largest message it takes (a bigger one closes with 1009); ``ssl_context``: wss
    only; ``is_revoked(token_id)`` and ``revocation_list_reachable()`` ask the auth service."""

    service = "gateway"
    schemes = ("ws", "wss")
    path = "/realtime"

    def __init__(
        self,
        authority: TokenAuthority,
        journal: Journal,
        *,
        resume_window_ms: float,
        rng: random.Random,
        is_revoked: Callable[[str], bool] = lambda token_id: False,
        max_outbox: int = 10_000,
        max_frame_bytes: int = 1 << 20,
        ssl_context: ssl.SSLContext | None = None,
        store: SessionStore | None = None,
        revocation_list_reachable: Callable[[], bool] = lambda: True,
    ) -> None:
        self.authority = authority
        self.journal = journal  # a node of two journals through a TaggedJournal naming it
        self.store = store if store is not None else SessionStore()
        self.transcript = self.store.transcript
        window = ResumeWindow(resume_window_ms, max_outbox)
        self.protocol = GatewayProtocol(self.store, authority, window, rng, is_revoked)
        self.ssl_context = ssl_context
        self.max_frame_bytes = max_frame_bytes
        self.revocation_list_reachable = revocation_list_reachable
        self.subprotocols: tuple[str, ...] = SUBPROTOCOLS  # what it speaks, read at every handshake
        self.compression = True  # accept permessage-deflate when a client offers it, read at every handshake
        self.handshake = Handshake(self)
        self.misbehaviour = Misbehaviour(self)
        self.streams = PushStreams(self)
        self.resume_timers = ResumeTimers(self)
        self._server: Server | None = None
        self._links: dict[ServerConnection, Link] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self._heartbeats: list[tuple[float, int]] = []  # (when, connection number) of each ping heard

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def resume_window_ms(self) -> float:
        """How long a session outlives its connection, in milliseconds; settable between scenarios."""
        return self.protocol.window.window_ms

    @resume_window_ms.setter
    def resume_window_ms(self, window_ms: float) -> None:
        self.protocol.window.window_ms = window_ms

    async def start(self) -> None:
        """Listen (journaled as "gateway started"): the first start takes an ephemeral port, later ones the
        same port again. Idempotent."""
        if self._server is not None:
            return
        self._server = await serve(
            self._handle,
            HOST,
            self._port,
            process_request=self.handshake.process_request,
            ping_interval=None,  # the client drives heartbeats; the gateway just answers pings
            max_size=self.max_frame_bytes,
            select_subprotocol=self.handshake.select_subprotocol,
            compression=None,  # instead, deflate that can be switched off between connections:
            extensions=self.handshake.extensions(),
            close_timeout=1,
            logger=_WIRE_LOG,
            ssl=self.ssl_context,
            create_connection=HeartbeatHearingConnection,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self.journal.record("gateway started", port=self._port)

    async def stop(
        self, mode: StopMode = "graceful", code: int = CloseCode.GOING_AWAY, keep_sessions: bool = True
    ) -> None:
        """Stop listening and end every connection: with a close frame carrying ``code`` (graceful) or
        without (crash); sessions are kept for a restart unless ``keep_sessions`` is False. Journaled as
        "gateway stopped". Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close(close_connections=False)
        connections = [
            link.connection
            for session in self.store.sessions.values()
            if (link := link_of(session)) and link.connection in server.all_connections  # not another node's
        ]
        connections += [c for c in server.connections if c not in connections]
        for connection in connections:
            if mode == "crash":
                connection.transport.abort()
            else:
                await connection.close(code, "gateway shutting down")
        await server.wait_closed()
        await self._wait_for_handlers()
        if not keep_sessions:
            self.store.sessions.clear()
        self.journal.record(
            "gateway stopped",
            mode=mode,
            code=None if mode == "crash" else int(code),
            kept_sessions=keep_sessions,
        )

    async def restart(self, mode: StopMode = "graceful", keep_sessions: bool = True) -> None:
        await self.stop(mode=mode, keep_sessions=keep_sessions)
        await self.start()

    async def reset(self) -> None:
        """Between scenarios: no streams, no sessions, no misbehaviour, an empty journal and transcript,
        connections numbered from 1 again, the listener up."""
        await self.streams.cancel_all()
        for session in self.store.sessions.values():
            if (link := link_of(session)) is not None:
                link.connection.transport.abort()
        await self._wait_for_handlers()
        await self.resume_timers.cancel_all()
        self.misbehaviour.reset()
        self.handshake.clear()
        self._heartbeats.clear()
        if self._server is None:
            await self.start()
        self.journal.clear()
        self.store.clear()

    async def close(self) -> None:
        """For good: no streams, every connection dropped, no sessions."""
        await self.streams.cancel_all()
        await self.stop(mode="crash", keep_sessions=False)
        await self.resume_timers.cancel_all()

    async def _wait_for_handlers(self) -> None:
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=5)

    async def _handle(self, connection: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        claims, trouble = self.handshake.take(connection)
        link = self._links[connection] = Link(self, connection, next(self.store.connection_numbers), claims)
        if isinstance(connection, HeartbeatHearingConnection):
            connection.on_ping = lambda: self._heartbeats.append((time.monotonic(), link.number))
        try:
            await link.run(trouble)
        finally:
            self._links.pop(connection, None)
            self._handlers.discard(task)

    # -- what steps observe -----------------------------------------------------------------------

    def links(self) -> list[Link]:
        """The connections this node serves now, oldest first."""
        return list(self._links.values())

    def session_ids(self) -> list[str]:
        """The sessions held (by this node and those sharing its store), oldest first."""
        return self.store.ids()

    def subscriptions_of(self, session_id: str) -> set[str]:
        return self.store.subscriptions_of(session_id)

    def messages_sent(self, session_id: str) -> int:
        """How many messages the gateway has numbered for a session (0 for a session it does not hold)."""
        return self.store.messages_sent(session_id)

    def heartbeats(self) -> list[float]:
        """When each heartbeat (ping) from a client arrived since the last reset, oldest first."""
        return [at for at, _ in self._heartbeats]

    def health(self) -> dict[str, Any]:
        """``{"status": "up" | "degraded", "checks": {…}}``, as ``GET /health`` answers: up while the gateway
        can reach the auth service's revocation list (without it, revoked tokens would get in), degraded when
        it cannot."""
        reachable = self.revocation_list_reachable()
        checks = {
            "revocation list": "ok" if reachable else "the auth service cannot be reached",
            "node": "accepting connections" if self.running else "not listening",
            "live sessions": len(self.store.sessions),
        }
        return {"status": "up" if reachable else "degraded", "checks": checks}

    # -- what steps make it do --------------------------------------------------------------------

    async def publish(self, channel: str, data: Any) -> int:
        """Send a message (``data``, any JSON value) to every session subscribed to the channel, connected or
        not; returns how many sessions it reached."""
        recipients, reply = self.protocol.recipients(channel, time.monotonic())
        for note in reply.notes():
            self.journal.record(note.kind, **note.facts)
        for session in recipients:
            await deliver(session, channel, data)
        return len(recipients)

    async def close_connections(self, code: int, reason: str) -> int:
        """Close every live connection with the given code; returns how many were closed."""
        links = [link for session in self.store.sessions.values() if (link := link_of(session))]
        for link in links:
            await link.connection.close(code, reason)
        return len(links)

    async def drop_revoked(self) -> int:
        """Close every live connection whose access token has been revoked since it was shown, as for an
        expired token (4001, "token revoked"); returns how many. Each close waits for the client's answer, so
        it has heard why."""
        revoked = [link for link in self.links() if self.protocol.is_revoked(link.claims.token_id)]
        for link in revoked:
            self.journal.record("token revoked", connection=link.number)
            await link.connection.close(CloseCode.TOKEN_EXPIRED, "the access token was revoked")
        return len(revoked)

    def forget_sessions(self) -> int:
        """Lose every session, as a gateway that lost its memory would ("sessions forgotten"); returns how
        many were lost. A client that tries to resume one is told the session is unknown."""
        forgotten = self.store.forget()
        self.journal.record("sessions forgotten", sessions=forgotten)
        return forgotten


class ResumeTimers:
    """Expires each session whose connection went once its resume window has run, unless it was resumed.
    While its node is stopped no timer starts: expiry is then checked when the client tries to resume."""

    def __init__(self, node: Gateway) -> None:
        self._node = node
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, session: GatewaySession) -> None:
        if not self._node.running or session.detached_at is None:
            return
        detached_at = session.detached_at

        async def expire_later() -> None:
            await asyncio.sleep(self._node.resume_window_ms / 1000)
            note = self._node.protocol.expire_after_window(session, detached_at, time.monotonic())
            if note is not None:
                self._node.journal.record(note.kind, **note.facts)

        task = asyncio.get_running_loop().create_task(expire_later(), name=f"expire:{session.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
