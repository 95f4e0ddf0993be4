"""Access tokens: exchange the API key for tokens, refresh them before they expire, forget them on exit."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from realtime_protocol import fingerprint
from reference_client.errors import AuthError
from reference_client.events import EventEmitter


class TokenManager:
    def __init__(
        self,
        auth_url: str,
        api_key: str,
        http: httpx.AsyncClient,
        events: EventEmitter,
        refresh_fraction: float,
        client_id: str | None = None,
    ) -> None:
        self._token_url = auth_url.rstrip("/") + "/oauth/token"
        self._client_id = client_id  # sent with every token request, so the auth service knows the caller
        self._api_key = api_key
        self._http = http
        self._events = events
        self._refresh_fraction = refresh_fraction
        self._access_token: str | None = None
        self._refresh_token: str | None = None
        self._issued_at = 0.0
        self._lifetime_s = 0.0
        # One refresh at a time: concurrent callers wait for the one in flight instead of starting another.
        self._lock = asyncio.Lock()

    @property
    def access_token(self) -> str | None:
        return self._access_token

    def refresh_due_in(self) -> float:
        """Seconds until the token should be refreshed (negative when overdue)."""
        due_at = self._issued_at + self._lifetime_s * self._refresh_fraction
        return due_at - time.monotonic()

    def _usable(self) -> bool:
        return self._access_token is not None and self.refresh_due_in() > 0

    def invalidate(self) -> None:
        """Forget the access token (the gateway said it expired) but keep the refresh token."""
        self._access_token = None

    async def ensure_token(self) -> str:
        """A token that is not yet due for refresh: the current one, a refreshed one or a new one."""
        async with self._lock:
            if not self._usable():
                if self._refresh_token is not None:
                    await self._refresh()
                else:
                    await self._acquire()
            assert self._access_token is not None
            return self._access_token

    async def refresh_now(self) -> str:
        async with self._lock:
            await self._refresh()
            assert self._access_token is not None
            return self._access_token

    async def _acquire(self) -> None:
        body = await self._post({"grant_type": "api_key", "api_key": self._api_key})
        self._store(body)
        self._events.emit(
            "token:acquired",
            token=fingerprint(self._access_token),
            token_type=body.get("token_type", "Bearer"),
            expires_in_ms=round(self._lifetime_s * 1000),
        )

    async def _refresh(self) -> None:
        previous = self._access_token
        try:
            body = await self._post({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
        except AuthError as error:
            if error.retryable:
                raise
            # The refresh token is no good any more: say so, then sign in again with the API key.
            self._events.emit(
                "token:expired",
                token=fingerprint(previous),
                reason="refresh_failed",
                requires_reauth=True,
            )
            self._access_token = self._refresh_token = None
            await self._acquire()
            return
        self._store(body)
        self._events.emit(
            "token:refreshed",
            previous=fingerprint(previous),
            token=fingerprint(self._access_token),
            expires_in_ms=round(self._lifetime_s * 1000),
        )

    def _store(self, body: dict[str, Any]) -> None:
        try:
            self._access_token = str(body["access_token"])
            self._refresh_token = str(body.get("refresh_token") or self._refresh_token or "") or None
            self._lifetime_s = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise AuthError(
                None, "bad_response", "the token response lacks access_token or expires_in"
            ) from None
        self._issued_at = time.monotonic()

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self._client_id:
            payload = {**payload, "client_id": self._client_id}
        try:
            response = await self._http.post(self._token_url, json=payload)
        except httpx.TimeoutException:
            raise self._report(
                AuthError(None, "timeout", "the auth service did not answer in time")
            ) from None
        except httpx.TransportError as error:
            raise self._report(
                AuthError(
                    None, "unreachable", f"the auth service could not be reached ({type(error).__name__})"
                )
            ) from None
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise self._report(AuthError(200, "bad_response", "the token response is not a JSON object"))
            return body
        raise self._report(_error_from(response))

    def _report(self, error: AuthError) -> AuthError:
        self._events.emit(
            "auth:error",
            status=error.status,
            error=error.error,
            description=error.description,
            retryable=error.retryable,
            retry_after_ms=None if error.retry_after_s is None else round(error.retry_after_s * 1000),
        )
        return error

    def clear(self) -> list[str]:
        """Forget every token; return the names of what was held."""
        cleared = [
            name
            for name, value in (("access_token", self._access_token), ("refresh_token", self._refresh_token))
            if value
        ]
        self._access_token = self._refresh_token = None
        return cleared


def _error_from(response: httpx.Response) -> AuthError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    retry_after: float | None = None
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            retry_after = max(0.0, float(header))
        except ValueError:
            retry_after = None  # an HTTP-date; the backoff delay applies instead
    return AuthError(
        response.status_code,
        str(body.get("error") or f"http_{response.status_code}"),
        str(body.get("error_description") or response.reason_phrase or "no description"),
        retry_after_s=retry_after,
    )
