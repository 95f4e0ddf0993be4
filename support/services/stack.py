"""The embedded service stack: auth service, realtime gateway, and a fault proxy on the client's path
to the gateway, all on one background event loop.

It starts once per run and is reset before each scenario. Its methods are synchronous so steps and
hooks can call them directly; each hands the real work to the services' loop.
"""

from __future__ import annotations

import random
import ssl
from dataclasses import dataclass
from typing import Any, TypeVar

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from support.journal import Journal, JournalEntry
from support.problems import EnvironmentProblem
from support.runtime import BackgroundLoop
from support.services.auth_service import (
    ANSWER_FLAWS,
    Account,
    AuthService,
    IssuedToken,
    ProgrammedResponse,
)
from support.services.certificates import CertificateAuthority
from support.services.fault_proxy import FaultProxy, FaultRecord
from support.services.gateway import Gateway, StopMode
from support.services.tokens import FLAWS, TokenAuthority
from support.settings import Settings
from support.transcript import Frame

T = TypeVar("T")
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Endpoints:
    """Where a client under test should go."""

    auth_url: str
    gateway_url: str
    ca_file: str | None = None  # the test authority's certificate, to trust when the services run over TLS


class ServiceStack:
    def __init__(self, settings: Settings, *, tls: bool | None = None) -> None:
        self.settings = settings
        self.tls = settings.tls if tls is None else tls  # https:// and wss:// with a test authority
        self._certificates: CertificateAuthority | None = None
        self._gateway_tls: ssl.SSLContext | None = None
        self._gateway_shows_impostor = False
        self.loop = BackgroundLoop("services")
        self.auth_journal = Journal("auth service")
        self.gateway_journal = Journal("gateway")
        self.network_journal = Journal("network")
        self._rng = random.Random(settings.seed)
        self._auth: AuthService | None = None
        self._gateway: Gateway | None = None
        self._proxy: FaultProxy | None = None
        self._starting = "event loop"  # which service start() is at, to say which one failed

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every service, or raise ``EnvironmentProblem`` saying which could not start and why."""
        try:
            if self.tls:
                self._starting = "test certificate authority"
                self._certificates = CertificateAuthority()
            self._starting = "event loop"
            self.loop.start()
            self.loop.run(self._start())
        except (OSError, TimeoutError) as error:
            raise EnvironmentProblem(
                f"the mock services could not start ({self._starting})", error
            ) from error

    async def _start(self) -> None:
        self._starting = "auth service"
        authority = TokenAuthority()
        self._auth = AuthService(
            authority,
            self.auth_journal,
            access_lifetime_ms=self.settings.token_lifetime_ms,
            refresh_lifetime_ms=self.settings.refresh_token_lifetime_ms,
            ssl_context=self._server_tls(self.auth_journal),
            failure_limit=self.settings.auth_failure_limit,
            failure_window_ms=self.settings.auth_failure_window_ms,
        )
        await self._auth.start()
        self._starting = "gateway"
        self._gateway_tls = self._server_tls(self.gateway_journal)
        self._gateway = Gateway(
            authority,
            self.gateway_journal,
            resume_window_ms=self.settings.resume_window_ms,
            rng=self._rng,
            is_revoked=self._auth.is_revoked,
            ssl_context=self._gateway_tls,
        )
        await self._gateway.start()
        self._starting = "fault proxy"
        self._proxy = FaultProxy(
            "gateway link", "127.0.0.1", self._gateway.port, rng=self._rng, journal=self.network_journal
        )
        await self._proxy.start()

    def _server_tls(self, journal: Journal) -> ssl.SSLContext | None:
        """A TLS context for one service (None without TLS); every TLS handshake a client starts with the
        service is journaled, so attempts that fail on the certificate are seen too."""
        if self._certificates is None:
            return None
        return self._certificates.server_context(on_hello=lambda: journal.record("tls handshake"))

    def reset(self, seed: int) -> None:
        """Make the stack as good as new for the next scenario, with its randomness re-seeded."""
        self._rng.seed(seed)
        self.loop.run(self._reset())

    async def _reset(self) -> None:
        await self.proxy.reset()
        await self.gateway.reset()
        self.gateway.resume_window_ms = self.settings.resume_window_ms
        await self.auth.start()  # a scenario may have stopped it
        if self._gateway_shows_impostor and self._certificates is not None and self._gateway_tls is not None:
            self._certificates.show_genuine_certificate(self._gateway_tls)
            self._gateway_shows_impostor = False
        self.auth.reset()
        self.network_journal.clear()

    def stop(self) -> list[str]:
        """Stop everything; return descriptions of any tasks that had to be cancelled."""
        try:
            if not self.loop.running:
                return []
            self.loop.run(self._stop())
            return self.loop.stop()
        finally:
            if self._certificates is not None:
                self._certificates.close()

    async def _stop(self) -> None:
        if self._proxy is not None:
            await self._proxy.close()
        if self._gateway is not None:
            await self._gateway.close()
        if self._auth is not None:
            await self._auth.stop()

    @property
    def endpoints(self) -> Endpoints:
        # The client goes through the fault proxy, which relays TLS untouched, so network faults still apply.
        scheme = "wss" if self._certificates is not None else "ws"
        return Endpoints(
            auth_url=self.auth.url,
            gateway_url=f"{scheme}://127.0.0.1:{self.proxy.port}/realtime",
            ca_file=str(self._certificates.ca_file) if self._certificates is not None else None,
        )

    @property
    def auth(self) -> AuthService:
        return _started(self._auth)

    @property
    def gateway(self) -> Gateway:
        return _started(self._gateway)

    @property
    def proxy(self) -> FaultProxy:
        return _started(self._proxy)

    # -- auth service ------------------------------------------------------------------------------

    def register_account(
        self,
        api_key: str,
        subject: str,
        channels: tuple[str, ...] = ("*",),
        publish: tuple[str, ...] | None = None,
    ) -> None:
        """Let ``api_key`` sign in as ``subject``, reading ``channels`` and posting to ``publish`` (None:
        wherever it may read)."""
        account = Account(subject=subject, channels=channels, publish_channels=publish)
        self.loop.call(lambda: self.auth.register(api_key, account))

    def program_auth(self, *responses: ProgrammedResponse) -> None:
        self.loop.call(lambda: self.auth.program(*responses))

    def hand_out_flawed_tokens(self, flaw: str) -> None:
        """From now on the auth service signs people in with access tokens that have this flaw."""
        known = (*FLAWS, *ANSWER_FLAWS)
        if flaw not in known:
            raise ValueError(f"unknown token flaw {flaw!r} (known: {', '.join(known)})")
        self.loop.call(lambda: setattr(self.auth, "token_flaw", flaw))

    def close_account(self, api_key: str) -> None:
        self.loop.call(lambda: self.auth.close_account(api_key))

    def issued_tokens(self, subject: str | None = None) -> list[IssuedToken]:
        return self.loop.call(lambda: self.auth.issued_tokens(subject))

    def revoke_sign_in(self, subject: str) -> None:
        """End every sign-in of ``subject`` at the auth service (the auth service need not be running), and
        have the gateway drop, for its token, every connection still holding a revoked access token."""

        async def revoke() -> None:
            self.auth.revoke_sign_in(subject)
            await self.gateway.drop_revoked()

        self.loop.run(revoke())

    def stop_auth(self) -> None:
        """The auth service goes away: its port refuses connections until ``start_auth``."""
        self.loop.run(self.auth.stop())

    def start_auth(self) -> None:
        self.loop.run(self.auth.start())

    # -- gateway -----------------------------------------------------------------------------------

    def probe_gateway(self, token: str | None) -> int:
        """Ask the gateway for a realtime connection as a bare WebSocket client would, presenting ``token``
        (or none): the HTTP status of its answer, 101 when it accepted."""

        async def probe() -> int:
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            try:
                async with connect(
                    self.gateway.url,
                    additional_headers=headers,
                    open_timeout=PROBE_TIMEOUT_S,
                    ssl=self._certificates.client_context() if self._certificates is not None else None,
                ):
                    return 101
            except InvalidStatus as refused:
                return refused.response.status_code

        return self.loop.run(probe())

    def show_untrusted_gateway_certificate(self) -> None:
        """From now until the next reset, the gateway shows a certificate from an authority nobody trusts."""
        certificates, context = self._certificates, self._gateway_tls
        if certificates is None or context is None:
            raise RuntimeError("the services are not running over TLS, so the gateway shows no certificate")
        self.loop.call(lambda: certificates.show_impostor_certificate(context))
        self._gateway_shows_impostor = True

    # -- network -----------------------------------------------------------------------------------

    def network_down(self) -> FaultRecord:
        return self.loop.run(self.proxy.down())

    def heal_network(self) -> None:
        """Lift every fault: the link is up and bytes flow normally again."""

        async def heal() -> None:
            for record in self.proxy.faults:
                if record.active and record.kind != "down":
                    self.proxy.remove_toxic(record.name)
            if self.proxy.is_down:
                await self.proxy.up()

        self.loop.run(heal())

    def add_fault(self, kind: str, stream: str = "downstream", **attributes: Any) -> FaultRecord:
        return self.loop.call(lambda: self.proxy.add_toxic(kind, stream=stream, **attributes))  # type: ignore[arg-type]

    def start_stream(self, channel: str, rate_per_s: float | None = None) -> None:
        rate = rate_per_s or self.settings.stream_rate_per_s
        self.loop.call(lambda: self.gateway.start_stream(channel, rate))

    def stop_stream(self, channel: str) -> int:
        return self.loop.run(self.gateway.stop_stream(channel))

    def publish(self, channel: str, data: Any) -> None:
        self.loop.run(self.gateway.publish(channel, data))

    def push(self, channel: str, count: int) -> None:
        async def push_all() -> None:
            for number in range(1, count + 1):
                await self.gateway.publish(channel, {"n": number})

        self.loop.run(push_all())

    def stop_gateway(self, mode: StopMode, code: int, keep_sessions: bool) -> None:
        self.loop.run(self.gateway.stop(mode=mode, code=code, keep_sessions=keep_sessions))

    def start_gateway(self) -> None:
        self.loop.run(self.gateway.start())

    def forget_gateway_sessions(self) -> None:
        """The gateway loses every session it holds: a client resuming one is told it is unknown."""
        self.loop.call(self.gateway.forget_sessions)

    def gateway_heartbeats(self) -> list[float]:
        """When each client heartbeat (ping) reached the gateway since the last reset, oldest first."""
        return self.loop.call(self.gateway.heartbeats)

    def gateway_sessions(self) -> list[str]:
        return self.loop.call(self.gateway.session_ids)

    def gateway_subscriptions(self, session_id: str) -> set[str]:
        return self.loop.call(lambda: self.gateway.subscriptions_of(session_id))

    def gateway_messages_sent(self, session_ids: list[str]) -> dict[str, int]:
        """How many messages the gateway has numbered for each of these sessions."""
        return self.loop.call(lambda: {sid: self.gateway.messages_sent(sid) for sid in session_ids})

    # -- what happened -----------------------------------------------------------------------------

    def journal_entries(self) -> list[JournalEntry]:
        """Everything the services and the network recorded, in time order."""
        entries = [*self.auth_journal, *self.gateway_journal, *self.network_journal]
        return sorted(entries, key=lambda entry: entry.at)

    def transcript(self) -> list[Frame]:
        """Every frame the gateway sent or received since the last reset."""
        return self.gateway.transcript.frames()


def _started(service: T | None) -> T:
    if service is None:
        raise RuntimeError("the service stack has not been started")
    return service
