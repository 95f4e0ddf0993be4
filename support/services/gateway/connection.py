"""One connection the gateway serves, over ``websockets``' asyncio server: the thin network code around the
protocol core. It reads frames, hands them to ``GatewayProtocol`` and carries out the reply; it watches the
access token's expiry, sends messages in the order they were numbered, and journals how the connection
opened and closed. Every rule about what to answer lives in protocol.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from realtime_protocol import CloseCode, describe_close_code
from support.services.auth.tokens import AccessClaims
from support.services.gateway.actions import Action, Close, Deliver, Note, Reply, Send
from support.services.gateway.sessions import GatewaySession
from support.services.gateway.troubles import GatewayTrouble
from support.services.transcript import FROM_CLIENT, TO_CLIENT

if TYPE_CHECKING:
    from support.services.gateway.server import Gateway

log = logging.getLogger("support.services.gateway")


class HeartbeatHearingConnection(ServerConnection):
    """A server connection that notes when each ping (a client's heartbeat, RFC 6455 §5.5.2) arrives."""

    on_ping: Callable[[], None] | None = None

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING and self.on_ping is not None:
            self.on_ping()
        super().process_event(event)


@dataclass(eq=False)
class Link:
    """The gateway's hold on one WebSocket connection: its ``number`` in the transcript, the access token it
    holds now (``claims``), the session it serves, and a lock so frames go out in the order they were
    numbered. A session's ``link`` is one of these; the node that made it is ``node``."""

    node: Gateway
    connection: ServerConnection
    number: int
    claims: AccessClaims
    session: GatewaySession | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _expiry: asyncio.Task[None] | None = field(default=None, repr=False)
    _cut: asyncio.TimerHandle | None = field(default=None, repr=False)

    @property
    def serves_a_session(self) -> bool:
        """Whether a session is open on this connection and no newer connection has taken it over."""
        return self.session is not None and self.session.link is self

    async def run(self, trouble: GatewayTrouble | None) -> None:
        """The connection's life: the hello, then frames until it closes (or ``trouble`` ends it on purpose),
        journaled as "connection opened", "protocol agreed" and "connection closed"."""
        journal = self.node.journal
        journal.record("connection opened", connection=self.number, subject=self.claims.subject)
        journal.record(
            "protocol agreed",
            connection=self.number,
            subprotocol=self.connection.subprotocol,
            compression=_compression_of(self.connection),
        )
        self._arm_expiry()
        try:
            if await self._open() and not await self.node.misbehaviour.end_session(self, trouble):
                lifetime_ms = self.node.misbehaviour.connection_lifetime_ms
                if lifetime_ms is not None:
                    self.cut_after(lifetime_ms)
                await self._serve()
        except ConnectionClosed:
            pass
        finally:
            self.cancel_cut()
            await self._disarm_expiry()
            self._let_go()

    async def send(self, frame: str | bytes) -> None:
        """Send ``frame`` as it is (the caller holds ``lock``), and add it to the transcript once sent."""
        await self.connection.send(frame)
        self.node.transcript.record(time.monotonic(), TO_CLIENT, self.number, frame)

    def cut_after(self, lifetime_ms: float) -> None:
        """Drop the connection without a close frame, as a failing network would, ``lifetime_ms`` from now
        ("connection cut")."""
        self.cancel_cut()

        def cut() -> None:
            self._cut = None
            self.node.journal.record("connection cut", connection=self.number, after_ms=lifetime_ms)
            self.connection.transport.abort()

        self._cut = asyncio.get_running_loop().call_later(lifetime_ms / 1000, cut)

    def cancel_cut(self) -> None:
        if self._cut is not None:
            self._cut.cancel()
            self._cut = None

    async def _open(self) -> bool:
        opening = self.node.protocol.open(
            await self._receive(), self.claims, self, self.number, time.monotonic()
        )
        if opening.replaced is not None and isinstance(opening.replaced, Link):
            # The old link is probably half-open; the newer connection takes the session over.
            opening.replaced.connection.transport.abort()
        self.session = opening.session
        await self._carry_out(opening.reply)
        if opening.session is None:
            return False
        said = opening.reply.notes()[-1]  # "session started" or "session resumed"
        shown = ("session", "replayed") if opening.resumed else ("session", "connection")
        log.info(said.kind, extra={name: said.facts[name] for name in shown})
        return True

    async def _serve(self) -> None:
        assert self.session is not None
        while True:
            reply = self.node.protocol.receive(await self._receive(), self.session, self.claims)
            await self._carry_out(reply)
            if reply.claims is not None:
                self.claims = reply.claims
                self._arm_expiry()

    async def _receive(self) -> str | bytes:
        frame = await self.connection.recv()
        self.node.transcript.record(time.monotonic(), FROM_CLIENT, self.number, frame)
        return frame

    async def _carry_out(self, reply: Reply) -> None:
        """Carry out the reply's actions in order; frames for this connection that come one after another go
        out under one hold of the lock, so nothing is sent in between (a replay stays whole)."""
        for to_this_connection, actions in itertools.groupby(reply.actions, key=_is_send):
            if to_this_connection:
                async with self.lock:
                    for action in actions:
                        await self.send(_frame_of(action))
            else:
                for action in actions:
                    await self._carry_out_one(action)

    async def _carry_out_one(self, action: Action) -> None:
        if isinstance(action, Note):
            self.node.journal.record(action.kind, **action.facts)
        elif isinstance(action, Deliver):
            await deliver(action.session, action.channel, action.data)
        elif isinstance(action, Close):
            await self.connection.close(action.code, action.reason)

    def _let_go(self) -> None:
        session, code = self.session, _close_code(self.connection)
        if session is not None:
            refused_too_big = _client_hung_up_over_size(self.connection)
            if self.node.protocol.detach(session, self, time.monotonic(), refused_too_big=refused_too_big):
                self.node.resume_timers.start(session)
        self.node.journal.record(
            "connection closed",
            connection=self.number,
            code=code,
            reason=describe_close_code(code),
            session=session.id if session else None,
        )
        log.info("connection closed", extra={"connection": self.number, "code": code})

    def _arm_expiry(self) -> None:
        """Close with 4001 (TOKEN_EXPIRED) when the token held now runs out; a renewal re-arms it."""
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = asyncio.get_running_loop().create_task(self._expire(self.claims), name="token-expiry")

    async def _disarm_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry

    async def _expire(self, claims: AccessClaims) -> None:
        await asyncio.sleep(max(0.0, claims.seconds_left()))
        self.node.journal.record("token expired", subject=claims.subject)
        await self.connection.close(CloseCode.TOKEN_EXPIRED, "the access token expired")


async def deliver(session: GatewaySession, channel: str, data: Any) -> None:
    """Number a message for ``session`` and send it if the session is connected, on whichever node; a
    message that cannot be sent now stays in the replay buffer for the resume. Numbered under the lock of
    the connection it goes out on, so messages leave in the order of their numbers."""
    while isinstance(link := session.link, Link):
        async with link.lock:
            if session.link is link:  # a newer connection may have taken the session over meanwhile
                frame = session.replay.number(channel, data)
                with contextlib.suppress(ConnectionClosed):
                    await link.send(frame)
                return
    session.replay.number(channel, data)


def link_of(session: GatewaySession) -> Link | None:
    """The connection serving ``session`` now, if any."""
    return session.link if isinstance(session.link, Link) else None


def _is_send(action: Action) -> bool:
    return isinstance(action, Send)


def _frame_of(action: Action) -> str:
    assert isinstance(action, Send)
    return action.frame


def _client_hung_up_over_size(connection: ServerConnection) -> bool:
    """Whether the client, not the gateway, started the closing handshake, with 1009 (message too big)."""
    received = connection.protocol.close_rcvd
    return (
        received is not None
        and received.code == CloseCode.MESSAGE_TOO_BIG
        and bool(connection.protocol.close_rcvd_then_sent)
    )


def _compression_of(connection: ServerConnection) -> str | None:
    names = [extension.name for extension in connection.protocol.extensions]
    return names[0] if names else None


def _close_code(connection: ServerConnection) -> int:
    code = connection.close_code
    sent = connection.protocol.close_sent
    if code in (None, CloseCode.ABNORMAL) and sent is not None:
        # The gateway failed the connection (1009 for a message too big) and did not wait for the answer.
        return int(sent.code)
    return int(code) if code is not None else int(CloseCode.ABNORMAL)
