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

import httpx

from support.harness.problems import EnvironmentProblem
from support.harness.runtime import BackgroundLoop
from support.harness.settings import Settings
from support.services.auth.handle import AuthHandle
from support.services.auth.service import AuthService
from support.services.auth.tokens import TokenAuthority
from support.services.avatar.handle import AvatarHandle
from support.services.avatar.service import AvatarService
from support.services.certificates import CertificateAuthority
from support.services.endpoints import Endpoints
from support.services.gateway import Gateway
from support.services.gateway.handle import GatewayHandle
from support.services.journal import Journal, JournalEntry
from support.services.proxy import FaultProxy
from support.services.proxy.handle import ProxyHandle
from support.services.transcript import Frame

T = TypeVar("T")
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ServiceHealth:
    """What a service said at ``GET /health``: up, degraded or down, and the checks behind it."""

    service: str
    status: str
    checks: dict[str, Any]

    def describe(self) -> str:
        facts = ", ".join(f"{name}: {value}" for name, value in self.checks.items())
        return f"the {self.service} is {self.status}" + (f" ({facts})" if facts else "")


# The services by the names scenarios use for them; each one's journal carries the same name.
SERVICE_NAMES = ("auth service", "gateway", "avatar service")


class ServiceStack:
    def __init__(self, settings: Settings, *, tls: bool | None = None) -> None:
        self.settings = settings
        self.tls = settings.tls if tls is None else tls  # https:// and wss:// with a test authority
        self._certificates: CertificateAuthority | None = None
        self.loop = BackgroundLoop("services")
        self.auth_journal = Journal("auth service")
        self.gateway_journal = Journal("gateway")
        self.network_journal = Journal("network")
        self.avatar_journal = Journal("avatar service")
        self._rng = random.Random(settings.seed)
        self._auth: AuthService | None = None
        self._auth_handle: AuthHandle | None = None
        self._gateway: GatewayHandle | None = None
        self._proxy: FaultProxy | None = None
        self._avatar: AvatarService | None = None
        self._avatar_handle: AvatarHandle | None = None
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
        self._auth_handle = AuthHandle(self.loop, self._auth)
        await self._auth.start()
        self._starting = "gateway"
        gateway = Gateway(
            authority,
            self.gateway_journal,
            resume_window_ms=self.settings.resume_window_ms,
            rng=self._rng,
            is_revoked=self._auth.is_revoked,
            ssl_context=self._server_tls(self.gateway_journal),
            revocation_list_reachable=lambda: self.auth.running,
            max_frame_bytes=self.settings.gateway_max_message_bytes,
        )
        await gateway.start()
        self._gateway = GatewayHandle(
            self.loop,
            gateway,
            stream_rate_per_s=self.settings.stream_rate_per_s,
            restart_ms=self.settings.gateway_restart_ms,
            certificates=self._certificates,
            network_journal=self.network_journal,
            route_to=lambda port: setattr(self.proxy, "upstream_port", port),  # the proxy is the balancer
        )
        self._starting = "fault proxy"
        self._proxy = FaultProxy(
            "gateway link", "127.0.0.1", gateway.port, rng=self._rng, journal=self.network_journal
        )
        await self._proxy.start()
        self._starting = "avatar service"
        self._avatar = AvatarService(
            self.avatar_journal,
            random.Random(self.settings.seed),
            ssl_context=self._server_tls(self.avatar_journal),
        )
        self._avatar_handle = AvatarHandle(self.loop, self._avatar)
        await self._avatar.start()

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
        await self.proxy.service.reset()
        await self.gateway.reset(self.settings.resume_window_ms)
        await self.auth.service.start()  # a scenario may have stopped it
        self.auth.service.reset()
        self.network_journal.clear()
        await self.avatar.service.start()  # a scenario may have stopped it
        self.avatar.service.reset()

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
        if self._avatar is not None:
            await self._avatar.stop()

    @property
    def endpoints(self) -> Endpoints:
        # The client goes through the fault proxy, which relays TLS untouched, so network faults still apply.
        scheme = "wss" if self._certificates is not None else "ws"
        return Endpoints(
            auth_url=self.auth.url,
            gateway_url=f"{scheme}://127.0.0.1:{self.proxy.port}/realtime",
            ca_file=str(self._certificates.ca_file) if self._certificates is not None else None,
            avatar_url=self.avatar.url,
        )

    @property
    def auth(self) -> AuthHandle:
        """The auth service, through a handle usable from any thread (``.service``: the service itself)."""
        return _started(self._auth_handle)

    @property
    def gateway(self) -> GatewayHandle:
        """The gateway, for steps and hooks (``.service``: the gateway itself, for code on the loop)."""
        return _started(self._gateway)

    @property
    def proxy(self) -> ProxyHandle:
        """The fault proxy on the client's path to the gateway: its controls, each hopping onto the loop."""
        return ProxyHandle(self.loop, _started(self._proxy))

    @property
    def avatar(self) -> AvatarHandle:
        """The avatar service, through a handle usable from any thread (``.service``: the service itself)."""
        return _started(self._avatar_handle)

    # -- auth service ------------------------------------------------------------------------------

    def revoke_sign_in(self, subject: str) -> None:
        """End every sign-in of ``subject`` at the auth service (the auth service need not be running), and
        have the gateway drop, for its token, every connection still holding a revoked access token."""

        async def revoke() -> None:
            self.auth.service.revoke_sign_in(subject)
            await self.gateway.service.drop_revoked()

        self.loop.run(revoke())

    # -- health --------------------------------------------------------------------------------------

    def health_of(self, service: str) -> ServiceHealth:
        """Ask a service ("auth service", "gateway" or "avatar service") how it is, at ``GET /health``, as a
        monitor would; a service that does not answer is down."""
        bases = {
            "auth service": self.auth.url,
            "gateway": self.gateway.service.url.replace("ws", "http", 1).removesuffix("/realtime"),
            "avatar service": self.avatar.url,
        }
        if service not in bases:
            raise ValueError(f"no service is called {service!r}; known: {', '.join(bases)}")
        verify: ssl.SSLContext | bool = (
            self._certificates.client_context() if self._certificates is not None else True
        )
        try:
            answer = httpx.get(f"{bases[service]}/health", timeout=PROBE_TIMEOUT_S, verify=verify)
            body = answer.json()
        except httpx.TransportError as error:
            return ServiceHealth(service, "down", {"answer": f"none ({type(error).__name__})"})
        except ValueError:
            return ServiceHealth(service, "down", {"answer": f"HTTP {answer.status_code}, not JSON"})
        return ServiceHealth(service, str(body.get("status")), dict(body.get("checks") or {}))

    # -- what happened -----------------------------------------------------------------------------

    def journal_entries(self) -> list[JournalEntry]:
        """Everything the services and the network recorded, in time order."""
        entries = [*self.auth_journal, *self.gateway_journal, *self.network_journal, *self.avatar_journal]
        return sorted(entries, key=lambda entry: entry.at)

    def transcript(self) -> list[Frame]:
        """Every frame the gateway sent or received since the last reset."""
        return self.gateway.service.transcript.frames()


def _started(service: T | None) -> T:
    if service is None:
        raise RuntimeError("the service stack has not been started")
    return service
