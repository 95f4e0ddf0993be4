"""The reference realtime client: connect, stay connected, resume, shut down cleanly.

One supervisor task owns the connection. Each pass of it makes one attempt (token → handshake →
session), keeps the session live until the link ends, classifies why it ended, and either retries
after a backoff delay or stops. Everything it does is announced as an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from realtime_protocol import (
    CloseCode,
    MessageType,
    ProtocolError,
    UnknownMessageTypeError,
    decode,
    describe_close_code,
    encode,
)
from realtime_protocol.secrets import masked_logger
from realtime_protocol.structured_log import (
    CORRELATION_HEADER,
    ConnectionCorrelation,
    CorrelatedLogger,
    correlated,
)
from reference_client.audio import AudioSubsystem
from reference_client.auth import TokenManager
from reference_client.avatar import AvatarSubsystem
from reference_client.backoff import Backoff
from reference_client.config import ClientConfig
from reference_client.coordination import Coordinator, LiveConfig, Recovery, failed_part
from reference_client.core_subsystems import USER_LOGOUT, AuthSubsystem, LoggerSubsystem, SessionSubsystem
from reference_client.errors import (
    AuthError,
    Classification,
    ClientClosedError,
    HeartbeatTimeoutError,
    ProtocolViolationError,
    classify,
)
from reference_client.events import ClientEvent, EventEmitter, Listener
from reference_client.session import Arrival, PendingPublish, SessionState
from reference_client.states import ConnectionState
from reference_client.subsystems import Health, Subsystem
from reference_client.token_store import TokenStore

log = logging.getLogger("reference_client")
# websockets writes handshake headers (the bearer token among them) and frames at debug level: mask them.
_wire_log = masked_logger("reference_client.websocket")
_wire_log.addFilter(ConnectionCorrelation())

_SHUTDOWN_CODE = int(CloseCode.NORMAL)
_RESUMED = "the session resumed"

# How loud each event is in the client's log (every event is logged, with its data); the rest are INFO.
_EVENT_LEVELS = {
    "message": logging.DEBUG,
    "message:duplicate": logging.DEBUG,
    "publish:acked": logging.DEBUG,
    "token:checked": logging.DEBUG,
    "auth:error": logging.WARNING,
    "connection:lost": logging.WARNING,
    "error:classified": logging.WARNING,
    "heartbeat:timeout": logging.WARNING,
    "message:gap": logging.WARNING,
    "protocol:error": logging.WARNING,
    "publish:unsent": logging.WARNING,
    "server:error": logging.WARNING,
    "session:continuity_lost": logging.WARNING,
    "token:expired": logging.WARNING,
    "token:store_unreadable": logging.WARNING,
    "token:store_unwritable": logging.WARNING,
    "reconnect:exhausted": logging.ERROR,
}


class RealtimeClient:
    def __init__(self, config: ClientConfig) -> None:
        self._live = LiveConfig(config)
        self._events = EventEmitter()
        self.correlation_id = config.correlation_id or _default_correlation_id(config.random_seed)
        self._log = CorrelatedLogger(log, self.correlation_id)
        self._events.add_listener(self._log_event)
        self._rng = random.Random(config.random_seed)
        self._backoff = Backoff(config.backoff, self._rng)
        # One TLS context for sign-in and the realtime connection, so both trust exactly the same authorities.
        self._tls = config.tls_context()
        self._http = httpx.AsyncClient(
            timeout=config.auth_timeout_ms / 1000,
            verify=self._tls,
            headers={CORRELATION_HEADER: self.correlation_id},
        )
        self.client_id = config.client_id or _default_client_id(config.random_seed)
        store = (
            TokenStore(config.token_store_path, config.token_store_key)
            if config.token_store_path is not None and config.token_store_key is not None
            else None
        )
        self._auth = TokenManager(
            config.auth_url,
            config.api_key,
            self._http,
            self._events,
            config.token_refresh_fraction,
            store,
            client_id=self.client_id,
        )
        self._token_in_use: str | None = None  # the access token the gateway last accepted from us
        self._session = SessionState()
        self._state = ConnectionState.INITIALIZED
        self.audio = AudioSubsystem(self._events)
        self.avatar = (
            AvatarSubsystem(
                config.avatar_url,
                config.avatar_api_key,
                self._events,
                timeout_ms=config.avatar_timeout_ms,
                tls=self._tls,
            )
            if config.avatar_url is not None and config.avatar_api_key is not None
            else None
        )
        if self.avatar is not None:
            self.audio.on_speaking(self.avatar.follow_voice)
        # The client's parts, in start-up order (auth first); shutdown goes the other way.
        self._subsystems: list[Subsystem] = [
            AuthSubsystem(self._auth, self._events, self._live),
            SessionSubsystem(self._session, self._events, self._live, lambda: self._state),
            LoggerSubsystem(log, self._events, self._live),
            self.audio,
            *([self.avatar] if self.avatar is not None else []),
        ]
        self._coordinator = Coordinator(self._subsystems, self._events)
        self._recovery = Recovery(self._events)
        self._supervisor: asyncio.Task[None] | None = None
        self._connection: ClientConnection | None = None
        self._skip_wait = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closing = False
        self.last_error: Classification | None = None
        # Bytes of each publish sent on the current connection, by id: to know which one a 1009 was about.
        self._sent_sizes: dict[str, int] = {}
        self._ignored_kinds: set[str] = set()  # unknown message types already logged at warning level

    # -- what the application sees ----------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._events.add_listener(listener)

    def _log_event(self, event: ClientEvent) -> None:
        level = _EVENT_LEVELS.get(event.name, logging.INFO)
        if event.name == "state:changed" and event.data.get("state") == ConnectionState.FAILED.value:
            level = logging.ERROR
        # Every message delivered is an event: skip copying its data when the line would be filtered out.
        if self._log.isEnabledFor(level):
            self._log.log(level, event.name, extra={"event": dict(event.data)})

    @property
    def config(self) -> ClientConfig:
        """The configuration in force now, run-time updates included."""
        return self._live.current

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def session_id(self) -> str | None:
        return self._session.session_id

    @property
    def subscriptions(self) -> list[str]:
        return list(self._session.subscriptions)

    @property
    def pending(self) -> int:
        """Messages published but not yet acknowledged by the gateway."""
        return len(self._session.unacked)

    async def connect(self) -> None:
        """Start connecting; while waiting to retry, retry now. Returns without waiting for ready."""
        if self._closing:
            raise ClientClosedError("the client has been shut down")
        if self._supervisor is not None and not self._supervisor.done():
            self._skip_wait.set()
            return
        await self._coordinator.initialize()
        self._backoff.reset()
        # Everything the supervisor's tasks log, the libraries under it included, carries the correlation id.
        with correlated(self.correlation_id):
            self._supervisor = asyncio.get_running_loop().create_task(
                self._supervise(), name="client-supervisor"
            )

    async def subscribe(self, channel: str) -> None:
        if self._closing:
            raise ClientClosedError("the client is shutting down; no new subscriptions")
        if self._session.want(channel) and self._state is ConnectionState.READY:
            await self._send({"type": MessageType.SUBSCRIBE, "channel": channel})

    async def publish(self, channel: str, data: Any) -> str:
        """Queue a message for the gateway and return its id. It is sent now if the session is live,
        otherwise as soon as it is, and resent after a reconnect until the gateway acknowledges it."""
        if self._closing:
            raise ClientClosedError("the client is shutting down; the message was not accepted")
        message_id = uuid.UUID(int=self._rng.getrandbits(128), version=4).hex
        pending = PendingPublish(id=message_id, channel=channel, data=data)
        self._session.unacked[message_id] = pending
        self._drained.clear()
        if self._state is ConnectionState.READY:
            await self._send_publish(pending)
        return message_id

    async def access_token(self, refused: str | None = None) -> str:
        """A current access token for the application's own calls to the services, renewed if it is due.

        A caller whose call was refused for its token passes that token as ``refused`` and gets a newer one.
        However many callers ask at once, at most one request goes to the auth service."""
        if self._closing:
            raise ClientClosedError("the client has been shut down")
        self._auth.invalidate(refused)
        return await self._auth.ensure_token()

    async def update_configuration(
        self, changes: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Change settings while running, by part: ``{"session": {"heartbeat_interval_ms": 300}}``.

        Everything is checked first: if anything is wrong nothing changes, and ``ConfigError`` says why in one
        line. Otherwise each part takes its changes at once and reports them (``config:updated``). Returns the
        settings of the parts that changed."""
        if self._closing:
            raise ClientClosedError("the client has been shut down")
        return self._coordinator.update(changes)

    def configuration(self) -> dict[str, dict[str, Any]]:
        """Each part's run-time settings, by part, in start-up order."""
        return self._coordinator.settings()

    async def start_avatar(
        self, avatar_id: str, quality: str | None = None, background: str | None = None
    ) -> dict[str, Any] | None:
        """Start an avatar session; None when the avatar API could not be used (the client goes on voice only,
        and ``session:error`` says why)."""
        if self._closing:
            raise ClientClosedError("the client has been shut down")
        if self.avatar is None:
            raise RuntimeError("the client was given no avatar service (avatar_url and avatar_api_key)")
        return await self.avatar.start(avatar_id, quality, background)

    async def start_speaking(self, voice_id: str) -> None:
        if self._closing:
            raise ClientClosedError("the client has been shut down")
        await self.audio.start_speaking(voice_id)

    async def stop_speaking(self) -> None:
        if self._closing:
            raise ClientClosedError("the client has been shut down")
        await self.audio.stop_speaking()

    def health(self) -> dict[str, Any]:
        """How the client is: ``up`` when its session is ready and every part is up, ``degraded`` when it
        works but not fully (reconnecting, or a part such as the avatar fell back), ``down`` when it does not
        work (not started, failed or closed). With the facts behind it, and no secrets."""
        parts = {
            name: {"status": status, **facts} for name, (status, facts) in self._coordinator.health().items()
        }
        overall: Health
        if self._state in (ConnectionState.INITIALIZED, ConnectionState.FAILED, ConnectionState.CLOSED):
            overall = "down"
        elif self._state is ConnectionState.READY and all(p["status"] == "up" for p in parts.values()):
            overall = "up"
        else:
            overall = "degraded"
        return {
            "status": overall,
            "state": self._state.value,
            "session_id": self._session.session_id,
            "last_error": self.last_error.description if self.last_error is not None else None,
            "subsystems": parts,
        }

    async def logout(self) -> None:
        """Shut down, and end the sign-in: the tokens are revoked at the auth service and deleted from the
        token store too, so the next start signs in afresh."""
        await self.close("the user logged out", logout=True)

    async def close(self, reason: str = "the application asked to shut down", logout: bool = False) -> None:
        """Graceful shutdown: flush or report pending messages, close with 1000, clean up in order. The stored
        tokens are kept for the next start unless this is a logout."""
        if self._closing:
            return
        was_ready = self._state is ConnectionState.READY
        self._set_state(ConnectionState.CLOSING, reason)
        self._closing = True
        self._events.emit("disconnecting", reason=reason, pending=self.pending)
        if was_ready and self.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), self.config.shutdown_flush_ms / 1000)
        unsent = list(self._session.unacked)
        if unsent:
            self._events.emit("publish:unsent", ids=unsent, count=len(unsent))
        close_code: int | None = None
        connection = self._connection
        if connection is not None:
            await connection.close(_SHUTDOWN_CODE, "client shutdown")
            close_code = _SHUTDOWN_CODE
        await self._stop_supervisor()
        await self._coordinator.cleanup(USER_LOGOUT if logout else "shutdown")
        await self._http.aclose()
        self._set_state(ConnectionState.CLOSED, "shutdown complete")
        self._events.emit("disconnected", code=close_code, reason=reason)

    async def _stop_supervisor(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor

    # -- the supervisor ---------------------------------------------------------------------------

    async def _supervise(self) -> None:
        reason = "the application asked to connect"
        while not self._closing:
            ended, ready_for_s = await self._run_connection(reason)
            if self._closing:
                return
            ended = ended.with_pause_for(self.config.backoff.max_ms)
            self.last_error = ended
            if self._session.session_id is not None:
                # The live session was lost (or is still being won back): one recovery for all of it.
                self._recovery.failed(failed_part(ended), ended.description)
            self._events.emit(
                "error:classified",
                classification=ended.kind,
                error=ended.description,
                retryable=ended.retryable,
                recommended_delay_ms=round(ended.recommended_delay_ms),
                close_code=ended.close_code,
            )
            if ready_for_s * 1000 >= self.config.stable_connection_ms:
                self._backoff.reset()
            if not ended.retryable:
                self._set_state(ConnectionState.FAILED, f"gave up: {ended.description}")
                self._recovery.gave_up(ended.description)
                return
            limit = self.config.retry_limit
            if limit is not None and self._backoff.attempt >= limit:
                self._events.emit(
                    "reconnect:exhausted",
                    total_attempts=self._backoff.attempt + 1,
                    limit=limit,
                    last_error=ended.description,
                )
                self._set_state(
                    ConnectionState.FAILED, f"gave up after {limit} retries; last error: {ended.description}"
                )
                self._recovery.gave_up(f"gave up after {limit} retries")
                return
            if ended.renew_token:
                self._auth.invalidate(self._token_in_use)
            attempt, jittered_ms = self._backoff.next_delay_ms()
            delay_ms = max(jittered_ms, ended.recommended_delay_ms)
            self._set_state(ConnectionState.RECONNECTING, f"retry {attempt} after: {ended.description}")
            self._events.emit(
                "reconnect:scheduled",
                attempt=attempt,
                delay_ms=round(delay_ms, 1),
                base_delay_ms=round(self.config.backoff.base_delay_ms(attempt), 1),
                reason=ended.description,
            )
            await self._wait_before_retry(delay_ms / 1000)
            reason = f"retry {attempt}"

    async def _wait_before_retry(self, delay_s: float) -> None:
        self._skip_wait.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._skip_wait.wait(), delay_s)

    async def _run_connection(self, reason: str) -> tuple[Classification, float]:
        """One attempt and, if it succeeds, the live session.

        Returns why it ended and how long the session was ready."""
        ready_at: float | None = None
        connection: ClientConnection | None = None
        try:
            self._set_state(ConnectionState.CONNECTING, reason)
            self._set_state(ConnectionState.AUTHENTICATING, "presenting credentials")
            token = await self._auth.ensure_token()
            self._sent_sizes.clear()
            connection = await connect(
                self.config.gateway_url,
                additional_headers={
                    "Authorization": f"Bearer {token}",
                    CORRELATION_HEADER: self.correlation_id,
                },
                logger=_wire_log,
                open_timeout=self.config.connect_timeout_ms / 1000,
                ping_interval=None,  # heartbeats are ours, so their timing is configurable and visible
                close_timeout=self.config.heartbeat_timeout_ms / 1000,
                max_size=self.config.max_message_bytes,
                subprotocols=[Subprotocol(name) for name in self.config.subprotocols] or None,
                compression="deflate" if self.config.compression else None,
                # websockets refuses a TLS context for a ws:// address, so it is given for wss:// only.
                ssl=self._tls if urlparse(self.config.gateway_url).scheme == "wss" else None,
            )
            self._connection = connection
            self._token_in_use = token
            self._set_state(ConnectionState.CONNECTED, "the gateway accepted the handshake")
            self._events.emit(
                "protocol:negotiated",
                subprotocol=connection.subprotocol,
                compression=_compression_of(connection),
            )
            how = await self._open_session(connection)
            ready_at = time.monotonic()
            self._set_state(ConnectionState.READY, how)
            self._recovery.completed(self._session.session_id, resumed=how == _RESUMED)
            ended = await self._stay_live(connection)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            ended = classify(error)
        finally:
            self._connection = None
            if connection is not None and not self._closing:
                # Don't wait for a closing handshake on a link that may be dead.
                connection.transport.abort()
        if ready_at is not None or self._state is ConnectionState.CONNECTED:
            self._set_state(ConnectionState.DISCONNECTED, ended.description)
            self._events.emit("connection:lost", reason=ended.description, code=ended.close_code)
        if ended.kind == f"closed_{CloseCode.MESSAGE_TOO_BIG}":
            self._refuse_oversized()
        return ended, (time.monotonic() - ready_at) if ready_at is not None else 0.0

    async def _open_session(self, connection: ClientConnection) -> str:
        hello: dict[str, Any] = {"type": MessageType.HELLO}
        previous = self._session.session_id
        if previous:
            hello["resume"] = {"session_id": previous, "last_seq": self._session.last_seq}
        await connection.send(encode(hello))
        try:
            welcome = decode(await asyncio.wait_for(connection.recv(), self.config.connect_timeout_ms / 1000))
        except ProtocolError as error:
            raise ProtocolViolationError(f"the first frame was unusable: {error}") from None
        if welcome["type"] != MessageType.WELCOME:
            raise ProtocolViolationError(f"expected a welcome, got a {welcome['type']!r} message")
        if welcome["resumed"]:
            how = _RESUMED
            self._events.emit("session:resumed", session_id=previous, replay=welcome.get("replay", 0))
        else:
            self._session.start_fresh(welcome["session_id"])
            if previous:
                how = "a new session started; continuity was lost"
                reason = welcome.get("reason") or "the server did not resume the session"
                self._events.emit(
                    "session:continuity_lost",
                    previous_session_id=previous,
                    session_id=welcome["session_id"],
                    reason=reason,
                )
                self._recovery.failed("session", f"the session could not be resumed: {reason}")
            else:
                how = "a new session started"
                self._events.emit("session:started", session_id=welcome["session_id"])
        for channel in self._session.unconfirmed():
            await connection.send(encode({"type": MessageType.SUBSCRIBE, "channel": channel}))
        for pending in list(self._session.unacked.values()):
            await self._send_publish(pending, connection)
        return how

    async def _stay_live(self, connection: ClientConnection) -> Classification:
        tasks = [
            asyncio.create_task(self._read(connection), name="client-reader"),
            asyncio.create_task(self._heartbeat(connection), name="client-heartbeat"),
            asyncio.create_task(self._refresh_tokens(connection), name="client-token-refresh"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return next(iter(done)).result()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, connection: ClientConnection) -> Classification:
        while True:
            try:
                frame = await connection.recv()
            except ConnectionClosed as closed:
                return classify(closed)
            unusable = await self._receive(connection, frame)
            if unusable is not None:
                return unusable

    async def _receive(self, connection: ClientConnection, frame: str | bytes) -> Classification | None:
        """Act on one frame; for a frame the client cannot use, close the connection and say why."""
        try:
            message = decode(frame)
        except UnknownMessageTypeError as error:
            self._ignore(str(error))
            return None
        except ProtocolError as error:
            return await self._hang_up(connection, error)
        kind = message["type"]
        if kind == MessageType.MESSAGE:
            await self._deliver(connection, message)
        elif kind == MessageType.ACK and "id" in message:
            if self._session.acknowledge(message["id"]) is not None:
                self._events.emit("publish:acked", id=message["id"])
            if not self._session.unacked:
                self._drained.set()
        elif kind == MessageType.SUBSCRIBED:
            self._session.confirmed.add(message["channel"])
            self._events.emit("subscribed", channel=message["channel"])
        elif kind == MessageType.ERROR and "id" in message and message["id"] in self._session.unacked:
            # The gateway will never take this message: stop sending it, and tell the application.
            refused = self._session.unacked.pop(message["id"])
            self._events.emit(
                "publish:refused",
                id=refused.id,
                channel=refused.channel,
                code=message["code"],
                reason=message["message"],
            )
            if not self._session.unacked:
                self._drained.set()
        elif kind == MessageType.ERROR:
            self._events.emit("server:error", code=message["code"], message=message["message"])
        else:
            self._events.emit("protocol:ignored", reason=f"a {kind!r} message was not expected now")
        return None

    def _ignore(self, reason: str) -> None:
        # A newer gateway may send types this client does not know yet: worth one warning per type, not one
        # per frame.
        level = logging.DEBUG if reason in self._ignored_kinds else logging.WARNING
        self._ignored_kinds.add(reason)
        log.log(level, "ignored a frame from the gateway: %s", reason)
        self._events.emit("protocol:ignored", reason=reason)

    async def _hang_up(self, connection: ClientConnection, error: ProtocolError) -> Classification:
        """A frame the client cannot use means it can no longer trust where it is in the stream: it closes the
        connection with the code RFC 6455 gives for what was wrong, and resumes on a new one, where the
        gateway replays whatever was not acknowledged."""
        code = error.close_code
        self._events.emit("protocol:error", reason=str(error), code=code)
        with contextlib.suppress(ConnectionClosed):
            await connection.close(code, "unusable frame")
        return Classification(
            "unusable_frame",
            True,
            f"the gateway sent a frame the client could not use ({error}); "
            f"the client closed the connection: {describe_close_code(code)}",
            close_code=code,
        )

    def _refuse_oversized(self) -> None:
        """The gateway closed the connection because a message it was sent was too big. The oversized one is
        never acknowledged, and whatever is at least as big is too big as well: so the biggest publish sent on
        that connection and not acknowledged is certainly one. It is dropped and reported; the rest are sent
        again after the reconnect. Were there several, each later 1009 drops the next, so none loops forever.
        """
        sent = [(size, message_id) for message_id, size in self._sent_sizes.items()]
        candidates = [(size, message_id) for size, message_id in sent if message_id in self._session.unacked]
        if not candidates:
            return
        size, message_id = max(candidates)
        refused = self._session.unacked.pop(message_id)
        self._events.emit(
            "publish:refused",
            id=refused.id,
            channel=refused.channel,
            code="too_big",
            reason="the gateway closed the connection because a message was too big; "
            f"this one, {size} bytes, was the biggest it had not acknowledged",
        )
        if not self._session.unacked:
            self._drained.set()

    async def _deliver(self, connection: ClientConnection, message: dict[str, Any]) -> None:
        seq = message["seq"]
        arrival = self._session.arrival(seq)
        if arrival is Arrival.DUPLICATE:
            self._events.emit("message:duplicate", seq=seq, channel=message["channel"])
            return
        if arrival is Arrival.GAP:
            self._events.emit("message:gap", expected=self._session.last_seq + 1, received=seq)
        self._session.delivered(seq)
        self._events.emit("message", channel=message["channel"], seq=seq, data=message.get("data"))
        await connection.send(encode({"type": MessageType.ACK, "seq": seq}))

    async def _heartbeat(self, connection: ClientConnection) -> Classification:
        loop = asyncio.get_running_loop()
        while True:
            # Timed by the interval in force: a new one counts from the last heartbeat, not the next.
            last = loop.time()
            while (left_s := last + self.config.heartbeat_interval_ms / 1000 - loop.time()) > 0:
                await self._live.pause(left_s)
            try:
                pong = await connection.ping()
                round_trip_s = await asyncio.wait_for(pong, self.config.heartbeat_timeout_ms / 1000)
                log.debug("heartbeat answered in %.1f ms", round_trip_s * 1000)
            except ConnectionClosed as closed:
                return classify(closed)
            except TimeoutError:
                self._events.emit("heartbeat:timeout", waited_ms=self.config.heartbeat_timeout_ms)
                return classify(
                    HeartbeatTimeoutError(
                        f"no reply to a heartbeat within {self.config.heartbeat_timeout_ms} ms "
                        "(the link is half-open or too slow)"
                    )
                )

    async def _refresh_tokens(self, connection: ClientConnection) -> Classification:
        """Refresh the token when due and hand it to the live connection; never ends the session itself.

        A failure worth retrying is retried with backoff. One that is not (the key itself is refused) stops
        renewal: asking again would only be a storm. The session then runs until the gateway closes it for
        expiry, and the reconnect that follows says why access can't be had."""
        backoff = Backoff(self.config.backoff, self._rng)
        while True:
            # Timed by the refresh fraction in force: a new one moves the renewal of the token held now.
            while (due_in_s := self._auth.refresh_due_in()) > 0:
                await self._live.pause(due_in_s)
            await asyncio.sleep(0)
            try:
                token = await self._auth.ensure_token()
            except AuthError as error:
                # Already reported as auth:error.
                log.debug("token renewal failed: %s", classify(error).description)
                if not error.retryable:
                    await asyncio.Future()  # until the connection ends
                _, delay_ms = backoff.next_delay_ms()
                await asyncio.sleep(
                    max(delay_ms, self.config.backoff.initial_ms, (error.retry_after_s or 0) * 1000) / 1000
                )
                continue
            backoff.reset()
            if token != self._token_in_use:
                await connection.send(encode({"type": MessageType.AUTH, "token": token}))
                self._token_in_use = token

    async def _send(self, message: dict[str, Any]) -> None:
        connection = self._connection
        if connection is not None:
            # A message that can't go now goes after the reconnect (publishes stay pending until acked).
            with contextlib.suppress(ConnectionClosed):
                await connection.send(encode(message))

    async def _send_publish(
        self, pending: PendingPublish, connection: ClientConnection | None = None
    ) -> None:
        if pending.sends:
            self._events.emit("publish:resent", id=pending.id, channel=pending.channel)
        pending.sends += 1
        message = {
            "type": MessageType.PUBLISH,
            "id": pending.id,
            "channel": pending.channel,
            "data": pending.data,
        }
        frame = encode(message)
        self._sent_sizes[pending.id] = len(frame.encode("utf-8"))
        if connection is not None:
            await connection.send(frame)
        else:
            await self._send(message)

    # -- state ------------------------------------------------------------------------------------

    def _set_state(self, state: ConnectionState, reason: str) -> None:
        if state is self._state:
            return
        if self._closing and state not in (ConnectionState.CLOSING, ConnectionState.CLOSED):
            return  # nothing but the shutdown's own states once shutdown has begun
        previous, self._state = self._state, state
        self._events.emit("state:changed", state=state.value, previous=previous.value, reason=reason)


def _default_correlation_id(seed: int | None) -> str:
    """The correlation id of a client the application gives none: stable for a seed, like the client id."""
    if seed is None:
        return f"c-{uuid.uuid4().hex[:16]}"
    return "c-" + hashlib.sha256(f"correlation-id:{seed}".encode()).hexdigest()[:16]


def _compression_of(connection: ClientConnection) -> str | None:
    """The compression extension the connection uses, if any (e.g. "permessage-deflate")."""
    names = [extension.name for extension in connection.protocol.extensions]
    return names[0] if names else None


def _default_client_id(seed: int | None) -> str:
    """The name the client gives the auth service when the application gives none: stable for a seed, so a
    seeded run is repeatable, and otherwise drawn at random."""
    if seed is None:
        return f"rtc-{uuid.uuid4().hex[:16]}"
    return "rtc-" + hashlib.sha256(f"client-id:{seed}".encode()).hexdigest()[:16]
