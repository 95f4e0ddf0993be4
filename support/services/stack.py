"""The embedded service stack: auth service, realtime gateway, and a fault proxy on the client's path
to the gateway, all on one background event loop.

It starts once per run and is reset before each scenario. Its methods are synchronous so steps and
hooks can call them directly; each hands the real work to the services' loop.
"""

from __future__ import annotations

import asyncio
import json
import random
import ssl
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from support.harness.problems import EnvironmentProblem
from support.harness.runtime import BackgroundLoop
from support.harness.settings import Settings
from support.services.auth_service import (
    ANSWER_FLAWS,
    Account,
    AuthService,
    IssuedToken,
    ProgrammedResponse,
)
from support.services.avatar_service import AvatarService, AvatarSession
from support.services.certificates import CertificateAuthority
from support.services.dead_ends import UNRESOLVABLE_HOST, RefusingPort, SilentHost
from support.services.endpoints import Endpoints
from support.services.fault_proxy import FaultProxy, FaultRecord
from support.services.gateway import Gateway, GatewayTrouble, StopMode
from support.services.journal import Journal, JournalEntry, TaggedJournal
from support.services.tokens import FLAWS, TokenAuthority
from support.services.transcript import Frame

T = TypeVar("T")
PROBE_TIMEOUT_S = 5.0
# The gateway nodes behind the load balancer when a scenario asks for two: the usual gateway is node A.
GATEWAY_NODES = ("A", "B")


@dataclass(frozen=True)
class ServiceHealth:
    """What a service said at ``GET /health``: up, degraded or down, and the checks behind it."""

    service: str
    status: str
    checks: dict[str, Any]

    def describe(self) -> str:
        facts = ", ".join(f"{name}: {value}" for name, value in self.checks.items())
        return f"the {self.service} is {self.status}" + (f" ({facts})" if facts else "")


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
        self.avatar_journal = Journal("avatar service")
        self._rng = random.Random(settings.seed)
        self._auth: AuthService | None = None
        self._gateway: Gateway | None = None
        self._proxy: FaultProxy | None = None
        self._second_node: Gateway | None = None  # node B, only while a scenario asks for two nodes
        self._avatar: AvatarService | None = None
        self._silent_host: SilentHost | None = None  # made when a scenario needs one, gone at the reset
        self._refusing_port: RefusingPort | None = None
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
            revocation_list_reachable=lambda: self.auth.running,
            max_frame_bytes=self.settings.gateway_max_message_bytes,
        )
        await self._gateway.start()
        self._starting = "fault proxy"
        self._proxy = FaultProxy(
            "gateway link", "127.0.0.1", self._gateway.port, rng=self._rng, journal=self.network_journal
        )
        await self._proxy.start()
        self._starting = "avatar service"
        self._avatar = AvatarService(
            self.avatar_journal,
            random.Random(self.settings.seed),
            ssl_context=self._server_tls(self.avatar_journal),
        )
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
        await self._close_dead_ends()
        await self.proxy.reset()
        await self.gateway.reset()
        self.gateway.resume_window_ms = self.settings.resume_window_ms
        if self._second_node is not None:
            await self._second_node.reset()
            self._second_node.resume_window_ms = self.settings.resume_window_ms
        self.proxy.upstream_port = self.gateway.port  # a rolling update may have moved traffic to node B
        await self.auth.start()  # a scenario may have stopped it
        if self._gateway_shows_impostor and self._certificates is not None and self._gateway_tls is not None:
            self._certificates.show_genuine_certificate(self._gateway_tls)
            self._gateway_shows_impostor = False
        self.auth.reset()
        self.network_journal.clear()
        await self.avatar.start()  # a scenario may have stopped it
        self.avatar.reset()

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
        await self._close_dead_ends()
        if self._proxy is not None:
            await self._proxy.close()
        if self._second_node is not None:
            await self._remove_gateway_node()
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
    def auth(self) -> AuthService:
        return _started(self._auth)

    @property
    def gateway(self) -> Gateway:
        return _started(self._gateway)

    @property
    def proxy(self) -> FaultProxy:
        return _started(self._proxy)

    @property
    def avatar(self) -> AvatarService:
        return _started(self._avatar)

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
        self.loop.call(lambda: self.auth.hand_out_flawed_tokens(flaw))

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
        """The auth service goes away: its port refuses connections until ``start_auth`` (the auth service
        journals both)."""
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
        self.gateway_journal.record("untrusted certificate shown", issuer="an authority nobody trusts")

    def program_gateway(self, *troubles: GatewayTrouble) -> None:
        """The gateway misbehaves with the coming connections, one trouble each, in order."""
        self.loop.call(lambda: self.gateway.program(*troubles))

    # -- places where a connection goes nowhere ---------------------------------------------------

    def gateway_address_that_refuses(self) -> str:
        """A gateway address on loopback where every connection is refused, until the next reset."""
        if self._refusing_port is None:
            self._refusing_port = RefusingPort()
        self.network_journal.record(
            "address refuses connections", address=f"127.0.0.1:{self._refusing_port.port}"
        )
        return self._gateway_address(f"127.0.0.1:{self._refusing_port.port}")

    def gateway_address_that_never_answers(self) -> str:
        """A gateway address on loopback that takes connections and never answers, until the next reset."""
        if self._silent_host is None:
            host = SilentHost(self.network_journal)
            self.loop.run(host.start())
            self._silent_host = host
        self.network_journal.record("host never answers", address=f"127.0.0.1:{self._silent_host.port}")
        return self._gateway_address(f"127.0.0.1:{self._silent_host.port}")

    def gateway_address_that_does_not_resolve(self) -> str:
        """A gateway address whose host name does not exist (RFC 2606 reserves ``.invalid`` for this)."""
        self.network_journal.record("name does not resolve", name=UNRESOLVABLE_HOST)
        return self._gateway_address(UNRESOLVABLE_HOST)

    def _gateway_address(self, host: str) -> str:
        return f"{'wss' if self._certificates is not None else 'ws'}://{host}/realtime"

    async def _close_dead_ends(self) -> None:
        silent, self._silent_host = self._silent_host, None
        if silent is not None:
            await silent.close()
        refusing, self._refusing_port = self._refusing_port, None
        if refusing is not None:
            refusing.close()

    # -- network -----------------------------------------------------------------------------------

    def network_down(self) -> FaultRecord:
        return self.loop.run(self.proxy.down())

    def heal_network(self) -> None:
        """Lift every fault: the link is up and bytes flow normally again."""

        async def heal() -> None:
            await self.proxy.stop_flapping()
            for record in self.proxy.faults:
                if record.active and record.kind != "down":
                    self.proxy.remove_toxic(record.name)
            if self.proxy.is_down:
                await self.proxy.up()

        self.loop.run(heal())

    def add_fault(self, kind: str, stream: str = "downstream", **attributes: Any) -> FaultRecord:
        return self.loop.call(lambda: self.proxy.add_toxic(kind, stream=stream, **attributes))  # type: ignore[arg-type]

    def cut_connections_after(self, lifetime_ms: float | None) -> None:
        """From now until the next reset, the gateway drops every connection ``lifetime_ms`` after its session
        is ready (live ones counted from now), as a flapping link would; None stops it."""
        self.loop.call(lambda: self.gateway.cut_connections_after(lifetime_ms))

    def start_flapping(self, up_ms: float, down_ms: float, variation: float) -> FaultRecord:
        """The network goes down and up on a seeded schedule until healed (``FaultProxy.start_flapping``)."""
        return self.loop.call(
            lambda: self.proxy.start_flapping(up_ms=up_ms, down_ms=down_ms, variation=variation)
        )

    def heal_network_after(self, delay_ms: float) -> None:
        """Every fault is lifted by the network itself ``delay_ms`` from now."""
        self.loop.call(lambda: self.proxy.heal_after(delay_ms))

    def network_faults(self) -> list[FaultRecord]:
        """Every fault applied since the last reset, lifted or not, oldest first."""
        return self.loop.call(lambda: self.proxy.faults)

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

    def push_data(self, channel: str, messages: list[Any]) -> None:
        """Publish each of ``messages`` (any JSON data) on the channel, in order."""

        async def push_all() -> None:
            for data in messages:
                await self.gateway.publish(channel, data)

        self.loop.run(push_all())

    def publish_too_big(self, channel: str, data: Any, limit_bytes: int) -> None:
        """The gateway publishes on the channel a message bigger than clients take (``limit_bytes``),
        journaled as "message too big for clients sent", by its size and never its contents."""
        self.gateway_journal.record(
            "message too big for clients sent", channel=channel, size=len(json.dumps(data)), limit=limit_bytes
        )
        self.publish(channel, data)

    def send_odd_frame(self, frame: str | bytes, what: str) -> int:
        """The gateway sends ``frame`` as it is to every connected client; ``what`` names it for the story."""
        return self.loop.run(self.gateway.send_to_clients(frame, what))

    def gateway_speaks(self, subprotocols: tuple[str, ...]) -> None:
        """From now until the next reset, the gateway speaks only these protocol versions."""
        self.loop.call(lambda: self.gateway.speak(subprotocols))

    def gateway_compresses(self, on: bool) -> None:
        """From now until the next reset, the gateway accepts compression (or not) on new connections."""
        self.loop.call(lambda: self.gateway.accept_compression(on))

    def stop_gateway(self, mode: StopMode, code: int, keep_sessions: bool) -> None:
        self.loop.run(self.gateway.stop(mode=mode, code=code, keep_sessions=keep_sessions))

    def start_gateway(self) -> None:
        self.loop.run(self.gateway.start())

    def restart_gateway(self, mode: StopMode, code: int) -> None:
        """The gateway restarts, keeping its sessions: it stops (closing each connection with ``code``, or,
        killed, with no close frame at all), is down for ``gateway_restart_ms``, then listens again."""

        async def restart() -> None:
            await self.gateway.stop(mode=mode, code=code, keep_sessions=True)
            await asyncio.sleep(self.settings.gateway_restart_ms / 1000)  # how long the restart itself takes
            await self.gateway.start()

        self.loop.run(restart())

    def add_gateway_node(self) -> None:
        """A second gateway node, B, sharing the sessions of the usual gateway, which becomes node A. The
        fault proxy stands for the load balancer in front of both; it sends new connections to node A."""

        async def add() -> None:
            first = self.gateway
            first.journal = TaggedJournal(self.gateway_journal, node=GATEWAY_NODES[0])
            second = Gateway(
                first.authority,
                TaggedJournal(self.gateway_journal, node=GATEWAY_NODES[1]),
                resume_window_ms=first.resume_window_ms,
                rng=self._rng,
                is_revoked=first.is_revoked,
                ssl_context=self._gateway_tls,
                store=first.store,
            )
            await second.start()
            self._second_node = second

        if self._second_node is None:
            self.loop.run(add())

    def remove_gateway_node(self) -> None:
        """Back to one gateway: node B stops and the balancer sends everything to the usual gateway again."""
        if self._second_node is not None:
            self.loop.run(self._remove_gateway_node())

    async def _remove_gateway_node(self) -> None:
        second, self._second_node = self._second_node, None
        if second is not None:
            await second.close()
        self.gateway.journal = self.gateway_journal
        self.proxy.upstream_port = self.gateway.port
        await self.gateway.start()  # a scenario may have left node A stopped

    def gateway_node(self, name: str) -> Gateway:
        """Gateway node ``name`` ("A" or "B"); node B exists only while a scenario asks for two nodes."""
        if name not in GATEWAY_NODES:
            raise ValueError(
                f"there is no gateway node {name!r} (the nodes are {' and '.join(GATEWAY_NODES)})"
            )
        if name == GATEWAY_NODES[0]:
            return self.gateway
        if self._second_node is None:
            raise RuntimeError(
                "this scenario runs one gateway node; tag it @fixture.services.two_gateways for a second"
            )
        return self._second_node

    def route_new_connections_to(self, name: str) -> None:
        """The load balancer sends every new connection to gateway node ``name``; live ones stay where they
        are."""
        node = self.gateway_node(name)

        def route() -> None:
            self.proxy.upstream_port = node.port
            self.gateway_journal.record("traffic moved", to=f"node {name}")

        self.loop.call(route)

    def drain_gateway_node(self, name: str, code: int) -> None:
        """Take gateway node ``name`` out for an update: the balancer sends new connections to the other
        node, then this one closes each of its connections with ``code`` and stops, leaving its sessions to
        the other."""
        other = next(node for node in GATEWAY_NODES if node != name)
        self.route_new_connections_to(other)
        node = self.gateway_node(name)
        self.loop.run(node.stop(mode="graceful", code=code, keep_sessions=True))

    def start_gateway_node(self, name: str) -> None:
        """Gateway node ``name`` listens again, on the port it had."""
        self.loop.run(self.gateway_node(name).start())

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

    # -- avatar service ----------------------------------------------------------------------------

    def register_avatar_key(self, api_key: str) -> None:
        self.loop.call(lambda: self.avatar.register_key(api_key))

    def avatar_unavailable(self) -> None:
        """The avatar service answers every call with 503 until ``avatar_recovers``."""
        self.loop.call(self.avatar.become_unavailable)

    def avatar_slow(self, delay_ms: int) -> None:
        """The avatar service holds back every answer by ``delay_ms`` until ``avatar_recovers``."""
        self.loop.call(lambda: self.avatar.become_slow(delay_ms))

    def avatar_recovers(self) -> None:
        self.loop.call(self.avatar.recover)

    def avatar_sessions(self) -> list[AvatarSession]:
        return self.loop.call(self.avatar.sessions)

    # -- health --------------------------------------------------------------------------------------

    def health_of(self, service: str) -> ServiceHealth:
        """Ask a service ("auth service", "gateway" or "avatar service") how it is, at ``GET /health``, as a
        monitor would; a service that does not answer is down."""
        bases = {
            "auth service": self.auth.url,
            "gateway": self.gateway.url.replace("ws", "http", 1).removesuffix("/realtime"),
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
        return self.gateway.transcript.frames()


def _started(service: T | None) -> T:
    if service is None:
        raise RuntimeError("the service stack has not been started")
    return service
