"""Access tokens: exchange the API key for tokens, refresh them before they expire, keep them safe, and give
them back on logout.

The rules, each for a reason:

* **One request at a time.** However many parts of the client need a fresh token at once, one request goes
  to the auth service and every caller gets its answer. Refresh tokens rotate on every use, so a second,
  concurrent refresh would present a spent token and look like theft.
* **A request once sent is seen through.** A caller that stops waiting (its connection dropped) does not
  cancel the request: the auth service may already have rotated the refresh token, and an answer thrown
  away would strand the client with a spent one.
* **A refused refresh ends the token family.** The client says so (``token:expired`` with
  ``requires_reauth``) and signs in again with its API key, once, instead of asking again and again.
* **Tokens are checked before use** and only ever named by fingerprint in events.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
from dataclasses import dataclass
from typing import Any

import httpx

from realtime_protocol import fingerprint
from reference_client.errors import (
    CERTIFICATE_UNTRUSTED,
    AuthError,
    describe_certificate_problem,
    untrusted_certificate,
)
from reference_client.events import EventEmitter
from reference_client.token_store import StoredTokens, TokenStore, TokenStoreError

_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class TokenFormat:
    valid: bool
    reason: str  # missing_token, empty_token, malformed_token or valid_format
    detail: str  # plain words; never the token


def check_token_format(token: object) -> TokenFormat:
    """Whether ``token`` has the shape of a signed JWT (three base64url parts, a JSON header naming its
    algorithm) before it is presented anywhere. Whether it is genuine is for the gateway to decide."""
    if token is None:
        return TokenFormat(False, "missing_token", "no token was given")
    if not isinstance(token, str):
        return TokenFormat(False, "malformed_token", f"the token is a {type(token).__name__}, not text")
    if not token:
        return TokenFormat(False, "empty_token", "the token is empty")
    parts = token.split(".")
    # An unsigned token (algorithm "none") has an empty signature: well-formed, but for the gateway to refuse.
    signature_ok = len(parts) == 3 and (not parts[2] or _BASE64URL.match(parts[2]))
    if not signature_ok or not all(_BASE64URL.match(part) for part in parts[:2]):
        return TokenFormat(False, "malformed_token", "the token is not three base64url parts joined by dots")
    try:
        header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    except (binascii.Error, ValueError):
        return TokenFormat(False, "malformed_token", "the token's header is not JSON")
    if not isinstance(header, dict) or not isinstance(header.get("alg"), str):
        return TokenFormat(False, "malformed_token", "the token's header names no algorithm")
    return TokenFormat(True, "valid_format", "the token has the shape of a signed JWT")


class TokenManager:
    def __init__(
        self,
        auth_url: str,
        api_key: str,
        http: httpx.AsyncClient,
        events: EventEmitter,
        refresh_fraction: float,
        store: TokenStore | None = None,
        client_id: str | None = None,
    ) -> None:
        base = auth_url.rstrip("/")
        self._token_url = base + "/oauth/token"
        self._revoke_url = base + "/oauth/revoke"
        self._client_id = client_id  # sent with every token request, so the auth service knows the caller
        self._api_key = api_key
        self._http = http
        self._events = events
        self._refresh_fraction = refresh_fraction
        self._store = store
        self._restored = store is None
        self._access_token: str | None = None
        self._refused_token: str | None = None  # the last token forgotten as refused, to name in events
        self._refresh_token: str | None = None
        self._issued_at = 0.0
        self._lifetime_s = 0.0
        self._inflight: asyncio.Task[str] | None = None

    @property
    def access_token(self) -> str | None:
        return self._access_token

    @property
    def refresh_fraction(self) -> float:
        """The fraction of a token's lifetime after which it is refreshed."""
        return self._refresh_fraction

    @refresh_fraction.setter
    def refresh_fraction(self, fraction: float) -> None:
        # Applies to the token held now too: its renewal falls due by the new fraction.
        self._refresh_fraction = fraction

    @property
    def refresh_token_held(self) -> bool:
        return self._refresh_token is not None

    def refresh_due_in(self) -> float:
        """Seconds until the token should be refreshed (negative when overdue)."""
        due_at = self._issued_at + self._lifetime_s * self._refresh_fraction
        return due_at - time.monotonic()

    def _usable(self) -> bool:
        return self._access_token is not None and self.refresh_due_in() > 0

    def invalidate(self, token: str | None) -> None:
        """The gateway said ``token`` expired: forget it (keeping the refresh token), unless it has already
        been replaced by a newer one, which must not be thrown away."""
        if token is not None and token == self._access_token:
            self._access_token, self._refused_token = None, token

    async def ensure_token(self) -> str:
        """A token that is not yet due for refresh: the current one, a refreshed one or a new one."""
        self.restore()
        if self._usable():
            assert self._access_token is not None
            return self._access_token
        if self._inflight is None:
            task = asyncio.get_running_loop().create_task(self._obtain(), name="client-token-request")
            task.add_done_callback(self._settled)
            self._inflight = task
        return await asyncio.shield(self._inflight)

    def _settled(self, task: asyncio.Task[str]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # every waiter has seen it; nobody waiting is not an unhandled error

    async def _obtain(self) -> str:
        if self._refresh_token is not None:
            await self._refresh()
        else:
            await self._acquire()
        assert self._access_token is not None
        return self._access_token

    async def _acquire(self) -> None:
        body = await self._post({"grant_type": "api_key", "api_key": self._api_key})
        self._accept(body)
        self._events.emit(
            "token:acquired",
            token=fingerprint(self._access_token),
            token_type=body.get("token_type", "Bearer"),
            expires_in_ms=round(self._lifetime_s * 1000),
        )

    async def _refresh(self) -> None:
        previous = self._access_token or self._refused_token
        try:
            body = await self._post({"grant_type": "refresh_token", "refresh_token": self._refresh_token})
        except AuthError as error:
            # Only a refusal from the service itself says the refresh token is no good; trouble reaching
            # the service (or trusting it) is no reason to throw the refresh token away.
            if error.retryable or error.status is None:
                raise
            # The refresh token is no good any more (expired, revoked, or its family ended): say so once,
            # then sign in again with the API key rather than keep presenting it.
            self._events.emit(
                "token:expired",
                token=fingerprint(previous),
                reason="refresh_failed",
                error=error.error,
                requires_reauth=True,
            )
            self._forget()
            await self._acquire()
            return
        self._accept(body)
        self._events.emit(
            "token:refreshed",
            previous=fingerprint(previous),
            token=fingerprint(self._access_token),
            expires_in_ms=round(self._lifetime_s * 1000),
        )

    def _accept(self, body: dict[str, Any]) -> None:
        access = body.get("access_token")
        shape = check_token_format(access)
        self._events.emit("token:checked", valid=shape.valid, reason=shape.reason, detail=shape.detail)
        if not shape.valid:
            raise self._report(
                AuthError(200, shape.reason, f"the auth service handed out an unusable token: {shape.detail}")
            )
        try:
            lifetime_s = float(body["expires_in"])
        except (KeyError, TypeError, ValueError):
            raise self._report(
                AuthError(200, "bad_response", "the token response has no usable expires_in")
            ) from None
        assert isinstance(access, str)
        self._access_token, self._refused_token = access, None
        self._refresh_token = str(body.get("refresh_token") or self._refresh_token or "") or None
        self._lifetime_s = lifetime_s
        self._issued_at = time.monotonic()
        self._save()

    # -- keeping tokens between runs ---------------------------------------------------------------

    def restore(self) -> None:
        """Once, before the first token is needed: take up the tokens a previous run stored."""
        if self._restored or self._store is None:
            return
        self._restored = True
        try:
            stored = self._store.load()
        except TokenStoreError as error:
            # Not fatal: the client signs in with its key as if nothing were stored.
            self._events.emit("token:store_unreadable", reason=str(error))
            return
        if stored is None:
            return
        left_s = stored.seconds_left()
        self._access_token = stored.access_token if left_s > 0 else None
        self._refresh_token = stored.refresh_token
        self._lifetime_s = stored.lifetime_s
        self._issued_at = time.monotonic() - (stored.lifetime_s - left_s)
        self._events.emit(
            "token:restored",
            token=fingerprint(stored.access_token),
            expires_in_ms=max(0, round(left_s * 1000)),
            refresh_token=stored.refresh_token is not None,
        )

    def _save(self) -> None:
        if self._store is None or self._access_token is None:
            return
        expires_at = time.time() + self._lifetime_s - (time.monotonic() - self._issued_at)
        try:
            self._store.save(
                StoredTokens(self._access_token, self._refresh_token, expires_at, self._lifetime_s)
            )
        except OSError as error:
            self._events.emit(
                "token:store_unwritable", reason=f"the token store can't be written ({error.strerror})"
            )

    # -- talking to the auth service ---------------------------------------------------------------

    async def _post(self, payload: dict[str, Any], url: str | None = None) -> dict[str, Any]:
        if self._client_id:
            payload = {**payload, "client_id": self._client_id}
        try:
            response = await self._http.post(url or self._token_url, json=payload)
        except httpx.TimeoutException:
            raise self._report(
                AuthError(None, "timeout", "the auth service did not answer in time")
            ) from None
        except httpx.TransportError as error:
            certificate_error = untrusted_certificate(error)
            if certificate_error is not None:
                # Asking again cannot make the certificate trustworthy, so this is not "unreachable".
                raise self._report(
                    AuthError(
                        None,
                        CERTIFICATE_UNTRUSTED,
                        describe_certificate_problem("the auth service", certificate_error),
                    )
                ) from None
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

    async def revoke(self) -> None:
        """Ask the auth service to revoke the tokens held (RFC 7009), refresh token first so no new access can
        be minted from it. Best effort: a failure is reported, and the tokens are forgotten either way."""
        self.restore()  # a client logging out before it needed a token still holds the stored ones
        revoked: list[str] = []
        failed: list[str] = []
        for hint, token in (("refresh_token", self._refresh_token), ("access_token", self._access_token)):
            if not token:
                continue
            try:
                await self._post({"token": token, "token_type_hint": hint}, url=self._revoke_url)
            except AuthError:
                failed.append(hint)
            else:
                revoked.append(hint)
        self._events.emit("token:revoked", revoked=revoked, failed=failed)

    def clear(self, forget_stored: bool) -> list[str]:
        """Forget every token held, and the stored ones too when asked; return the names of what was
        cleared."""
        cleared = [
            name
            for name, value in (("access_token", self._access_token), ("refresh_token", self._refresh_token))
            if value
        ]
        self._forget()
        if forget_stored and self._store is not None and self._store.clear():
            cleared.append("stored_tokens")
        return cleared

    def _forget(self) -> None:
        self._access_token = self._refresh_token = None

    async def aclose(self) -> None:
        """Stop a token request still in flight (the client is going away, nobody needs its answer)."""
        task, self._inflight = self._inflight, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


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
