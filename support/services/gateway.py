"""The mock realtime gateway: a real WebSocket server on 127.0.0.1 speaking the suite's protocol.

It checks the access token in the opening handshake, keeps sessions with numbered messages, replays
what a client missed when it resumes within the resume window, de-duplicates client messages by id,
pushes a stream at a chosen rate, and can be stopped gracefully, crashed and restarted on the same port
keeping or losing its sessions. Everything it does is journaled for steps to assert on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, NegotiationError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import Event
from websockets.typing import ExtensionParameter, Subprotocol

from realtime_protocol import CloseCode, MessageType, ProtocolError, decode, describe_close_code, encode
from realtime_protocol.secrets import masked_logger
from realtime_protocol.structured_log import CORRELATION_HEADER, ConnectionCorrelation, adopt_correlation_id
from support.services.auth.tokens import AccessClaims, InvalidTokenError, TokenAuthority
from support.services.journal import Journal
from support.services.transcript import FROM_CLIENT, TO_CLIENT, Transcript

StopMode = Literal["graceful", "crash"]
# The protocol versions (WebSocket subprotocols) the gateway speaks unless a scenario says otherwise.
SUBPROTOCOLS = ("realtime.v2", "realtime.v1")
# websockets writes handshake headers (bearer tokens among them) at debug level: mask them.
_WIRE_LOG = masked_logger("support.services.gateway.websocket")
_WIRE_LOG.addFilter(ConnectionCorrelation())
log = logging.getLogger("support.services.gateway")
HEALTH_PATH = "/health"  # answered over plain HTTP, on the same port as the realtime endpoint


@dataclass
class GatewaySession:
    id: str
    subject: str
    subscriptions: set[str] = field(default_factory=set)
    next_seq: int = 1
    # Messages sent but not yet acknowledged by the client, oldest first: what a resume can replay.
    outbox: deque[tuple[int, str]] = field(default_factory=deque)
    connection: ServerConnection | None = None
    detached_at: float | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The client closed its last connection with 1009: the first message it had not acknowledged was too big
    # for it, and is not sent again when it resumes.
    refused_too_big: bool = False

    def acknowledge(self, seq: int) -> None:
        while self.outbox and self.outbox[0][0] <= seq:
            self.outbox.popleft()


class ConnectionNumbering:
    """Numbers connections 1, 2, 3… so the transcript names each connection once, on whichever node."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def __iter__(self) -> ConnectionNumbering:
        return self

    def __next__(self) -> int:
        return next(self._numbers)

    def restart(self) -> None:
        self._numbers = itertools.count(1)


@dataclass
class SessionStore:
    """What gateway nodes behind one load balancer share, so a session opened on one node can be resumed on
    another: the sessions with their unacknowledged messages and sequence numbers, the sessions that expired,
    the message ids each user already posted, and the numbering and transcript of connections."""

    sessions: dict[str, GatewaySession] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)  # so a late resume is told why, not just "unknown"
    seen_publish_ids: dict[str, set[str]] = field(default_factory=dict)
    connection_numbers: ConnectionNumbering = field(default_factory=ConnectionNumbering)
    numbers: dict[ServerConnection, int] = field(default_factory=dict)
    transcript: Transcript = field(default_factory=Transcript)


class _HeartbeatHearingConnection(ServerConnection):
    """A server connection that notes when each ping (a client's heartbeat) arrives."""

    on_ping: Callable[[], None] | None = None

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING and self.on_ping is not None:
            self.on_ping()
        super().process_event(event)


@dataclass
class PushStream:
    channel: str
    rate_per_s: float
    sent: int = 0
    task: asyncio.Task[None] | None = None


@dataclass(frozen=True)
class GatewayTrouble:
    """A misbehaviour programmed for one coming connection: answer its upgrade with an HTTP ``status`` (with a
    ``Retry-After`` when ``retry_after_s`` is given), or let its session open and then end it with
    ``close_code`` and ``reason`` (1006: drop it without a close frame)."""

    status: int | None = None
    retry_after_s: float | None = None
    close_code: int | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.status is None) == (self.close_code is None):
            raise ValueError("a gateway trouble is an HTTP status or a close code: give exactly one")
        if self.status is not None and not (400 <= self.status <= 599 and _known_status(self.status)):
            raise ValueError(f"a refused upgrade needs a known 4xx or 5xx HTTP status, got {self.status}")
        if self.close_code == CloseCode.NORMAL:
            raise ValueError("closing normally (1000) is not a trouble")


class Gateway:
    def __init__(
        self,
        authority: TokenAuthority,
        journal: Journal,
        *,
        resume_window_ms: int,
        rng: random.Random,
        is_revoked: Callable[[str], bool] = lambda token_id: False,
        max_outbox: int = 10_000,
        max_frame_bytes: int = 1 << 20,
        ssl_context: ssl.SSLContext | None = None,
        store: SessionStore | None = None,
        revocation_list_reachable: Callable[[], bool] = lambda: True,
    ) -> None:
        self.authority = authority
        # Another node given the same store serves the same sessions (a rolling update moves clients over).
        self.store = store if store is not None else SessionStore()
        self.revocation_list_reachable = revocation_list_reachable
        self.ssl_context = ssl_context  # set: the gateway speaks wss only
        self.journal = journal
        self.transcript = self.store.transcript
        self.resume_window_ms = resume_window_ms
        self.rng = rng
        self.is_revoked = is_revoked
        self.max_outbox = max_outbox
        self.max_frame_bytes = max_frame_bytes
        self.subprotocols: tuple[str, ...] = SUBPROTOCOLS  # what it speaks, read at every handshake
        self.compression = True  # accept permessage-deflate when a client offers it, read at every handshake
        self._server: Server | None = None
        self._port = 0
        self._sessions = self.store.sessions
        self._expired = self.store.expired
        self._claims: dict[int, AccessClaims] = {}
        self._seen_publish_ids = self.store.seen_publish_ids
        self._streams: dict[str, PushStream] = {}
        self._connection_numbers = self.store.connection_numbers
        self._numbers = self.store.numbers
        self._handlers: set[asyncio.Task[Any]] = set()
        self._expiries: set[asyncio.Task[None]] = set()
        self._troubles: deque[GatewayTrouble] = deque()  # for the coming connections, in order
        self._session_troubles: dict[int, GatewayTrouble] = {}  # connection id -> how its session will end
        # Cut every connection this long after its session is ready, as a flapping link would; None: never.
        self.connection_lifetime_ms: float | None = None
        self._cuts: dict[ServerConnection, asyncio.TimerHandle] = {}
        self._heartbeats: list[tuple[float, int]] = []  # (when, connection number) of each ping heard
        self._live_claims: dict[ServerConnection, AccessClaims] = {}  # the token each connection holds now

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("the gateway has not been started")
        return self._port

    @property
    def url(self) -> str:
        scheme = "wss" if self.ssl_context is not None else "ws"
        return f"{scheme}://127.0.0.1:{self.port}/realtime"

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        if self._server is not None:
            return
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self._port,
            process_request=self._check_handshake,
            ping_interval=None,  # the client drives heartbeats; the gateway just answers pings
            max_size=self.max_frame_bytes,
            select_subprotocol=self._select_subprotocol,
            compression=None,  # instead, deflate that can be switched off between connections:
            extensions=[_SwitchableDeflate(lambda: self.compression)],
            close_timeout=1,
            logger=_WIRE_LOG,
            ssl=self.ssl_context,
            create_connection=_HeartbeatHearingConnection,
        )
        self._port = self._server.sockets[0].getsockname()[1]
        self.journal.record("gateway started", port=self._port)

    async def stop(
        self, mode: StopMode = "graceful", code: int = CloseCode.GOING_AWAY, keep_sessions: bool = True
    ) -> None:
        """Stop listening and end every connection: with a close frame (graceful) or without (crash)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close(close_connections=False)
        connections = [
            session.connection
            for session in self._sessions.values()
            if session.connection and session.connection in server.all_connections  # not another node's
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
            self._sessions.clear()
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
        """Between scenarios: no streams, no sessions, an empty journal and transcript, the listener up."""
        for stream in list(self._streams.values()):
            await self._cancel_stream(stream)
        self._streams.clear()
        for session in self._sessions.values():
            if session.connection is not None:
                session.connection.transport.abort()
        await self._wait_for_handlers()
        await self._cancel_expiries()
        self.connection_lifetime_ms = None
        self._sessions.clear()
        self._expired.clear()
        self._troubles.clear()
        self._session_troubles.clear()
        self._seen_publish_ids.clear()
        self._claims.clear()
        self.subprotocols, self.compression = SUBPROTOCOLS, True
        self._heartbeats.clear()
        if self._server is None:
            await self.start()
        self.journal.clear()
        self.transcript.clear()
        self._connection_numbers.restart()

    async def close(self) -> None:
        for stream in list(self._streams.values()):
            await self._cancel_stream(stream)
        await self.stop(mode="crash", keep_sessions=False)
        await self._cancel_expiries()

    async def _cancel_expiries(self) -> None:
        for task in list(self._expiries):
            task.cancel()
        await asyncio.gather(*self._expiries, return_exceptions=True)

    async def _wait_for_handlers(self) -> None:
        if self._handlers:
            await asyncio.wait(set(self._handlers), timeout=5)

    # -- what steps observe -----------------------------------------------------------------------

    def session_ids(self) -> list[str]:
        return list(self._sessions)

    def heartbeats(self) -> list[float]:
        """When each heartbeat (ping) from a client arrived since the last reset, oldest first."""
        return [at for at, _ in self._heartbeats]

    async def drop_revoked(self) -> int:
        """Close every live connection whose access token has been revoked since it was shown, as for an
        expired token; returns how many. Each close waits for the client's answer, so it has heard why."""
        revoked = [c for c, claims in self._live_claims.items() if self.is_revoked(claims.token_id)]
        for connection in revoked:
            self.journal.record("token revoked", connection=self._numbers.get(connection, 0))
            await connection.close(CloseCode.TOKEN_EXPIRED, "the access token was revoked")
        return len(revoked)

    def forget_sessions(self) -> int:
        """Lose every session, as a gateway that lost its memory would; returns how many were lost. A client
        that tries to resume one is told the session is unknown."""
        forgotten = len(self._sessions)
        self._sessions.clear()
        self.journal.record("sessions forgotten", sessions=forgotten)
        return forgotten

    def subscriptions_of(self, session_id: str) -> set[str]:
        session = self._sessions.get(session_id)
        return set(session.subscriptions) if session else set()

    def messages_sent(self, session_id: str) -> int:
        """How many messages the gateway has numbered for a session (0 for a session it does not hold)."""
        session = self._sessions.get(session_id)
        return session.next_seq - 1 if session else 0

    async def publish(self, channel: str, data: Any) -> int:
        """Send a message to every session subscribed to the channel, connected or not."""
        reached = 0
        for session in list(self._sessions.values()):
            if channel in session.subscriptions and not self._expire_if_stale(session):
                await self._deliver(session, channel, data)
                reached += 1
        return reached

    def start_stream(self, channel: str, rate_per_s: float) -> None:
        """Push numbered messages (data ``{"n": 1}``, ``{"n": 2}``, …) to a channel at a steady rate."""
        if channel in self._streams:
            raise RuntimeError(f"a stream is already running on {channel!r}")
        stream = PushStream(channel=channel, rate_per_s=rate_per_s)
        stream.task = asyncio.get_running_loop().create_task(
            self._run_stream(stream), name=f"stream:{channel}"
        )
        self._streams[channel] = stream
        self.journal.record("stream started", channel=channel, rate_per_s=rate_per_s)

    async def stop_stream(self, channel: str) -> int:
        """Stop a stream and return how many messages it sent."""
        stream = self._streams.pop(channel)
        await self._cancel_stream(stream)
        self.journal.record("stream stopped", channel=channel, sent=stream.sent)
        return stream.sent

    async def _run_stream(self, stream: PushStream) -> None:
        interval = 1 / stream.rate_per_s
        next_at = asyncio.get_running_loop().time()
        while True:
            stream.sent += 1
            await self.publish(stream.channel, {"n": stream.sent})
            # Pace against a schedule rather than sleeping a fixed interval, so a slow send doesn't
            # lower the rate.
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - asyncio.get_running_loop().time()))

    @staticmethod
    async def _cancel_stream(stream: PushStream) -> None:
        if stream.task is not None:
            stream.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stream.task

    def cut_connections_after(self, lifetime_ms: float | None) -> None:
        """From now on, drop every connection (no close frame, as a failing network would) ``lifetime_ms``
        after its session is ready, live ones counted from now; None stops cutting. Journaled as "connections
        cut from now on" and "connections no longer cut"."""
        if lifetime_ms is not None:
            self.journal.record("connections cut from now on", after_ms=lifetime_ms)
        elif self.connection_lifetime_ms is not None:
            self.journal.record("connections no longer cut")
        self.connection_lifetime_ms = lifetime_ms
        for connection, number in list(self._numbers.items()):
            self._cancel_cut(connection)
            if self._live_session_on(connection):
                self._arm_cut(connection, number)

    def _live_session_on(self, connection: ServerConnection) -> bool:
        return any(session.connection is connection for session in self._sessions.values())

    def _arm_cut(self, connection: ServerConnection, number: int) -> None:
        lifetime_ms = self.connection_lifetime_ms
        if lifetime_ms is None:
            return

        def cut() -> None:
            self._cuts.pop(connection, None)
            self.journal.record("connection cut", connection=number, after_ms=lifetime_ms)
            connection.transport.abort()

        self._cuts[connection] = asyncio.get_running_loop().call_later(lifetime_ms / 1000, cut)

    def _cancel_cut(self, connection: ServerConnection) -> None:
        handle = self._cuts.pop(connection, None)
        if handle is not None:
            handle.cancel()

    async def close_connections(self, code: int, reason: str) -> int:
        """Close every live connection with the given code; returns how many were closed."""
        connections = [session.connection for session in self._sessions.values() if session.connection]
        for connection in connections:
            await connection.close(code, reason)
        return len(connections)

    def program(self, *troubles: GatewayTrouble) -> None:
        """Misbehave with the coming connections, one trouble each, in order; then behave again. Each is
        journaled as "trouble programmed"."""
        for trouble in troubles:
            self.journal.record(
                "trouble programmed",
                status=trouble.status,
                retry_after_s=trouble.retry_after_s,
                close_code=trouble.close_code,
                reason=describe_close_code(trouble.close_code) if trouble.close_code is not None else None,
            )
        self._troubles.extend(troubles)

    def speak(self, subprotocols: tuple[str, ...]) -> None:
        """From now on speak only these protocol versions; a change from the usual ones is journaled as
        "protocol versions limited"."""
        if subprotocols != self.subprotocols:
            self.journal.record("protocol versions limited", speaks=", ".join(subprotocols))
        self.subprotocols = subprotocols

    def accept_compression(self, on: bool) -> None:
        """From now on accept compression on new connections, or turn it down; each change is journaled
        ("compression turned down", "compression accepted again")."""
        if on != self.compression:
            self.journal.record("compression accepted again" if on else "compression turned down")
        self.compression = on

    def _refuse_upgrade(self, connection: ServerConnection, trouble: GatewayTrouble) -> Response:
        assert trouble.status is not None
        status = HTTPStatus(trouble.status)
        self.journal.record(
            "upgrade refused", status=status.value, reason=status.phrase, retry_after_s=trouble.retry_after_s
        )
        response = connection.respond(status, f"{status.phrase}\n")
        if trouble.retry_after_s is not None:
            response.headers["Retry-After"] = f"{trouble.retry_after_s:g}"
        return response

    async def _end_session_on_purpose(self, connection: ServerConnection, session: GatewaySession) -> bool:
        """Play the trouble programmed for this connection's session, if any; True when it ended it."""
        trouble = self._session_troubles.pop(id(connection), None)
        if trouble is None or trouble.close_code is None:
            return False
        code = trouble.close_code
        self.journal.record(
            "session ended by the gateway", session=session.id, code=code, reason=describe_close_code(code)
        )
        if code == CloseCode.ABNORMAL:  # 1006 is never sent: the connection just drops
            connection.transport.abort()
        else:
            await connection.close(code, trouble.reason)
        return True

    # -- the protocol -----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """Up while the gateway can reach the auth service's revocation list (without it, revoked tokens
        would get in), degraded when it cannot."""
        reachable = self.revocation_list_reachable()
        checks = {
            "revocation list": "ok" if reachable else "the auth service cannot be reached",
            "node": "accepting connections" if self.running else "not listening",
            "live sessions": len(self._sessions),
        }
        return {"status": "up" if reachable else "degraded", "checks": checks}

    def _check_handshake(self, connection: ServerConnection, request: Request) -> Response | None:
        # The handshake and the connection's handler run in one task: its lines carry the caller's id.
        adopt_correlation_id(request.headers.get(CORRELATION_HEADER))
        if request.path == HEALTH_PATH:
            answer = connection.respond(HTTPStatus.OK, json.dumps(self.health()))
            answer.headers["Content-Type"] = "application/json"
            return answer
        trouble = self._troubles.popleft() if self._troubles else None
        if trouble is not None and trouble.status is not None:
            return self._refuse_upgrade(connection, trouble)
        token = _bearer_token(request.headers)
        try:
            claims = self.authority.verify(token)
            if self.is_revoked(claims.token_id):
                raise InvalidTokenError("the token has been revoked")
        except InvalidTokenError as error:
            self.journal.record("handshake refused", status=401, reason=error.reason)
            log.warning("handshake refused: %s", error.reason, extra={"status": 401})
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"{error.reason}\n")
        self._claims[id(connection)] = claims
        log.info("handshake accepted", extra={"subject": claims.subject})
        if trouble is not None:
            self._session_troubles[id(connection)] = trouble
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        number = self._numbers[connection] = next(self._connection_numbers)
        claims = self._claims.pop(id(connection))
        self._live_claims[connection] = claims
        if isinstance(connection, _HeartbeatHearingConnection):
            connection.on_ping = lambda: self._heartbeats.append((time.monotonic(), number))
        self.journal.record("connection opened", connection=number, subject=claims.subject)
        self.journal.record(
            "protocol agreed",
            connection=number,
            subprotocol=connection.subprotocol,
            compression=_compression_of(connection),
        )
        session: GatewaySession | None = None
        expiry = _ExpiryWatch(self, connection)
        expiry.arm(claims)
        try:
            session = await self._open_session(connection, claims, number)
            if session is not None and not await self._end_session_on_purpose(connection, session):
                self._arm_cut(connection, number)
                await self._serve(connection, session, claims, expiry)
        except ConnectionClosed:
            pass
        finally:
            self._cancel_cut(connection)
            await expiry.disarm()
            if session is not None and session.connection is connection:
                session.refused_too_big = _client_hung_up_over_size(connection)
                self._detach(session)
            self.journal.record(
                "connection closed",
                connection=number,
                code=_close_code(connection),
                reason=describe_close_code(_close_code(connection)),
                session=session.id if session else None,
            )
            log.info("connection closed", extra={"connection": number, "code": _close_code(connection)})
            self._numbers.pop(connection, None)
            self._session_troubles.pop(id(connection), None)
            self._live_claims.pop(connection, None)
            self._handlers.discard(task)

    async def _open_session(
        self, connection: ServerConnection, claims: AccessClaims, number: int
    ) -> GatewaySession | None:
        hello = await self._receive(connection)
        if hello is None or hello["type"] != MessageType.HELLO:
            await connection.close(CloseCode.BAD_MESSAGE, "expected a hello message first")
            return None
        resume = hello.get("resume") or {}
        wanted = resume.get("session_id")
        last_seq = int(resume.get("last_seq") or 0)
        session, refusal = self._find_resumable(wanted, claims.subject)
        if session is not None:
            replaced = session.connection
            if replaced is not None and replaced is not connection:
                # The old link is probably half-open; the newer connection takes the session over.
                replaced.transport.abort()
            session.detached_at = None
            async with session.send_lock:
                session.acknowledge(last_seq)
                self._drop_refused(session, last_seq)
                await self._send(
                    connection,
                    encode(
                        {
                            "type": MessageType.WELCOME,
                            "session_id": session.id,
                            "resumed": True,
                            "replay": len(session.outbox),
                        }
                    ),
                )
                for _, frame in session.outbox:
                    await self._send(connection, frame)
                session.connection = connection
            self.journal.record(
                "session resumed",
                session=session.id,
                connection=number,
                last_seq=last_seq,
                replayed=len(session.outbox),
            )
            log.info("session resumed", extra={"session": session.id, "replayed": len(session.outbox)})
            return session
        session = GatewaySession(id=self._new_session_id(), subject=claims.subject, connection=connection)
        self._sessions[session.id] = session
        await self._send(
            connection,
            encode(
                {"type": MessageType.WELCOME, "session_id": session.id, "resumed": False, "reason": refusal}
            ),
        )
        self.journal.record("session started", session=session.id, connection=number, resume_refused=refusal)
        log.info("session started", extra={"session": session.id, "connection": number})
        return session

    def _find_resumable(
        self, session_id: str | None, subject: str
    ) -> tuple[GatewaySession | None, str | None]:
        if not session_id:
            return None, None
        session = self._sessions.get(session_id)
        if session is None and session_id in self._expired:
            return None, "the resume window has passed"
        if session is None or session.subject != subject:
            return None, "the session is unknown to the server"
        if self._expire_if_stale(session):
            return None, "the resume window has passed"
        return session, None

    def _drop_refused(self, session: GatewaySession, last_seq: int) -> None:
        """Sending again what the client closed the connection over (1009) would only close it again."""
        refused, session.refused_too_big = session.refused_too_big, False
        if refused and session.outbox and session.outbox[0][0] == last_seq + 1:
            seq, frame = session.outbox.popleft()
            self.journal.record(
                "message dropped",
                session=session.id,
                seq=seq,
                size=len(frame.encode("utf-8")),
                reason="too big for the client",
            )

    def _select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        """The first version the client offers that the gateway speaks: the client lists its newest first. A
        client that offers none is served as before versions were negotiated; one that offers only versions
        the gateway does not speak is refused with 400."""
        if not offered:
            return None
        for name in offered:
            if name in self.subprotocols:
                return name
        self._claims.pop(id(connection), None)
        self.journal.record(
            "handshake refused",
            status=400,
            reason="it speaks none of the client's protocol versions",
            offered=", ".join(offered),
            speaks=", ".join(self.subprotocols),
        )
        raise NegotiationError(
            f"no protocol version in common: the gateway speaks {', '.join(self.subprotocols)}; "
            f"the client offered {', '.join(offered)}"
        )

    async def send_to_clients(self, frame: str | bytes, what: str) -> int:
        """Programmed misbehaviour: send ``frame`` as it is, on every live connection, next after whatever
        is being sent; ``what`` says in words what it is, for the journal (never the frame itself). Returns
        how many connections it went to."""
        sent = 0
        for session in list(self._sessions.values()):
            connection = session.connection
            if connection is None:
                continue
            async with session.send_lock:
                with contextlib.suppress(ConnectionClosed):
                    await self._send(connection, frame)
                    sent += 1
            self.journal.record("odd frame sent", session=session.id, what=what)
        return sent

    def _detach(self, session: GatewaySession) -> None:
        """The session lost its connection: keep it for the resume window, then let it go."""
        session.connection = None
        session.detached_at = detached_at = time.monotonic()
        if not self.running:
            return  # while stopped, sessions wait for the restart; expiry is checked on resume

        async def expire_later() -> None:
            await asyncio.sleep(self.resume_window_ms / 1000)
            if session.detached_at == detached_at and self._sessions.get(session.id) is session:
                self._expire_if_stale(session)

        task = asyncio.get_running_loop().create_task(expire_later(), name=f"expire:{session.id}")
        self._expiries.add(task)
        task.add_done_callback(self._expiries.discard)

    def _expire_if_stale(self, session: GatewaySession) -> bool:
        stale = (
            session.detached_at is not None
            and (time.monotonic() - session.detached_at) * 1000 > self.resume_window_ms
        ) or len(session.outbox) > self.max_outbox
        if stale:
            self._sessions.pop(session.id, None)
            self._expired.add(session.id)
            self.journal.record("session expired", session=session.id)
        return stale

    async def _serve(
        self,
        connection: ServerConnection,
        session: GatewaySession,
        claims: AccessClaims,
        expiry: _ExpiryWatch,
    ) -> None:
        while True:
            message = await self._receive(connection)
            if message is None:
                continue
            kind = message["type"]
            if kind == MessageType.SUBSCRIBE:
                await self._subscribe(connection, session, claims, message["channel"])
            elif kind == MessageType.UNSUBSCRIBE:
                session.subscriptions.discard(message["channel"])
                self.journal.record("unsubscribed", session=session.id, channel=message["channel"])
            elif kind == MessageType.PUBLISH and not claims.may_publish(message["channel"]):
                await self._refuse_publish(connection, session, message)
            elif kind == MessageType.PUBLISH:
                await self._accept_publish(connection, session, message)
            elif kind == MessageType.ACK and "seq" in message:
                session.acknowledge(int(message["seq"]))
            elif kind == MessageType.AUTH:
                claims = self._live_claims[connection] = await self._renew(
                    connection, session, claims, message
                )
                expiry.arm(claims)
            else:
                await self._refuse_frame(connection, f"a {kind!r} message is not expected from a client")

    async def _send(self, connection: ServerConnection, frame: str | bytes) -> None:
        await connection.send(frame)
        self.transcript.record(time.monotonic(), TO_CLIENT, self._numbers.get(connection, 0), frame)

    async def _receive(self, connection: ServerConnection) -> dict[str, Any] | None:
        frame = await connection.recv()
        self.transcript.record(time.monotonic(), FROM_CLIENT, self._numbers.get(connection, 0), frame)
        try:
            return decode(frame)
        except ProtocolError as error:
            await self._refuse_frame(connection, str(error))
            return None

    async def _refuse_frame(self, connection: ServerConnection, reason: str) -> None:
        self.journal.record("bad frame", reason=reason)
        await self._send(
            connection, encode({"type": MessageType.ERROR, "code": "bad_message", "message": reason})
        )

    async def _subscribe(
        self, connection: ServerConnection, session: GatewaySession, claims: AccessClaims, channel: str
    ) -> None:
        if not claims.allows(channel):
            self.journal.record("subscribe refused", session=session.id, channel=channel)
            await self._send(
                connection,
                encode(
                    {"type": MessageType.ERROR, "code": "forbidden", "message": f"no access to {channel!r}"}
                ),
            )
            return
        session.subscriptions.add(channel)
        self.journal.record("subscribed", session=session.id, channel=channel)
        async with session.send_lock:
            await self._send(connection, encode({"type": MessageType.SUBSCRIBED, "channel": channel}))

    async def _accept_publish(
        self, connection: ServerConnection, session: GatewaySession, message: dict[str, Any]
    ) -> None:
        seen = self._seen_publish_ids.setdefault(session.subject, set())
        message_id, channel = message["id"], message["channel"]
        if message_id in seen:
            self.journal.record("publish duplicate", session=session.id, id=message_id, channel=channel)
        else:
            seen.add(message_id)
            self.journal.record("publish accepted", session=session.id, id=message_id, channel=channel)
            for other in list(self._sessions.values()):
                if other is not session and channel in other.subscriptions:
                    await self._deliver(other, channel, message.get("data"))
        async with session.send_lock:
            await self._send(connection, encode({"type": MessageType.ACK, "id": message_id}))

    async def _refuse_publish(
        self, connection: ServerConnection, session: GatewaySession, message: dict[str, Any]
    ) -> None:
        """A post to a channel the token may not post to: delivered to no one, and answered with an error
        naming the message, so the client can stop sending it."""
        message_id, channel = message["id"], message["channel"]
        self.journal.record(
            "publish refused", session=session.id, subject=session.subject, id=message_id, channel=channel
        )
        refusal = {
            "type": MessageType.ERROR,
            "code": "forbidden",
            "message": f"no right to post to {channel!r}",
            "id": message_id,
        }
        async with session.send_lock:
            await self._send(connection, encode(refusal))

    async def _renew(
        self,
        connection: ServerConnection,
        session: GatewaySession,
        claims: AccessClaims,
        message: dict[str, Any],
    ) -> AccessClaims:
        try:
            renewed = self.authority.verify(message["token"])
        except InvalidTokenError as error:
            self.journal.record("token renewal refused", session=session.id, reason=error.reason)
            await self._send(
                connection, encode({"type": MessageType.ERROR, "code": "bad_token", "message": error.reason})
            )
            return claims
        if renewed.subject != claims.subject:
            await connection.close(CloseCode.FORBIDDEN, "the new token is for a different user")
            return claims
        self.journal.record("token renewed", session=session.id)
        return renewed

    async def _deliver(self, session: GatewaySession, channel: str, data: Any) -> None:
        async with session.send_lock:
            seq = session.next_seq
            session.next_seq += 1
            frame = encode({"type": MessageType.MESSAGE, "seq": seq, "channel": channel, "data": data})
            session.outbox.append((seq, frame))
            if session.connection is not None:
                # A message that can't be sent now stays in the outbox for the resume to replay.
                with contextlib.suppress(ConnectionClosed):
                    await self._send(session.connection, frame)

    def _new_session_id(self) -> str:
        return "s-" + "".join(self.rng.choices("abcdefghijkmnpqrstuvwxyz23456789", k=10))


class _ExpiryWatch:
    """Closes a connection with TOKEN_EXPIRED when its current token runs out; renewals re-arm it."""

    def __init__(self, gateway: Gateway, connection: ServerConnection) -> None:
        self._gateway = gateway
        self._connection = connection
        self._task: asyncio.Task[None] | None = None

    def arm(self, claims: AccessClaims) -> None:
        if self._task is not None:
            self._task.cancel()
        self._task = asyncio.get_running_loop().create_task(self._expire(claims), name="token-expiry")

    async def disarm(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _expire(self, claims: AccessClaims) -> None:
        await asyncio.sleep(max(0.0, claims.seconds_left()))
        self._gateway.journal.record("token expired", subject=claims.subject)
        await self._connection.close(CloseCode.TOKEN_EXPIRED, "the access token expired")


def _known_status(status: int) -> bool:
    try:
        HTTPStatus(status)
    except ValueError:
        return False
    return True


class _SwitchableDeflate(ServerPerMessageDeflateFactory):
    """permessage-deflate with websockets' default settings, accepted only while ``enabled()`` says so, so a
    scenario can turn the gateway's compression off without restarting it."""

    def __init__(self, enabled: Callable[[], bool]) -> None:
        super().__init__(
            server_max_window_bits=12, client_max_window_bits=12, compress_settings={"memLevel": 5}
        )
        self._enabled = enabled

    def process_request_params(
        self, params: Sequence[ExtensionParameter], accepted_extensions: Sequence[Extension]
    ) -> tuple[list[ExtensionParameter], Extension]:
        if not self._enabled():
            raise NegotiationError("the gateway's compression is off")  # websockets then goes without
        return super().process_request_params(params, accepted_extensions)


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


def _bearer_token(headers: Headers) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _close_code(connection: ServerConnection) -> int:
    code = connection.close_code
    sent = connection.protocol.close_sent
    if code in (None, CloseCode.ABNORMAL) and sent is not None:
        # The gateway failed the connection (1009 for a message too big) and did not wait for the answer.
        return int(sent.code)
    return int(code) if code is not None else int(CloseCode.ABNORMAL)
