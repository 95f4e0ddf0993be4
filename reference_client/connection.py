"""One connection to the gateway, from the attempt to its end: a token, the WebSocket handshake (RFC 6455
§4) with the token as a bearer credential (RFC 6750 §2.1), the opening of the session (``hello`` →
``welcome``), then the live session — the receive loop, the heartbeat and token renewal side by side —
until one of them says the connection has ended, and why.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from urllib.parse import urlparse

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from realtime_protocol import CloseCode
from realtime_protocol.secrets import masked_logger
from realtime_protocol.structured_log import CORRELATION_HEADER, ConnectionCorrelation
from reference_client.coordination import SESSION
from reference_client.errors import Classification, classify
from reference_client.heartbeat import keep_heartbeat
from reference_client.link import Wiring
from reference_client.receiver import read_frames
from reference_client.renewal import renew_tokens
from reference_client.session_core import Opening
from reference_client.states import ConnectionState

# websockets writes handshake headers (the bearer token among them) and frames at debug level: mask them.
_wire_log = masked_logger("reference_client.websocket")
_wire_log.addFilter(ConnectionCorrelation())


class Connector:
    """Makes one attempt at a time and keeps the session live on it (``attempt``); the supervisor decides
    whether to make another."""

    def __init__(
        self, wiring: Wiring, *, rng: random.Random, tls: ssl.SSLContext, correlation_id: str
    ) -> None:
        self._link = wiring.link
        self._states = wiring.states
        self._live = wiring.live
        self._events = wiring.events
        self._auth = wiring.auth
        self._recovery = wiring.recovery
        self._rng = rng
        self._tls = tls
        self._correlation_id = correlation_id

    async def attempt(self, reason: str) -> tuple[Classification, float]:
        """One attempt, started for ``reason`` (plain words), and, if it succeeds, the live session.

        Returns why it ended (never raises but for cancellation) and how long the session was ready, in
        seconds (0 when it never was)."""
        states, link = self._states, self._link
        ready_at: float | None = None
        connection: ClientConnection | None = None
        try:
            states.move(ConnectionState.CONNECTING, reason)
            states.move(ConnectionState.AUTHENTICATING, "presenting credentials")
            token = await self._auth.ensure_token()
            link.session.connecting()
            connection = await self._open(token)
            link.connection = connection
            link.session.presented(token)
            states.move(ConnectionState.CONNECTED, "the gateway accepted the handshake")
            self._events.emit(
                "protocol:negotiated",
                subprotocol=connection.subprotocol,
                compression=_compression_of(connection),
            )
            opening = await self._open_session(connection)
            ready_at = time.monotonic()
            states.move(ConnectionState.READY, opening.how)
            self._recovery.completed(link.session.session_id, resumed=opening.resumed)
            ended = await self._stay_live(connection)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            ended = classify(error)
        finally:
            link.connection = None
            if connection is not None and not states.closing:
                # Don't wait for a closing handshake on a link that may be dead.
                connection.transport.abort()
        if ready_at is not None or states.state is ConnectionState.CONNECTED:
            states.move(ConnectionState.DISCONNECTED, ended.description)
            self._events.emit("connection:lost", reason=ended.description, code=ended.close_code)
        if ended.kind == f"closed_{CloseCode.MESSAGE_TOO_BIG}":
            link.announce(link.session.refuse_oversized().events)
            link.outbox_changed()
        return ended, (time.monotonic() - ready_at) if ready_at is not None else 0.0

    async def _open(self, token: str) -> ClientConnection:
        config = self._live.current
        return await connect(
            config.gateway_url,
            additional_headers={
                "Authorization": f"Bearer {token}",
                CORRELATION_HEADER: self._correlation_id,
            },
            logger=_wire_log,
            open_timeout=config.connect_timeout_ms / 1000,
            ping_interval=None,  # heartbeats are ours, so their timing is configurable and visible
            close_timeout=config.heartbeat_timeout_ms / 1000,
            max_size=config.max_message_bytes,
            subprotocols=[Subprotocol(name) for name in config.subprotocols] or None,
            compression="deflate" if config.compression else None,
            # websockets refuses a TLS context for a ws:// address, so it is given for wss:// only.
            ssl=self._tls if urlparse(config.gateway_url).scheme == "wss" else None,
        )

    async def _open_session(self, connection: ClientConnection) -> Opening:
        """``hello`` → ``welcome``, then catch up on what the session does not have yet."""
        session = self._link.session
        await connection.send(session.hello())
        answer = await asyncio.wait_for(connection.recv(), self._live.current.connect_timeout_ms / 1000)
        opening = session.welcome(answer)
        self._link.announce(opening.events)
        if opening.continuity_lost is not None:
            self._recovery.failed(SESSION, f"the session could not be resumed: {opening.continuity_lost}")
        await self._link.carry_out(session.catch_up(), connection)
        return opening

    async def _stay_live(self, connection: ClientConnection) -> Classification:
        tasks = [
            asyncio.create_task(read_frames(self._link, connection), name="client-reader"),
            asyncio.create_task(
                keep_heartbeat(connection, self._live, self._events), name="client-heartbeat"
            ),
            asyncio.create_task(
                renew_tokens(self._link, connection, self._auth, self._live, self._rng),
                name="client-token-refresh",
            ),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def _compression_of(connection: ClientConnection) -> str | None:
    """The compression extension the connection uses, if any (e.g. "permessage-deflate")."""
    names = [extension.name for extension in connection.protocol.extensions]
    return names[0] if names else None
