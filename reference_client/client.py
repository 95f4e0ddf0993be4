"""The reference realtime client: connect, stay connected, resume, shut down cleanly.

``RealtimeClient`` is the application's API; the work is done by parts, each in a module of its own:

* ``session_core.ClientSession`` — the session without I/O: ordering and de-duplication by ``seq``, resume,
  the outbox of unacknowledged publishes, and what to do with each frame;
* ``supervisor.Supervisor`` — the one task that owns the connection: attempt, classify, back off, retry;
* ``connection.Connector`` — one attempt: token, WebSocket handshake, ``hello``/``welcome``, the live session;
* ``receiver``, ``heartbeat``, ``renewal`` — what runs on a live connection;
* ``coordination``, ``core_subsystems``, ``audio``, ``avatar`` — the subsystems, started and stopped together.

Everything the client does is announced as an event (``add_listener``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import ssl
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from realtime_protocol import CloseCode
from realtime_protocol.structured_log import CORRELATION_HEADER, CorrelatedLogger
from reference_client.audio import AudioSubsystem
from reference_client.auth import TokenManager
from reference_client.avatar import AvatarSubsystem
from reference_client.backoff import Backoff
from reference_client.config import ClientConfig
from reference_client.connection import Connector
from reference_client.coordination import Coordinator, LiveConfig, Recovery
from reference_client.core_subsystems import USER_LOGOUT, AuthSubsystem, LoggerSubsystem, SessionSubsystem
from reference_client.errors import Classification, ClientClosedError
from reference_client.event_log import EventLog
from reference_client.events import EventEmitter, Listener
from reference_client.link import Link, Wiring
from reference_client.session_core import ClientSession
from reference_client.states import ConnectionState, StateMachine
from reference_client.subsystems import Health, Subsystem
from reference_client.supervisor import Supervisor
from reference_client.token_store import TokenStore

log = logging.getLogger("reference_client")

_SHUTDOWN_CODE = int(CloseCode.NORMAL)
_SHUT_DOWN = "the client has been shut down"


class RealtimeClient:
    """One client of the realtime service, built from a ``ClientConfig``. Its methods are coroutines to be
    awaited on the event loop that runs it; once ``close`` has begun, those that start work raise
    ``ClientClosedError``."""

    def __init__(self, config: ClientConfig) -> None:
        self._live = LiveConfig(config)
        self._events = EventEmitter()
        self.correlation_id = config.correlation_id or _default_correlation_id(config.random_seed)
        self._events.add_listener(EventLog(CorrelatedLogger(log, self.correlation_id)))
        self._rng = random.Random(config.random_seed)
        # One TLS context for sign-in and the realtime connection, so both trust exactly the same authorities.
        self._tls = config.tls_context()
        self._http = httpx.AsyncClient(
            timeout=config.auth_timeout_ms / 1000,
            verify=self._tls,
            headers={CORRELATION_HEADER: self.correlation_id},
        )
        self.client_id = config.client_id or _default_client_id(config.random_seed)
        self._auth = TokenManager(
            config.auth_url,
            config.api_key,
            self._http,
            self._events,
            config.token_refresh_fraction,
            _token_store(config),
            client_id=self.client_id,
        )
        self._states = StateMachine(self._events)
        self._link = Link(ClientSession(), self._events)
        self.audio = AudioSubsystem(self._events)
        self.avatar = _avatar(config, self._events, self._tls)
        if self.avatar is not None:
            self.audio.on_speaking(self.avatar.follow_voice)
        # The client's parts, in start-up order (auth first); shutdown goes the other way.
        subsystems: list[Subsystem] = [
            AuthSubsystem(self._auth, self._events, self._live),
            SessionSubsystem(self._link.session.state, self._events, self._live, lambda: self._states.state),
            LoggerSubsystem(log, self._events, self._live),
            self.audio,
            *([self.avatar] if self.avatar is not None else []),
        ]
        self._coordinator = Coordinator(subsystems, self._events)
        wiring = Wiring(
            self._link, self._states, self._live, self._events, self._auth, Recovery(self._events)
        )
        connector = Connector(wiring, rng=self._rng, tls=self._tls, correlation_id=self.correlation_id)
        self._supervisor = Supervisor(wiring, connector, Backoff(config.backoff, self._rng))

    # -- what the application sees ----------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every ``ClientEvent`` from now on, in order, on the client's event loop. A
        listener that raises is logged and does not disturb the client."""
        self._events.add_listener(listener)

    @property
    def config(self) -> ClientConfig:
        """The configuration in force now, run-time updates included."""
        return self._live.current

    @property
    def subscriptions(self) -> list[str]:
        """The channels asked for, in the order the application asked."""
        return list(self._link.session.state.subscriptions)

    @property
    def state(self) -> ConnectionState:
        """Where the connection is now; every change is announced as ``state:changed``."""
        return self._states.state

    @property
    def session_id(self) -> str | None:
        """The gateway's id for the session, kept across reconnects to resume it; None before the first."""
        return self._link.session.session_id

    @property
    def pending(self) -> int:
        """Messages published but not yet acknowledged by the gateway."""
        return self._link.session.pending

    async def connect(self) -> None:
        """Start connecting; while waiting to retry, retry now. Returns without waiting for ready."""
        self._refuse_if_closing(_SHUT_DOWN)
        if self._supervisor.running:
            self._supervisor.retry_now()
            return
        await self._coordinator.initialize()
        self._supervisor.start(self.correlation_id)

    async def subscribe(self, channel: str) -> None:
        """Subscribe to ``channel``: now if the session is live, otherwise as soon as it is, and again on
        every new session."""
        self._refuse_if_closing("the client is shutting down; no new subscriptions")
        reaction = self._link.session.subscribe(channel)
        if self.state is ConnectionState.READY:
            await self._link.send_if_open(reaction)

    async def publish(self, channel: str, data: Any) -> str:
        """Queue a message for the gateway and return its id. It is sent now if the session is live,
        otherwise as soon as it is, and resent after a reconnect until the gateway acknowledges it."""
        self._refuse_if_closing("the client is shutting down; the message was not accepted")
        message_id = uuid.UUID(int=self._rng.getrandbits(128), version=4).hex
        pending = self._link.session.publish(message_id, channel, data)
        self._link.drained.clear()
        if self.state is ConnectionState.READY:
            await self._link.send_if_open(self._link.session.send_publish(pending))
        return message_id

    async def access_token(self, refused: str | None = None) -> str:
        """A current access token for the application's own calls to the services, renewed if it is due.

        A caller whose call was refused for its token passes that token as ``refused`` and gets a newer one.
        However many callers ask at once, at most one request goes to the auth service."""
        self._refuse_if_closing(_SHUT_DOWN)
        self._auth.invalidate(refused)
        return await self._auth.ensure_token()

    async def update_configuration(
        self, changes: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        """Change settings while running, by part: ``{"session": {"heartbeat_interval_ms": 300}}``.

        Everything is checked first: if anything is wrong nothing changes, and ``ConfigError`` says why in one
        line. Otherwise each part takes its changes at once and reports them (``config:updated``). Returns the
        settings of the parts that changed."""
        self._refuse_if_closing(_SHUT_DOWN)
        return self._coordinator.update(changes)

    def configuration(self) -> dict[str, dict[str, Any]]:
        """Each part's run-time settings, by part, in start-up order."""
        return self._coordinator.settings()

    async def start_avatar(
        self, avatar_id: str, quality: str | None = None, background: str | None = None
    ) -> dict[str, Any] | None:
        """Start an avatar session; None when the avatar API could not be used (the client goes on voice only,
        and ``session:error`` says why)."""
        self._refuse_if_closing(_SHUT_DOWN)
        if self.avatar is None:
            raise RuntimeError("the client was given no avatar service (avatar_url and avatar_api_key)")
        return await self.avatar.start(avatar_id, quality, background)

    async def start_speaking(self, voice_id: str) -> None:
        """The voice starts speaking with ``voice_id``; the avatar, if there is one, follows."""
        self._refuse_if_closing(_SHUT_DOWN)
        await self.audio.start_speaking(voice_id)

    async def stop_speaking(self) -> None:
        """The voice stops speaking; the avatar, if there is one, follows."""
        self._refuse_if_closing(_SHUT_DOWN)
        await self.audio.stop_speaking()

    @property
    def last_error(self) -> Classification | None:
        """Why the last connection ended (or the last attempt failed); None before any did."""
        return self._supervisor.last_error

    def health(self) -> dict[str, Any]:
        """How the client is: ``up`` when its session is ready and every part is up, ``degraded`` when it
        works but not fully (reconnecting, or a part such as the avatar fell back), ``down`` when it does not
        work (not started, failed or closed). With the facts behind it, and no secrets."""
        parts = {
            name: {"status": status, **facts} for name, (status, facts) in self._coordinator.health().items()
        }
        state = self.state
        overall: Health
        if state in (ConnectionState.INITIALIZED, ConnectionState.FAILED, ConnectionState.CLOSED):
            overall = "down"
        elif state is ConnectionState.READY and all(p["status"] == "up" for p in parts.values()):
            overall = "up"
        else:
            overall = "degraded"
        last_error = self.last_error
        return {
            "status": overall,
            "state": state.value,
            "session_id": self.session_id,
            "last_error": last_error.description if last_error is not None else None,
            "subsystems": parts,
        }

    async def logout(self) -> None:
        """Shut down, and end the sign-in: the tokens are revoked at the auth service and deleted from the
        token store too, so the next start signs in afresh."""
        await self.close("the user logged out", logout=True)

    async def close(self, reason: str = "the application asked to shut down", logout: bool = False) -> None:
        """Graceful shutdown: wait up to ``shutdown_flush_ms`` for pending messages to be acknowledged and
        report the rest (``publish:unsent``), close with 1000 (RFC 6455 §7.4.1), clean the parts up in the
        reverse of the start-up order. The stored tokens are kept for the next start unless this is a
        logout. Closing again does nothing."""
        if self._states.closing:
            return
        was_ready = self.state is ConnectionState.READY
        self._states.begin_closing(reason)
        self._events.emit("disconnecting", reason=reason, pending=self.pending)
        if was_ready and self.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._link.drained.wait(), self.config.shutdown_flush_ms / 1000)
        unsent = self._link.session.unacked_ids()
        if unsent:
            self._events.emit("publish:unsent", ids=unsent, count=len(unsent))
        close_code: int | None = None
        connection = self._link.connection
        if connection is not None:
            await connection.close(_SHUTDOWN_CODE, "client shutdown")
            close_code = _SHUTDOWN_CODE
        await self._supervisor.stop()
        await self._coordinator.cleanup(USER_LOGOUT if logout else "shutdown")
        await self._http.aclose()
        self._states.move(ConnectionState.CLOSED, "shutdown complete")
        self._events.emit("disconnected", code=close_code, reason=reason)

    def _refuse_if_closing(self, why: str) -> None:
        if self._states.closing:
            raise ClientClosedError(why)


def _token_store(config: ClientConfig) -> TokenStore | None:
    """Where the tokens are kept between runs, when the configuration names a file and its key."""
    if config.token_store_path is None or config.token_store_key is None:
        return None
    return TokenStore(config.token_store_path, config.token_store_key)


def _avatar(config: ClientConfig, events: EventEmitter, tls: ssl.SSLContext) -> AvatarSubsystem | None:
    """The avatar subsystem, when the configuration names an avatar service and its key."""
    if config.avatar_url is None or config.avatar_api_key is None:
        return None
    return AvatarSubsystem(
        config.avatar_url, config.avatar_api_key, events, timeout_ms=config.avatar_timeout_ms, tls=tls
    )


def _default_correlation_id(seed: int | None) -> str:
    """The correlation id of a client the application gives none: stable for a seed, like the client id."""
    if seed is None:
        return f"c-{uuid.uuid4().hex[:16]}"
    return "c-" + hashlib.sha256(f"correlation-id:{seed}".encode()).hexdigest()[:16]


def _default_client_id(seed: int | None) -> str:
    """The name the client gives the auth service when the application gives none: stable for a seed, so a
    seeded run is repeatable, and otherwise drawn at random."""
    if seed is None:
        return f"rtc-{uuid.uuid4().hex[:16]}"
    return "rtc-" + hashlib.sha256(f"client-id:{seed}".encode()).hexdigest()[:16]
