"""The gateway's opening handshake (RFC 6455 §4.2): answering ``GET /health`` on the realtime port, refusing
an upgrade when a trouble says so, checking the bearer token (RFC 6750), picking the protocol version (a
WebSocket subprotocol) and accepting compression (permessage-deflate, RFC 7692) or not."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.exceptions import NegotiationError
from websockets.extensions.base import Extension
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request, Response
from websockets.typing import ExtensionParameter, Subprotocol

from realtime_protocol.structured_log import CORRELATION_HEADER, adopt_correlation_id
from support.services.auth.tokens import AccessClaims, InvalidTokenError
from support.services.gateway.troubles import GatewayTrouble, TroubleQueue

if TYPE_CHECKING:
    from support.services.gateway.server import Gateway

log = logging.getLogger("support.services.gateway")
HEALTH_PATH = "/health"  # answered over plain HTTP, on the same port as the realtime endpoint
# The protocol versions (WebSocket subprotocols) the gateway speaks unless a scenario says otherwise.
SUBPROTOCOLS = ("realtime.v2", "realtime.v1")


class Handshake:
    """The opening handshake of one gateway node, read from its settings at every connection: the versions
    it speaks (``node.subprotocols``) and whether it compresses (``node.compression``). A connection it
    admits is handed to the connection handler with its claims and its programmed trouble (``take``)."""

    def __init__(self, node: Gateway) -> None:
        self._node = node
        self.troubles = TroubleQueue()  # for the coming connections, in order
        self._admitted: dict[int, tuple[AccessClaims, GatewayTrouble | None]] = {}  # by id(connection)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """websockets' ``process_request``: an HTTP answer to send instead of upgrading, or None to go on."""
        # The handshake and the connection's handler run in one task: its lines carry the caller's id.
        adopt_correlation_id(request.headers.get(CORRELATION_HEADER))
        if request.path == HEALTH_PATH:
            answer = connection.respond(HTTPStatus.OK, json.dumps(self._node.health()))
            answer.headers["Content-Type"] = "application/json"
            return answer
        trouble = self.troubles.next()
        if trouble is not None and trouble.status is not None:
            return self._refuse_upgrade(connection, trouble)
        try:
            claims = self._node.protocol.check_token(_bearer_token(request.headers))
        except InvalidTokenError as error:
            self._node.journal.record("handshake refused", status=401, reason=error.reason)
            log.warning("handshake refused: %s", error.reason, extra={"status": 401})
            return connection.respond(HTTPStatus.UNAUTHORIZED, f"{error.reason}\n")
        self._admitted[id(connection)] = (claims, trouble)
        log.info("handshake accepted", extra={"subject": claims.subject})
        return None

    def select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[Subprotocol]
    ) -> Subprotocol | None:
        """The first version the client offers that the gateway speaks: the client lists its newest first. A
        client that offers none is served as before versions were negotiated; one that offers only versions
        the gateway does not speak is refused with 400 ("handshake refused")."""
        speaks = self._node.subprotocols
        if not offered:
            return None
        for name in offered:
            if name in speaks:
                return name
        self._admitted.pop(id(connection), None)
        self._node.journal.record(
            "handshake refused",
            status=400,
            reason="it speaks none of the client's protocol versions",
            offered=", ".join(offered),
            speaks=", ".join(speaks),
        )
        raise NegotiationError(
            f"no protocol version in common: the gateway speaks {', '.join(speaks)}; "
            f"the client offered {', '.join(offered)}"
        )

    def extensions(self) -> list[ServerPerMessageDeflateFactory]:
        """The extensions to serve with: permessage-deflate while ``node.compression`` is on."""
        return [_SwitchableDeflate(lambda: self._node.compression)]

    def take(self, connection: ServerConnection) -> tuple[AccessClaims, GatewayTrouble | None]:
        """The claims of the token ``connection`` was admitted with, and the trouble programmed for its
        session (a close code), handed over once to the connection's handler."""
        return self._admitted.pop(id(connection))

    def clear(self) -> None:
        """No troubles programmed, no connection waiting for its handler."""
        self.troubles.clear()
        self._admitted.clear()

    def _refuse_upgrade(self, connection: ServerConnection, trouble: GatewayTrouble) -> Response:
        assert trouble.status is not None
        status = HTTPStatus(trouble.status)
        self._node.journal.record(
            "upgrade refused", status=status.value, reason=status.phrase, retry_after_s=trouble.retry_after_s
        )
        response = connection.respond(status, f"{status.phrase}\n")
        if trouble.retry_after_s is not None:
            response.headers["Retry-After"] = f"{trouble.retry_after_s:g}"
        return response


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


def _bearer_token(headers: Headers) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
