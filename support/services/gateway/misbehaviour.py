"""Deliberate misbehaviour of a gateway node, programmed by scenarios: troubles for the coming connections,
protocol versions it no longer speaks, compression turned down, connections cut a while after they open, and
frames a client cannot use. Each is journaled, so the story of a scenario says what the gateway was made to
do; none outlives the next reset."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from realtime_protocol import CloseCode, describe_close_code
from support.services.gateway.connection import Link, link_of
from support.services.gateway.handshake import SUBPROTOCOLS
from support.services.gateway.troubles import GatewayTrouble

if TYPE_CHECKING:
    from support.services.gateway.server import Gateway


class Misbehaviour:
    """What a scenario makes gateway node ``node`` do wrong, from now until its reset."""

    def __init__(self, node: Gateway) -> None:
        self._node = node
        # Cut every connection this long after its session is ready, as a flapping link would; None: never.
        self.connection_lifetime_ms: float | None = None

    def program(self, *troubles: GatewayTrouble) -> None:
        """Misbehave with the coming connections, one trouble each, in order; then behave again. Each is
        journaled as "trouble programmed"."""
        for note in self._node.handshake.troubles.program(*troubles):
            self._node.journal.record(note.kind, **note.facts)

    def speak(self, subprotocols: tuple[str, ...]) -> None:
        """From now on speak only these protocol versions; a change from the usual ones is journaled as
        "protocol versions limited"."""
        if subprotocols != self._node.subprotocols:
            self._node.journal.record("protocol versions limited", speaks=", ".join(subprotocols))
        self._node.subprotocols = subprotocols

    def accept_compression(self, on: bool) -> None:
        """From now on accept compression on new connections, or turn it down; each change is journaled
        ("compression turned down", "compression accepted again")."""
        if on != self._node.compression:
            self._node.journal.record("compression accepted again" if on else "compression turned down")
        self._node.compression = on

    def cut_connections_after(self, lifetime_ms: float | None) -> None:
        """From now on, drop every connection (no close frame, as a failing network would) ``lifetime_ms``
        after its session is ready, live ones counted from now; None stops cutting. Journaled as "connections
        cut from now on" and "connections no longer cut"."""
        if lifetime_ms is not None:
            self._node.journal.record("connections cut from now on", after_ms=lifetime_ms)
        elif self.connection_lifetime_ms is not None:
            self._node.journal.record("connections no longer cut")
        self.connection_lifetime_ms = lifetime_ms
        for link in self._node.links():
            link.cancel_cut()
            if lifetime_ms is not None and link.serves_a_session:
                link.cut_after(lifetime_ms)

    async def send_to_clients(self, frame: str | bytes, what: str) -> int:
        """Send ``frame`` as it is, on every live connection, next after whatever is being sent; ``what``
        says in words what it is, for the journal ("odd frame sent", never the frame itself). Returns how many
        connections it went to."""
        sent = 0
        for session in list(self._node.store.sessions.values()):
            link = link_of(session)
            if link is None:
                continue
            async with link.lock:
                with contextlib.suppress(ConnectionClosed):
                    await link.send(frame)
                    sent += 1
            self._node.journal.record("odd frame sent", session=session.id, what=what)
        return sent

    async def end_session(self, link: Link, trouble: GatewayTrouble | None) -> bool:
        """Play the trouble programmed for ``link``'s session, if it is a close code: close with it (1006:
        drop the connection without a close frame), journaled as "session ended by the gateway". True when
        it did."""
        if trouble is None or trouble.close_code is None or link.session is None:
            return False
        code = trouble.close_code
        self._node.journal.record(
            "session ended by the gateway",
            session=link.session.id,
            code=code,
            reason=describe_close_code(code),
        )
        if code == CloseCode.ABNORMAL:  # 1006 is never sent: the connection just drops
            link.connection.transport.abort()
        else:
            await link.connection.close(code, trouble.reason)
        return True

    def reset(self) -> None:
        """Behave again: the usual versions and compression, no troubles, no cutting."""
        self.connection_lifetime_ms = None
        self._node.subprotocols, self._node.compression = SUBPROTOCOLS, True
        self._node.handshake.troubles.clear()
