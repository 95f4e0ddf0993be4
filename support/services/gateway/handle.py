"""The service stack's handle on its gateway: synchronous calls for steps and hooks, which run on other
threads than the services' loop; each hops onto that loop (``BackgroundLoop.call`` for plain work,
``BackgroundLoop.run`` for coroutines) and waits for the result. Code already on the loop, and self-tests,
use the node itself: ``handle.service``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from support.harness.runtime import BackgroundLoop
from support.services.certificates import CertificateAuthority
from support.services.dead_ends import UNRESOLVABLE_HOST, RefusingPort, SilentHost
from support.services.gateway.nodes import GatewayNodes
from support.services.gateway.server import Gateway, StopMode
from support.services.gateway.troubles import GatewayTrouble
from support.services.handle import ServiceHandle
from support.services.journal import Journal

PROBE_TIMEOUT_S = 5.0


class GatewayHandle(ServiceHandle[Gateway]):
    """The gateway on ``loop``: ``service`` is node A. ``stream_rate_per_s`` is the rate of a stream started
    without one; ``restart_ms`` how long a restart keeps the gateway down; ``certificates`` the test authority
    when the services run over TLS; ``network_journal`` where the places that go nowhere are journaled;
    ``route_to(port)`` points the load balancer (the fault proxy) at a node. ``nodes`` is the multi-node
    part, ``addresses`` the gateway addresses where a connection goes nowhere."""

    def __init__(
        self,
        loop: BackgroundLoop,
        service: Gateway,
        *,
        stream_rate_per_s: float,
        restart_ms: float,
        certificates: CertificateAuthority | None,
        network_journal: Journal,
        route_to: Callable[[int], None],
    ) -> None:
        super().__init__(loop, service)
        self._journal = service.journal  # the gateway's own, whichever node names its entries
        self.nodes = GatewayNodes(loop, service, self._journal, route_to)
        self.addresses = GatewayAddresses(loop, network_journal, tls=certificates is not None)
        self._certificates, self._shows_impostor = certificates, False
        self._stream_rate_per_s, self._restart_ms = stream_rate_per_s, restart_ms

    # -- lifecycle, from the stack, on the loop ---------------------------------------------------

    async def reset(self, resume_window_ms: int) -> None:
        """On the loop, between scenarios: no dead ends, every node as new, the genuine certificate."""
        await self.addresses.close()
        await self.nodes.reset(resume_window_ms)
        context = self.service.ssl_context
        if self._shows_impostor and self._certificates is not None and context is not None:
            self._certificates.show_genuine_certificate(context)
            self._shows_impostor = False

    async def close(self) -> None:
        """On the loop, for good: no dead ends, no nodes."""
        await self.addresses.close()
        await self.nodes.close()

    # -- the opening handshake -------------------------------------------------------------------

    def probe(self, token: str | None) -> int:
        """Ask the gateway for a realtime connection as a bare WebSocket client would, presenting ``token``
        (or none): the HTTP status of its answer, 101 when it accepted."""
        certificates = self._certificates

        async def probe() -> int:
            headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
            try:
                async with connect(
                    self.service.url,
                    additional_headers=headers,
                    open_timeout=PROBE_TIMEOUT_S,
                    ssl=certificates.client_context() if certificates is not None else None,
                ):
                    return 101
            except InvalidStatus as refused:
                return refused.response.status_code

        return self.loop.run(probe())

    def show_untrusted_certificate(self) -> None:
        """From now until the next reset, the gateway shows a certificate from an authority nobody trusts
        ("untrusted certificate shown"); ``RuntimeError`` when the services do not run over TLS."""
        certificates, context = self._certificates, self.service.ssl_context
        if certificates is None or context is None:
            raise RuntimeError("the services are not running over TLS, so the gateway shows no certificate")
        self.loop.call(lambda: certificates.show_impostor_certificate(context))
        self._shows_impostor = True
        self._journal.record("untrusted certificate shown", issuer="an authority nobody trusts")

    # -- misbehaviour ----------------------------------------------------------------------------

    def program(self, *troubles: GatewayTrouble) -> None:
        """The gateway misbehaves with the coming connections, one trouble each, in order."""
        self.loop.call(lambda: self.service.misbehaviour.program(*troubles))

    def speak(self, subprotocols: tuple[str, ...]) -> None:
        """From now until the next reset, the gateway speaks only these protocol versions."""
        self.loop.call(lambda: self.service.misbehaviour.speak(subprotocols))

    def accept_compression(self, on: bool) -> None:
        """From now until the next reset, the gateway accepts compression (or not) on new connections."""
        self.loop.call(lambda: self.service.misbehaviour.accept_compression(on))

    def cut_connections_after(self, lifetime_ms: float | None) -> None:
        """From now until the next reset, the gateway drops every connection ``lifetime_ms`` after its session
        is ready (live ones counted from now), as a flapping link would; None stops it."""
        self.loop.call(lambda: self.service.misbehaviour.cut_connections_after(lifetime_ms))

    def send_odd_frame(self, frame: str | bytes, what: str) -> int:
        """The gateway sends ``frame`` as it is to every connected client; ``what`` names it for the story.
        Returns how many connections it went to."""
        return self.loop.run(self.service.misbehaviour.send_to_clients(frame, what))

    def publish_too_big(self, channel: str, data: Any, limit_bytes: int) -> None:
        """The gateway publishes on the channel a message bigger than clients take (``limit_bytes``),
        journaled as "message too big for clients sent", by its size and never its contents."""
        self._journal.record(
            "message too big for clients sent", channel=channel, size=len(json.dumps(data)), limit=limit_bytes
        )
        self.publish(channel, data)

    # -- messages --------------------------------------------------------------------------------

    def start_stream(self, channel: str, rate_per_s: float | None = None) -> None:
        """Push ``{"n": 1}``, ``{"n": 2}``… on the channel at ``rate_per_s`` (default: the settings')."""
        rate = rate_per_s or self._stream_rate_per_s
        self.loop.call(lambda: self.service.streams.start(channel, rate))

    def stop_stream(self, channel: str) -> int:
        """Stop the stream on the channel; how many messages it sent."""
        return self.loop.run(self.service.streams.stop(channel))

    def publish(self, channel: str, data: Any) -> None:
        """Publish ``data`` (any JSON value) on the channel, to every session reading it."""
        self.loop.run(self.service.publish(channel, data))

    def push(self, channel: str, count: int) -> None:
        """Publish ``{"n": 1}`` to ``{"n": count}`` on the channel, in order."""
        self.push_data(channel, [{"n": number} for number in range(1, count + 1)])

    def push_data(self, channel: str, messages: list[Any]) -> None:
        """Publish each of ``messages`` (any JSON data) on the channel, in order."""

        async def push_all() -> None:
            for data in messages:
                await self.service.publish(channel, data)

        self.loop.run(push_all())

    # -- stopping and starting -------------------------------------------------------------------

    def stop(self, mode: StopMode, code: int, keep_sessions: bool) -> None:
        """Stop the gateway: ``mode`` "graceful" closes each connection with ``code``, "crash" drops them."""
        self.loop.run(self.service.stop(mode=mode, code=code, keep_sessions=keep_sessions))

    def start(self) -> None:
        """The gateway listens again, on the port it had."""
        self.loop.run(self.service.start())

    def restart(self, mode: StopMode, code: int) -> None:
        """The gateway restarts, keeping its sessions: it stops (closing each connection with ``code``, or,
        killed, with no close frame at all), is down for ``restart_ms``, then listens again."""

        async def restart() -> None:
            await self.service.stop(mode=mode, code=code, keep_sessions=True)
            await asyncio.sleep(self._restart_ms / 1000)  # how long the restart itself takes
            await self.service.start()

        self.loop.run(restart())

    def forget_sessions(self) -> None:
        """The gateway loses every session it holds: a client resuming one is told it is unknown."""
        self.loop.call(self.service.forget_sessions)

    # -- what steps observe ----------------------------------------------------------------------

    def heartbeats(self) -> list[float]:
        """When each client heartbeat (ping) reached the gateway since the last reset, oldest first
        (``time.monotonic()`` seconds)."""
        return self.loop.call(self.service.heartbeats)

    def sessions(self) -> list[str]:
        """The ids of the sessions the gateway holds, oldest first."""
        return self.loop.call(self.service.session_ids)

    def subscriptions(self, session_id: str) -> set[str]:
        """The channels a session reads (none for a session the gateway does not hold)."""
        return self.loop.call(lambda: self.service.subscriptions_of(session_id))

    def messages_sent(self, session_ids: list[str]) -> dict[str, int]:
        """How many messages the gateway has numbered for each of these sessions."""
        return self.loop.call(lambda: {sid: self.service.messages_sent(sid) for sid in session_ids})


class GatewayAddresses:
    """Gateway addresses where a connection goes nowhere, each kept until the next reset; journaled in the
    network journal when handed out."""

    def __init__(self, loop: BackgroundLoop, journal: Journal, *, tls: bool) -> None:
        self._loop = loop
        self._journal = journal
        self._scheme = "wss" if tls else "ws"
        self._silent_host: SilentHost | None = None
        self._refusing_port: RefusingPort | None = None

    def that_refuses(self) -> str:
        """A gateway address on loopback where every connection is refused."""
        if self._refusing_port is None:
            self._refusing_port = RefusingPort()
        self._journal.record("address refuses connections", address=f"127.0.0.1:{self._refusing_port.port}")
        return self._address(f"127.0.0.1:{self._refusing_port.port}")

    def that_never_answers(self) -> str:
        """A gateway address on loopback that takes connections and never answers."""
        if self._silent_host is None:
            host = SilentHost(self._journal)
            self._loop.run(host.start())
            self._silent_host = host
        self._journal.record("host never answers", address=f"127.0.0.1:{self._silent_host.port}")
        return self._address(f"127.0.0.1:{self._silent_host.port}")

    def that_does_not_resolve(self) -> str:
        """A gateway address whose host name does not exist (RFC 2606 reserves ``.invalid`` for this)."""
        self._journal.record("name does not resolve", name=UNRESOLVABLE_HOST)
        return self._address(UNRESOLVABLE_HOST)

    async def close(self) -> None:
        """On the loop: the places made so far are gone."""
        silent, self._silent_host = self._silent_host, None
        if silent is not None:
            await silent.close()
        refusing, self._refusing_port = self._refusing_port, None
        if refusing is not None:
            refusing.close()

    def _address(self, host: str) -> str:
        return f"{self._scheme}://{host}/realtime"
