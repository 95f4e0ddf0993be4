"""A mock OAuth-style auth service that exchanges API keys for access and refresh tokens over real HTTP.

It runs on the caller's asyncio loop (aiohttp.web on 127.0.0.1, ephemeral port) so clients under test go
through a real socket, and it can be programmed to misbehave (errors, rate limiting, slowness) for the
next N token requests.

Endpoints (JSON in and out):

* ``POST /oauth/token``  grant_type ``api_key`` or ``refresh_token``; refresh tokens rotate on every use and
  presenting a rotated-away one again revokes its whole family (reuse detection).
* ``POST /oauth/revoke`` revokes a refresh token (its family) or an access token (by ``jti``).
* ``GET /health``

A token request may name its caller with an OAuth-style ``client_id`` (requests without one are grouped by
their network address). With a failure limit set, a caller whose credentials were refused that many times
within the sliding window is answered ``429 rate_limited`` with ``Retry-After``, whatever it presents, until
its oldest refusal leaves the window; other callers are unaffected.

Secrets (API keys, access tokens, refresh tokens) only ever appear in journal entries, error text and
reprs as ``fingerprint()``s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import secrets
import ssl
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from realtime_protocol.secrets import fingerprint
from realtime_protocol.structured_log import CORRELATION_HEADER, adopt_correlation_id
from support.services import http_app
from support.services.http_app import Refusal
from support.services.journal import Journal
from support.services.tokens import InvalidTokenError, TokenAuthority

TOKEN_PATH = "/oauth/token"
REVOKE_PATH = "/oauth/revoke"
HEALTH_PATH = "/health"

log = logging.getLogger("support.services.auth_service")

API_KEY_GRANT = "api_key"
REFRESH_GRANT = "refresh_token"

# Long enough for an in-flight normal answer, short enough that a programmed multi-second delay still in
# progress does not hold up the teardown between scenarios.

# A client_id is the caller's own choice of name; a longer one is cut so it cannot swamp the journal.
_MAX_CLIENT_ID = 100

# Used when a programmed refusal names no error code, so the body is still a well-formed OAuth error.
_DEFAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    429: "rate_limited",
    503: "temporarily_unavailable",
}


# Ways a token answer itself can be broken (as opposed to a flawed token inside it, see tokens.FLAWS):
# the access token left out, empty, or not shaped like a token at all.
ANSWER_FLAWS = ("missing", "empty", "malformed")


@dataclass(frozen=True)
class IssuedToken:
    """A token the service handed out, kept for the suite to check where it went. Never journaled."""

    kind: str  # "access" or "refresh"
    subject: str
    value: str = field(repr=False)


@dataclass(frozen=True)
class Account:
    subject: str
    channels: tuple[str, ...] = ("*",)  # what the account may read
    publish_channels: tuple[str, ...] | None = None  # what it may post to; None: wherever it may read


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


class FailureLimiter:
    """Counts refused sign-ins per caller in a sliding window and says how long a caller over the limit must
    wait. Refusals for being over the limit are not counted, so a caller that keeps knocking is let back in
    once its oldest counted refusal leaves the window."""

    def __init__(self, limit: int, window_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"the failure limit must be at least 1, not {limit}")
        if window_ms < 1:
            raise ValueError(f"the failure window must be at least 1 ms, not {window_ms}")
        self.limit = limit
        self.window_s = window_ms / 1000
        self._clock = clock
        self._failures: defaultdict[str, deque[float]] = defaultdict(deque)

    def wait_s(self, caller: str) -> float | None:
        """Seconds the caller must wait before it is heard again, or None when it is not over the limit."""
        failures = self._recent(caller)
        if len(failures) < self.limit:
            return None
        # The caller is heard again when enough refusals have aged out to bring it under the limit.
        return max(0.0, failures[len(failures) - self.limit] + self.window_s - self._clock())

    def record_failure(self, caller: str) -> None:
        self._recent(caller).append(self._clock())

    def failures(self, caller: str) -> int:
        return len(self._recent(caller))

    def reset(self) -> None:
        self._failures.clear()

    def _recent(self, caller: str) -> deque[float]:
        failures = self._failures[caller]
        horizon = self._clock() - self.window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures


@dataclass(frozen=True)
class ProgrammedResponse:
    """How to answer one future token request. ``status`` 200 means "answer normally, after ``delay_ms``"."""

    status: int
    error: str | None = None
    description: str | None = None
    retry_after_s: float | None = None
    delay_ms: int = 0

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if self.delay_ms < 0:
            raise ValueError(f"delay_ms must not be negative, not {self.delay_ms}")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must not be negative, not {self.retry_after_s}")

    def error_code(self) -> str:
        if self.error:
            return self.error
        return _DEFAULT_ERRORS.get(self.status, "server_error" if self.status >= 500 else "invalid_request")

    def error_description(self) -> str:
        if self.description:
            return self.description
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return f"HTTP {self.status}"


@dataclass
class _RefreshToken:
    """What the service remembers about one refresh token; the token itself is only the dictionary key."""

    account: Account
    family: str
    key_fingerprint: str  # of the API key whose sign-in started the family, to correlate journal entries
    expires_at: float  # time.monotonic() seconds
    used: bool = False
    revoked: bool = False


@dataclass
class _Family:
    """All refresh tokens descending from one API key sign-in, as the tokens they are stored under."""

    tokens: list[str] = field(default_factory=list)


class AuthService(http_app.HttpService):
    """The mock auth service. Every method must be called on the loop the service runs on."""

    service = "auth service"

    def __init__(
        self,
        authority: TokenAuthority,
        journal: Journal,
        *,
        access_lifetime_ms: int,
        refresh_lifetime_ms: int,
        ssl_context: ssl.SSLContext | None = None,
        failure_limit: int | None = None,
        failure_window_ms: int = 1_000,
    ) -> None:
        super().__init__(ssl_context)
        self.authority = authority
        self.journal = journal
        self.access_lifetime_ms = access_lifetime_ms
        self.refresh_lifetime_ms = refresh_lifetime_ms
        self._default_access_lifetime_ms = access_lifetime_ms
        self._accounts: dict[str, Account] = {}
        self._refresh_tokens: dict[str, _RefreshToken] = {}
        self._families: dict[str, _Family] = {}
        self._revoked_access: set[str] = set()
        self._issued: list[IssuedToken] = []
        self._programmed: deque[ProgrammedResponse] = deque()
        self._requests_seen = 0
        # None: callers are never throttled, however often their credentials are refused.
        self.limiter = None if failure_limit is None else FailureLimiter(failure_limit, failure_window_ms)
        # When set, every access token handed out has this flaw (see TokenAuthority.issue_flawed).
        self.token_flaw: str | None = None

    def __repr__(self) -> str:
        where = self.url if self._port else "not started"
        return (
            f"<AuthService {where} accounts={len(self._accounts)} "
            f"refresh_tokens={len(self._refresh_tokens)} programmed={len(self._programmed)}>"
        )

    # -- lifecycle ---------------------------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(middlewares=[_correlate])
        app.router.add_post(TOKEN_PATH, self._handle_token)
        app.router.add_post(REVOKE_PATH, self._handle_revoke)
        app.router.add_get(HEALTH_PATH, self._handle_health)
        return app

    # -- programming between and during scenarios --------------------------------------------------------

    def register(self, api_key: str, account: Account) -> None:
        if not api_key:
            raise ValueError("an API key must be a non-empty string")
        self._accounts[api_key] = account

    def close_account(self, api_key: str) -> None:
        """The account behind ``api_key`` is gone: its key is no longer recognised and every refresh token it
        holds is revoked, so no new access can be had. Access tokens already issued run out on their own."""
        account = self._accounts.pop(api_key, None)
        if account is None:
            raise KeyError("no account has that API key")
        families = {record.family for record in self._refresh_tokens.values() if record.account is account}
        for family in families:
            self._revoke_family(family)
        self.journal.record("account closed", subject=account.subject, families_revoked=len(families))

    def revoke_sign_in(self, subject: str) -> int:
        """End every sign-in of ``subject``, as an administrator would: every refresh token and every access
        token handed to them is revoked (the account stays, so its key still signs in). Returns how many
        access tokens were revoked."""
        families = {
            record.family for record in self._refresh_tokens.values() if record.account.subject == subject
        }
        for family in families:
            self._revoke_family(family)
        access = [
            issued.value for issued in self._issued if issued.kind == "access" and issued.subject == subject
        ]
        for token in access:
            with contextlib.suppress(InvalidTokenError):
                self._revoked_access.add(self.authority.verify(token).token_id)
        self.journal.record("sign-in revoked", subject=subject, families_revoked=len(families))
        return len(access)

    def issued_tokens(self, subject: str | None = None) -> list[IssuedToken]:
        """Every token handed out since the last reset (to ``subject``, if given), oldest first."""
        return [issued for issued in self._issued if subject is None or issued.subject == subject]

    def program(self, *responses: ProgrammedResponse) -> None:
        """Queue answers for the next ``len(responses)`` token requests, after any already queued; each run
        of like answers is journaled as "trouble programmed"."""
        for response, run in itertools.groupby(responses):
            pause_s = response.retry_after_s
            self.journal.record(
                "trouble programmed",
                requests=len(list(run)),
                status=response.status,
                error=None if response.status == 200 else response.error_code(),
                delay_ms=response.delay_ms or None,
                retry_after_ms=None if pause_s is None else round(pause_s * 1000),
            )
        self._programmed.extend(responses)

    def hand_out_flawed_tokens(self, flaw: str | None) -> None:
        """From now on every access token handed out has this flaw (None: none), journaled as "flawed tokens
        handed out"."""
        self.token_flaw = flaw
        if flaw is not None:
            self.journal.record("flawed tokens handed out", flaw=flaw)

    def reset(self) -> None:
        """Forget everything a scenario set up, so the next one starts from a clean service."""
        self._accounts.clear()
        self._refresh_tokens.clear()
        self._families.clear()
        self._revoked_access.clear()
        self._issued.clear()
        self._programmed.clear()
        self._requests_seen = 0
        if self.limiter is not None:
            self.limiter.reset()
        self.token_flaw = None
        self.access_lifetime_ms = self._default_access_lifetime_ms
        self.journal.clear()

    @property
    def requests_seen(self) -> int:
        return self._requests_seen

    @property
    def programmed_pending(self) -> int:
        return len(self._programmed)

    def is_revoked(self, token_id: str) -> bool:
        """Whether the access token with this ``jti`` was revoked (for the gateway to refuse it)."""
        return token_id in self._revoked_access

    # -- HTTP handlers -----------------------------------------------------------------------------------

    async def _handle_health(self, request: web.Request) -> web.Response:
        # Only a running service answers at all: a stopped one is down to whoever asks.
        checks = {"token signing": "ok", "accounts": len(self._accounts), "revocation list": "ok"}
        return web.json_response({"status": "up", "checks": checks})

    async def _handle_token(self, request: web.Request) -> web.Response:
        self._requests_seen += 1
        # Read the body before any programmed answer, so the connection stays reusable and the journal can
        # still say what was asked for.
        raw = await request.read()
        body = _parse_object(raw)
        grant_type = body.get("grant_type") if body is not None else None
        grant_label = grant_type if grant_type in (API_KEY_GRANT, REFRESH_GRANT) else "invalid"
        credential = _credential(body, grant_type)
        caller = _caller(body, request)
        # Journaled on arrival, so the time of a request is when the client asked, not when it was answered.
        self.journal.record(
            "token requested", grant_type=grant_label, key=fingerprint(credential), caller=caller
        )
        wait_s = self.limiter.wait_s(caller) if self.limiter is not None else None
        if wait_s is not None:
            return self._throttle(caller, wait_s, grant_label, credential)

        if self._programmed:
            programmed = self._programmed.popleft()
            self.journal.record(
                "programmed response",
                status=programmed.status,
                error=None if programmed.status == 200 else programmed.error_code(),
                delay_ms=programmed.delay_ms,
            )
            if programmed.delay_ms:
                await asyncio.sleep(programmed.delay_ms / 1000)
            if programmed.status != 200:
                headers = {"Cache-Control": "no-store"}
                if programmed.retry_after_s is not None:
                    headers["Retry-After"] = _format_seconds(programmed.retry_after_s)
                self._record_requested(grant_label, programmed.status, credential)
                return web.json_response(
                    {"error": programmed.error_code(), "error_description": programmed.error_description()},
                    status=programmed.status,
                    headers=headers,
                )

        try:
            if body is None:
                raise Refusal(400, "invalid_request", "The request body must be a JSON object")
            if grant_type is None:
                raise Refusal(400, "invalid_request", "grant_type is missing")
            if grant_type == API_KEY_GRANT:
                answer = self._grant_api_key(body)
            elif grant_type == REFRESH_GRANT:
                answer = self._grant_refresh(body)
            else:
                raise Refusal(400, "invalid_request", "grant_type must be 'api_key' or 'refresh_token'")
        except Refusal as refusal:
            if refusal.status == 401 and self.limiter is not None:
                self.limiter.record_failure(caller)
            self._record_requested(grant_label, refusal.status, credential)
            return self._refuse(refusal, TOKEN_PATH)
        self._record_requested(grant_label, 200, credential)
        return web.json_response(answer, headers={"Cache-Control": "no-store"})

    async def _handle_revoke(self, request: web.Request) -> web.Response:
        body = _parse_object(await request.read())
        token = body.get("token") if body is not None else None
        if not isinstance(token, str) or not token:
            return self._refuse(Refusal(400, "invalid_request", "token is missing"), REVOKE_PATH)
        # RFC 7009 §2.2: an unknown or already invalid token is still answered with 200.
        record = self._refresh_tokens.get(token)
        if record is not None:
            self._revoke_family(record.family)
            self.journal.record(
                "token revoked", token_type="refresh", token=fingerprint(token), family=record.family
            )
            return web.json_response({})
        try:
            claims = self.authority.verify(token)
        except InvalidTokenError as error:
            self.journal.record("revocation ignored", token=fingerprint(token), reason=error.reason)
            return web.json_response({})
        self._revoked_access.add(claims.token_id)
        self.journal.record(
            "token revoked", token_type="access", token=fingerprint(token), subject=claims.subject
        )
        return web.json_response({})

    # -- grants ------------------------------------------------------------------------------------------

    def _grant_api_key(self, body: dict[str, Any]) -> dict[str, Any]:
        api_key = body.get("api_key")
        if not isinstance(api_key, str) or not api_key:
            raise Refusal(400, "invalid_request", "api_key is missing")
        account = self._accounts.get(api_key)
        if account is None:
            raise Refusal(401, "invalid_client", "The API key is not recognised")
        family = uuid.uuid4().hex[:12]
        self._families[family] = _Family()
        access, refresh = self._issue_pair(account, family, fingerprint(api_key))
        self.journal.record(
            "token issued",
            grant_type=API_KEY_GRANT,
            subject=account.subject,
            access=fingerprint(access),
            refresh=fingerprint(refresh),
            lifetime_ms=self.access_lifetime_ms,
            family=family,
        )
        return self._token_answer(access, refresh)

    def _grant_refresh(self, body: dict[str, Any]) -> dict[str, Any]:
        presented = body.get("refresh_token")
        if not isinstance(presented, str) or not presented:
            raise Refusal(400, "invalid_request", "refresh_token is missing")
        record = self._refresh_tokens.get(presented)
        if record is None:
            raise Refusal(401, "invalid_grant", "The refresh token is not recognised")
        if record.used:
            # A rotated-away token coming back means two parties hold the family: end it for both.
            self._revoke_family(record.family)
            self.journal.record(
                "refresh token reused",
                refresh=fingerprint(presented),
                family=record.family,
                subject=record.account.subject,
            )
            raise Refusal(401, "invalid_grant", "The refresh token has already been used")
        if record.revoked:
            raise Refusal(401, "invalid_grant", "The refresh token has been revoked")
        if record.expires_at <= time.monotonic():
            raise Refusal(401, "invalid_grant", "The refresh token has expired")
        record.used = True
        access, refresh = self._issue_pair(record.account, record.family, record.key_fingerprint)
        self.journal.record(
            "token issued",
            grant_type=REFRESH_GRANT,
            subject=record.account.subject,
            access=fingerprint(access),
            refresh=fingerprint(refresh),
            lifetime_ms=self.access_lifetime_ms,
            family=record.family,
        )
        self.journal.record(
            "token refreshed",
            subject=record.account.subject,
            previous_refresh=fingerprint(presented),
            access=fingerprint(access),
            refresh=fingerprint(refresh),
            family=record.family,
        )
        return self._token_answer(access, refresh)

    def _issue_pair(self, account: Account, family: str, key_fingerprint: str) -> tuple[str, str]:
        if self.token_flaw is None or self.token_flaw in ANSWER_FLAWS:
            access = self.authority.issue(
                account.subject, account.channels, self.access_lifetime_ms, publish=account.publish_channels
            )
        else:
            access = self.authority.issue_flawed(
                self.token_flaw, account.subject, account.channels, self.access_lifetime_ms
            )
        refresh = secrets.token_urlsafe(32)
        self._refresh_tokens[refresh] = _RefreshToken(
            account=account,
            family=family,
            key_fingerprint=key_fingerprint,
            expires_at=time.monotonic() + self.refresh_lifetime_ms / 1000,
        )
        self._families[family].tokens.append(refresh)
        self._issued += [
            IssuedToken("access", account.subject, access),
            IssuedToken("refresh", account.subject, refresh),
        ]
        return access, refresh

    def _token_answer(self, access: str, refresh: str) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime_ms / 1000,
        }
        if self.token_flaw == "missing":
            del answer["access_token"]
        elif self.token_flaw == "empty":
            answer["access_token"] = ""
        elif self.token_flaw == "malformed":
            answer["access_token"] = "not-a-token"
        return answer

    def _revoke_family(self, family: str) -> None:
        # Access tokens already issued stay valid until they expire; only the refresh chain is cut.
        entry = self._families.get(family)
        for token in entry.tokens if entry is not None else ():
            self._refresh_tokens[token].revoked = True

    # -- journalling -------------------------------------------------------------------------------------

    def _refuse(self, refusal: Refusal, endpoint: str, headers: dict[str, str] | None = None) -> web.Response:
        self.journal.record(
            "request refused",
            status=refusal.status,
            error=refusal.error,
            description=refusal.description,
            endpoint=endpoint,
        )
        return web.json_response(
            {"error": refusal.error, "error_description": refusal.description},
            status=refusal.status,
            headers={"Cache-Control": "no-store", **(headers or {})},
        )

    def _throttle(self, caller: str, wait_s: float, grant_type: str, credential: str | None) -> web.Response:
        # Rounded up to the millisecond, so a caller that waits exactly as long as it is told is heard again.
        retry_after_s = math.ceil(wait_s * 1000) / 1000
        self.journal.record("sign-in throttled", caller=caller, retry_after_ms=round(retry_after_s * 1000))
        self._record_requested(grant_type, 429, credential)
        refusal = Refusal(429, "rate_limited", "Too many failed sign-ins; wait before trying again")
        return self._refuse(refusal, TOKEN_PATH, {"Retry-After": _format_seconds(retry_after_s)})

    def _record_requested(self, grant_type: str, status: int, credential: str | None) -> None:
        self.journal.record(
            "token answered", grant_type=grant_type, status=status, key=fingerprint(credential)
        )


def _parse_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None. Content-Type is not insisted on: the body decides."""
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _credential(body: dict[str, Any] | None, grant_type: object) -> str | None:
    """The secret a token request presents (API key or refresh token), to be journalled as a fingerprint."""
    if body is None:
        return None
    value = body.get("refresh_token") if grant_type == REFRESH_GRANT else body.get("api_key")
    return value if isinstance(value, str) else None


def _caller(body: dict[str, Any] | None, request: web.Request) -> str:
    """Who is asking: the ``client_id`` the request names, else its network address."""
    client_id = body.get("client_id") if body is not None else None
    if isinstance(client_id, str) and client_id.strip():
        return client_id.strip()[:_MAX_CLIENT_ID]
    return f"address {request.remote or 'unknown'}"


def _format_seconds(seconds: float) -> str:
    # Retry-After is whole seconds in RFC 9110, but the suite scales time down, so fractions are kept.
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"
