"""The mock auth service over real HTTP: ``AuthorizationServer``'s rules served by aiohttp.web on 127.0.0.1
(ephemeral port) on the caller's asyncio loop, so clients under test go through a real socket.

Endpoints (JSON in and out):

* ``POST /oauth/token``  grant_type ``api_key`` or ``refresh_token``; refresh tokens rotate on every use and
  presenting a rotated-away one again revokes its whole family (reuse detection, see ``refresh_tokens``).
* ``POST /oauth/revoke`` revokes a refresh token (its family) or an access token (by ``jti``).
* ``GET /health``

This module only carries requests and answers; what is answered is decided in ``authorization_server``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web

from realtime_protocol.structured_log import CORRELATION_HEADER, adopt_correlation_id
from support.services import http_app
from support.services.auth.authorization_server import AuthorizationServer
from support.services.auth.messages import HEALTH_PATH, REVOKE_PATH, TOKEN_PATH, Answer
from support.services.auth.tokens import TokenAuthority
from support.services.journal import Journal

# Named after the package, so log lines say "support.services.auth" whichever module writes them.
log = logging.getLogger("support.services.auth")


@web.middleware
async def _correlate(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """Each request is handled in a task of its own: its log lines carry the caller's correlation id, and
    one line says how it was answered."""
    adopt_correlation_id(request.headers.get(CORRELATION_HEADER))
    response: web.StreamResponse = await handler(request)
    log.log(
        logging.WARNING if response.status >= 500 else logging.INFO,
        "%s %s answered %d",
        request.method,
        request.path,
        response.status,
        extra={"method": request.method, "path": request.path, "status": response.status},
    )
    return response


class AuthService(AuthorizationServer, http_app.HttpService):
    """The mock auth service: the authorization server's rules (accounts, grants, revocation, programmed
    trouble) and the HTTP service that serves them. Every method must be called on the loop the service runs
    on; ``ssl_context`` set, it speaks https only. Lifetimes are in ms."""

    service = "auth service"

    def __init__(
        self,
        authority: TokenAuthority,
        journal: Journal,
        *,
        ssl_context: ssl.SSLContext | None = None,
        **rules: Any,
    ) -> None:
        """``rules`` are ``AuthorizationServer``'s keywords: ``access_lifetime_ms`` and
        ``refresh_lifetime_ms`` (required), ``failure_limit`` and ``failure_window_ms``."""
        http_app.HttpService.__init__(self, ssl_context)
        AuthorizationServer.__init__(self, authority, journal, **rules)

    def __repr__(self) -> str:
        where = self.url if self._port else "not started"
        return (
            f"<AuthService {where} accounts={len(self._accounts)} refresh_tokens={len(self.refresh_tokens)} "
            f"programmed={self.programmed_pending}>"
        )

    def application(self) -> web.Application:
        """The routes: the token and revocation endpoints and ``/health``, each request correlated."""
        app = web.Application(middlewares=[_correlate])
        app.router.add_post(TOKEN_PATH, self._handle_token)
        app.router.add_post(REVOKE_PATH, self._handle_revoke)
        app.router.add_get(HEALTH_PATH, self._handle_health)
        return app

    async def _handle_health(self, request: web.Request) -> web.Response:
        # Only a running service answers at all: a stopped one is down to whoever asks.
        return web.json_response(self.health())

    async def _handle_token(self, request: web.Request) -> web.Response:
        # The body is read before any programmed answer, so the connection stays reusable and the journal can
        # still say what was asked for.
        received = self.receive_token_request(await request.read(), request.remote)
        if received.delay_ms:
            await asyncio.sleep(received.delay_ms / 1000)
        return _respond(self.answer_token_request(received))

    async def _handle_revoke(self, request: web.Request) -> web.Response:
        return _respond(self.revoke(await request.read()))


def _respond(answer: Answer) -> web.Response:
    return web.json_response(answer.body, status=answer.status, headers=answer.headers or None)
