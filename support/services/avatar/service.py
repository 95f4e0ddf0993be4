"""A mock streaming-avatar API (shaped like HeyGen's) on loopback HTTP, for the client's avatar to talk to.

It runs on the caller's asyncio loop (aiohttp.web on 127.0.0.1, ephemeral port), like the auth service, and
can be programmed to be unavailable (``503`` to every call) or slow (every answer held back).

Endpoints (JSON in and out; every one but ``/health`` needs the caller's API key in ``X-Api-Key``):

* ``POST /v1/streaming.new``     ``avatar_id``, ``quality``, ``background`` → ``session_id``, ``avatar_id``,
  ``status`` ("active"), ``stream_url``
* ``POST /v1/streaming.update``  ``session_id``, ``speaking``, ``voice_sync``, ``voice_id`` → the session
* ``POST /v1/streaming.stop``    ``session_id``, ``reason`` → the session, now "closed"
* ``GET  /v1/streaming.status``  ``?session_id=`` → the session
* ``GET  /health``               ``status`` (up, degraded or down) and the ``checks`` behind it

API keys appear in the journal and in error text only as fingerprints. What a call does to a session is
decided in ``sessions``; this module checks the key, carries the calls over HTTP and misbehaves on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web

from realtime_protocol.secrets import fingerprint
from support.services import http_app
from support.services.avatar.sessions import AvatarSession, AvatarSessions
from support.services.http_app import Refusal
from support.services.journal import Journal

NEW_PATH = "/v1/streaming.new"
UPDATE_PATH = "/v1/streaming.update"
STOP_PATH = "/v1/streaming.stop"
STATUS_PATH = "/v1/streaming.status"
HEALTH_PATH = "/health"
API_KEY_HEADER = "X-Api-Key"


class AvatarService(http_app.HttpService):
    """The mock avatar API. Every method must be called on the loop the service runs on."""

    service = "avatar service"

    def __init__(
        self, journal: Journal, rng: random.Random, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        super().__init__(ssl_context)
        self.journal = journal
        self._api_keys: set[str] = set()
        self._sessions = AvatarSessions(journal, rng)
        self.unavailable = False  # every call but /health is answered 503
        self.delay_ms = 0  # every call but /health is answered this late
        self._generation = 0  # counts resets, so a slow answer begun before one does nothing after it
        self._stopping = asyncio.Event()  # set while stopping: slow answers in progress are given at once

    def __repr__(self) -> str:
        where = self.url if self._port else "not started"
        return f"<AvatarService {where} sessions={len(self._sessions)} unavailable={self.unavailable}>"

    # -- lifecycle ---------------------------------------------------------------------------------------

    def application(self) -> web.Application:
        """The routes: the four streaming calls and ``/health``."""
        app = web.Application()
        app.router.add_post(NEW_PATH, self._handle_new)
        app.router.add_post(UPDATE_PATH, self._handle_update)
        app.router.add_post(STOP_PATH, self._handle_stop)
        app.router.add_get(STATUS_PATH, self._handle_status)
        app.router.add_get(HEALTH_PATH, self._handle_health)
        return app

    # -- programming between and during scenarios --------------------------------------------------------

    def register_key(self, api_key: str) -> None:
        """Accept ``api_key`` in ``X-Api-Key`` until the next reset; ``ValueError`` for an empty key."""
        if not api_key:
            raise ValueError("an API key must be a non-empty string")
        self._api_keys.add(api_key)

    def become_unavailable(self) -> None:
        """Answer every call but ``/health`` with 503 until ``recover`` (journaled: "service unavailable")."""
        self.unavailable = True
        self.journal.record("service unavailable")

    def become_slow(self, delay_ms: int) -> None:
        """Hold back every answer but ``/health``'s by ``delay_ms`` until ``recover``, journaled as "service
        slow"; raises ``ValueError`` for a negative delay."""
        if delay_ms < 0:
            raise ValueError(f"delay_ms must not be negative, not {delay_ms}")
        self.delay_ms = delay_ms
        self.journal.record("service slow", delay_ms=delay_ms)

    def recover(self) -> None:
        """Answer promptly and normally again."""
        self.unavailable = False
        self.delay_ms = 0
        self.journal.record("service recovered")

    def sessions(self) -> list[AvatarSession]:
        """Every session since the last reset, oldest first (copies, safe to read from another thread)."""
        return self._sessions.copies()

    async def stop(self) -> None:
        """Stop serving; a slow answer still held back is given at once, so nothing is left running."""
        self._stopping.set()
        try:
            await super().stop()
        finally:
            self._stopping = asyncio.Event()

    def reset(self) -> None:
        """Forget keys, sessions, trouble and the journal; a slow answer still held back is dropped."""
        self._api_keys.clear()
        self._sessions.clear()
        self.unavailable = False
        self.delay_ms = 0
        self._generation += 1
        self.journal.clear()

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` says: ``status`` (down when unavailable, degraded when slow, else up) and the
        ``checks`` behind it."""
        checks = {
            "streaming api": "unavailable" if self.unavailable else "ok",
            "response time": f"slow ({self.delay_ms} ms)" if self.delay_ms else "ok",
            "active sessions": self._sessions.active(),
        }
        status = "down" if self.unavailable else "degraded" if self.delay_ms else "up"
        return {"status": status, "checks": checks}

    # -- HTTP handlers -----------------------------------------------------------------------------------

    async def _handle_health(self, request: web.Request) -> web.Response:
        health = self.health()
        # Load balancers read the status code; people and the suite read the body.
        return web.json_response(health, status=503 if health["status"] == "down" else 200)

    async def _handle_new(self, request: web.Request) -> web.Response:
        scheme = "wss" if self.ssl_context is not None else "ws"
        stream_base = f"{scheme}://{http_app.HOST}:{self.port}"
        return await self._answer(request, NEW_PATH, lambda body: self._sessions.create(body, stream_base))

    async def _handle_update(self, request: web.Request) -> web.Response:
        return await self._answer(request, UPDATE_PATH, self._sessions.update)

    async def _handle_stop(self, request: web.Request) -> web.Response:
        return await self._answer(request, STOP_PATH, self._sessions.close)

    async def _handle_status(self, request: web.Request) -> web.Response:
        session_id = request.query.get("session_id")
        return await self._answer(request, STATUS_PATH, lambda body: self._sessions.status(session_id))

    async def _answer(
        self, request: web.Request, endpoint: str, handle: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> web.Response:
        key = request.headers.get(API_KEY_HEADER)
        # Journaled on arrival, so the story shows when the client asked, however late the answer.
        self.journal.record("request received", endpoint=endpoint, key=fingerprint(key))
        raw = await request.read()
        generation = self._generation
        try:
            if self.delay_ms:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.delay_ms / 1000)
                if generation != self._generation:
                    # The scenario that asked is over: leave the next one's service untouched.
                    return web.json_response({"error": "reset"}, status=503)
            if self.unavailable:
                raise Refusal(503, "service_unavailable", "The avatar service is unavailable")
            if not key or key not in self._api_keys:
                raise Refusal(401, "unauthorized", "A valid API key is required")
            body = _parse_object(raw) if request.method == "POST" else {}
            if body is None:
                raise Refusal(400, "invalid_request", "The request body must be a JSON object")
            return web.json_response(handle(body))
        except Refusal as refusal:
            self.journal.record(
                "request refused", endpoint=endpoint, status=refusal.status, error=refusal.error
            )
            return web.json_response(
                {"error": refusal.error, "message": refusal.description}, status=refusal.status
            )


def _parse_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object (an empty body is an empty one), or None."""
    try:
        parsed = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None
