"""Gateway nodes behind one load balancer, for rolling updates: node A is the usual gateway, node B exists
while a scenario asks for two (``@fixture.services.two_gateways``) and shares A's sessions. The fault proxy
stands for the load balancer: it sends new connections to one node, and live ones stay where they are.

Synchronous, for steps and hooks on other threads: each call hops onto the services' loop.
"""

from __future__ import annotations

from collections.abc import Callable

from support.harness.runtime import BackgroundLoop
from support.services.gateway.server import Gateway
from support.services.journal import Journal, TaggedJournal

# The gateway nodes behind the load balancer when a scenario asks for two: the usual gateway is node A.
GATEWAY_NODES = ("A", "B")


class GatewayNodes:
    """The nodes on ``loop``: ``first`` (node A), whose journal is ``journal`` while it is alone, and node B
    on demand. ``route_to(port)`` points the load balancer's new connections at a node's port (it runs on
    the loop)."""

    def __init__(
        self, loop: BackgroundLoop, first: Gateway, journal: Journal, route_to: Callable[[int], None]
    ) -> None:
        self._loop = loop
        self._first = first
        self._journal = journal
        self._route_to = route_to
        self._second: Gateway | None = None

    def add(self) -> None:
        """A second gateway node, B, sharing the sessions of the usual gateway, which becomes node A; each
        node's journal entries name it (``node``). New connections still go to node A. Idempotent."""
        if self._second is not None:
            return

        async def add() -> None:
            first = self._first
            first.journal = TaggedJournal(self._journal, node=GATEWAY_NODES[0])
            second = Gateway(
                first.authority,
                TaggedJournal(self._journal, node=GATEWAY_NODES[1]),
                resume_window_ms=first.resume_window_ms,
                rng=first.protocol.rng,
                is_revoked=first.protocol.is_revoked,
                ssl_context=first.ssl_context,
                store=first.store,
            )
            await second.start()
            self._second = second

        self._loop.run(add())

    def remove(self) -> None:
        """Back to one gateway: node B stops and the balancer sends everything to the usual gateway again."""
        if self._second is not None:
            self._loop.run(self._remove())

    def node(self, name: str) -> Gateway:
        """Gateway node ``name`` ("A" or "B"): ``ValueError`` for another name, ``RuntimeError`` for B while
        the scenario runs one node."""
        if name not in GATEWAY_NODES:
            raise ValueError(
                f"there is no gateway node {name!r} (the nodes are {' and '.join(GATEWAY_NODES)})"
            )
        if name == GATEWAY_NODES[0]:
            return self._first
        if self._second is None:
            raise RuntimeError(
                "this scenario runs one gateway node; tag it @fixture.services.two_gateways for a second"
            )
        return self._second

    def route_new_connections_to(self, name: str) -> None:
        """The load balancer sends every new connection to gateway node ``name`` ("traffic moved"); live
        ones stay where they are."""
        node = self.node(name)

        def route() -> None:
            self._route_to(node.port)
            self._journal.record("traffic moved", to=f"node {name}")

        self._loop.call(route)

    def drain(self, name: str, code: int) -> None:
        """Take gateway node ``name`` out for an update: the balancer sends new connections to the other
        node, then this one closes each of its connections with ``code`` and stops, leaving its sessions to
        the other."""
        other = next(node for node in GATEWAY_NODES if node != name)
        self.route_new_connections_to(other)
        node = self.node(name)
        self._loop.run(node.stop(mode="graceful", code=code, keep_sessions=True))

    def start(self, name: str) -> None:
        """Gateway node ``name`` listens again, on the port it had."""
        self._loop.run(self.node(name).start())

    async def reset(self, resume_window_ms: int) -> None:
        """On the loop, between scenarios: every node as new with this resume window, and the balancer back
        on node A (a rolling update may have moved traffic to node B)."""
        for node in (self._first, self._second):
            if node is not None:
                await node.reset()
                node.resume_window_ms = resume_window_ms
        self._route_to(self._first.port)

    async def close(self) -> None:
        """On the loop, for good: node B gone, node A closed."""
        if self._second is not None:
            await self._remove()
        await self._first.close()

    async def _remove(self) -> None:
        second, self._second = self._second, None
        if second is not None:
            await second.close()
        self._first.journal = self._journal
        self._route_to(self._first.port)
        await self._first.start()  # a scenario may have left node A stopped
