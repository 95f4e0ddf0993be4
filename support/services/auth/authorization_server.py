"""The mock auth service's rules, without I/O: an OAuth-style authorization server that exchanges API keys
and refresh tokens for access tokens, revokes tokens, and can be programmed to misbehave.

Requests come in as the bytes of their JSON bodies and go out as ``Answer``s (status, JSON body, headers),
so ``service.AuthService`` only has to carry them over HTTP:

* the token endpoint (RFC 6749 §3.2): grant_type ``api_key`` (this suite's stand-in for client credentials)
  or ``refresh_token`` (RFC 6749 §6, rotated on every use, see ``refresh_tokens``); errors are OAuth error
  bodies (RFC 6749 §5.2) and every answer is ``Cache-Control: no-store`` (RFC 6749 §5.1);
* the revocation endpoint (RFC 7009): a refresh token (its whole family) or an access token (by ``jti``).

A token request may name its caller with an OAuth-style ``client_id`` (requests without one are grouped by
their network address) for throttling (see ``accounts.FailureLimiter``). Secrets (API keys, access tokens,
refresh tokens) only ever appear in journal entries, error text and reprs as ``fingerprint()``s.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from realtime_protocol.secrets import fingerprint
from support.services.auth.accounts import Account, FailureLimiter
from support.services.auth.messages import (
    API_KEY_GRANT,
    NO_STORE,
    REFRESH_GRANT,
    REVOKE_PATH,
    TOKEN_PATH,
    Answer,
    TokenRequest,
    format_seconds,
    parse_object,
)
from support.services.auth.programmed import ProgrammedResponse, ProgrammedResponses
from support.services.auth.refresh_tokens import NewRefreshToken, RefreshRefused, RefreshTokenFamilies
from support.services.auth.tokens import FLAWS, InvalidTokenError, TokenAuthority
from support.services.http_app import Refusal
from support.services.journal import Journal

# Ways a token answer itself can be broken (as opposed to a flawed token inside it, see tokens.FLAWS):
# the access token left out, empty, or not shaped like a token at all.
ANSWER_FLAWS = ("missing", "empty", "malformed")


@dataclass(frozen=True)
class IssuedToken:
    """A token the service handed out, kept for the suite to check where it went. Never journaled."""

    kind: str  # "access" or "refresh"
    subject: str
    value: str = field(repr=False)


class AuthorizationServer:
    """Accounts, grants, refresh-token families, revocation and programmed trouble. Lifetimes are in ms;
    ``failure_limit`` None means callers are never throttled. Every method must be called on one thread."""

    def __init__(
        self,
        authority: TokenAuthority,
        journal: Journal,
        *,
        access_lifetime_ms: int,
        refresh_lifetime_ms: int,
        failure_limit: int | None = None,
        failure_window_ms: int = 1_000,
    ) -> None:
        self.authority = authority
        self.journal = journal
        self.access_lifetime_ms = access_lifetime_ms
        self._default_access_lifetime_ms = access_lifetime_ms
        self.refresh_tokens = RefreshTokenFamilies(refresh_lifetime_ms)
        self.programmed = ProgrammedResponses(journal)
        # None: callers are never throttled, however often their credentials are refused.
        self.limiter = None if failure_limit is None else FailureLimiter(failure_limit, failure_window_ms)
        # When set, every access token handed out has this flaw (see TokenAuthority.issue_flawed).
        self.token_flaw: str | None = None
        self._accounts: dict[str, Account] = {}
        self._revoked_access: set[str] = set()
        self._issued: list[IssuedToken] = []
        self._requests_seen = 0

    # -- programming between and during scenarios --------------------------------------------------------

    def register(self, api_key: str, account: Account) -> None:
        """Let ``api_key`` sign in as ``account``; raises ``ValueError`` for an empty key."""
        if not api_key:
            raise ValueError("an API key must be a non-empty string")
        self._accounts[api_key] = account

    def close_account(self, api_key: str) -> None:
        """The account behind ``api_key`` is gone: its key is no longer recognised and every refresh token it
        holds is revoked, so no new access can be had. Access tokens already issued run out on their own.
        Raises ``KeyError`` (without the key) when no account has that key."""
        account = self._accounts.pop(api_key, None)
        if account is None:
            raise KeyError("no account has that API key")
        families = self.refresh_tokens.revoke_held_by(lambda holder: holder is account)
        self.journal.record("account closed", subject=account.subject, families_revoked=families)

    def revoke_sign_in(self, subject: str) -> int:
        """End every sign-in of ``subject``, as an administrator would: every refresh token and every access
        token handed to them is revoked (the account stays, so its key still signs in). Returns how many
        access tokens were revoked."""
        families = self.refresh_tokens.revoke_held_by(lambda holder: holder.subject == subject)
        access = [token.value for token in self.issued_tokens(subject) if token.kind == "access"]
        for token in access:
            with contextlib.suppress(InvalidTokenError):
                self._revoked_access.add(self.authority.verify(token).token_id)
        self.journal.record("sign-in revoked", subject=subject, families_revoked=families)
        return len(access)

    def issued_tokens(self, subject: str | None = None) -> list[IssuedToken]:
        """Every token handed out since the last reset (to ``subject``, if given), oldest first."""
        return [issued for issued in self._issued if subject is None or issued.subject == subject]

    def program(self, *responses: ProgrammedResponse) -> None:
        """Queue answers for the next ``len(responses)`` token requests (see ``ProgrammedResponses``)."""
        self.programmed.program(*responses)

    def hand_out_flawed_tokens(self, flaw: str | None) -> None:
        """From now on every access token handed out has this flaw (one of ``tokens.FLAWS`` or
        ``ANSWER_FLAWS``; None: none), journaled as "flawed tokens handed out". Raises ``ValueError`` for
        another."""
        if flaw is not None and flaw not in (*FLAWS, *ANSWER_FLAWS):
            raise ValueError(f"unknown token flaw {flaw!r} (known: {', '.join((*FLAWS, *ANSWER_FLAWS))})")
        self.token_flaw = flaw
        if flaw is not None:
            self.journal.record("flawed tokens handed out", flaw=flaw)

    def reset(self) -> None:
        """Forget everything a scenario set up, so the next one starts from a clean service."""
        self._accounts.clear()
        self.refresh_tokens.reset()
        self._revoked_access.clear()
        self._issued.clear()
        self.programmed.clear()
        self._requests_seen = 0
        if self.limiter is not None:
            self.limiter.reset()
        self.token_flaw = None
        self.access_lifetime_ms = self._default_access_lifetime_ms
        self.journal.clear()

    @property
    def requests_seen(self) -> int:
        """Token requests received since the last reset, answered or not."""
        return self._requests_seen

    @property
    def programmed_pending(self) -> int:
        """Programmed answers still to be given."""
        return self.programmed.pending

    def is_revoked(self, token_id: str) -> bool:
        """Whether the access token with this ``jti`` was revoked (for the gateway to refuse it)."""
        return token_id in self._revoked_access

    def health(self) -> dict[str, Any]:
        """What ``GET /health`` says: ``status`` "up" and the ``checks`` behind it."""
        checks = {"token signing": "ok", "accounts": len(self._accounts), "revocation list": "ok"}
        return {"status": "up", "checks": checks}

    # -- the token endpoint ------------------------------------------------------------------------------

    def receive_token_request(self, raw: bytes, remote: str | None) -> TokenRequest:
        """Take in a token request (its body's bytes; ``remote`` the caller's network address), journaled as
        "token requested". A throttled caller is answered at once (429 with ``Retry-After``); otherwise the
        next programmed answer, if any, is taken. Answer it with ``answer_token_request`` after its
        ``delay_ms``."""
        self._requests_seen += 1
        request = TokenRequest.read(raw, remote)
        # Journaled on arrival, so the time of a request is when the client asked, not when it was answered.
        self.journal.record(
            "token requested",
            grant_type=request.grant_type,
            key=fingerprint(request.credential),
            caller=request.caller,
        )
        retry_after_s = self.limiter.retry_after_s(request.caller) if self.limiter is not None else None
        if retry_after_s is None:
            return dataclasses.replace(request, programmed=self.programmed.take())
        self.journal.record(
            "sign-in throttled", caller=request.caller, retry_after_ms=round(retry_after_s * 1000)
        )
        refusal = Refusal(429, "rate_limited", "Too many failed sign-ins; wait before trying again")
        answer = self._refuse(request, refusal, {"Retry-After": format_seconds(retry_after_s)})
        return dataclasses.replace(request, answer=answer)

    def answer_token_request(self, request: TokenRequest) -> Answer:
        """The answer to a received token request: as programmed, else a token answer (RFC 6749 §5.1) or an
        OAuth error (§5.2), journaled as "token answered". A credential refused with 401 counts against the
        caller's failures."""
        if request.answer is not None:
            return request.answer
        programmed = request.programmed
        if programmed is not None and programmed.status != 200:
            pause_s = programmed.retry_after_s
            self._record_answered(request, programmed.status)
            refusal = Refusal(programmed.status, programmed.error_code(), programmed.error_description())
            return Answer.refusal(
                refusal, {"Retry-After": format_seconds(pause_s)} if pause_s is not None else None
            )
        try:
            answer = self._grant(request.body)
        except Refusal as refusal:
            if refusal.status == 401 and self.limiter is not None:
                self.limiter.record_failure(request.caller)
            return self._refuse(request, refusal)
        self._record_answered(request, 200)
        return Answer(200, answer, dict(NO_STORE))

    # -- the revocation endpoint -------------------------------------------------------------------------

    def revoke(self, raw: bytes) -> Answer:
        """Revoke the token in a revocation request's body: a refresh token's whole family, or an access
        token by its ``jti``. Unknown and already invalid tokens are answered 200 too (RFC 7009 §2.2)."""
        body = parse_object(raw)
        token = body.get("token") if body is not None else None
        if not isinstance(token, str) or not token:
            return self._refusal_answer(Refusal(400, "invalid_request", "token is missing"), REVOKE_PATH)
        record = self.refresh_tokens.record(token)
        if record is not None:
            self.refresh_tokens.revoke_family(record.family)
            self.journal.record(
                "token revoked", token_type="refresh", token=fingerprint(token), family=record.family
            )
            return Answer(200, {})
        try:
            claims = self.authority.verify(token)
        except InvalidTokenError as error:
            self.journal.record("revocation ignored", token=fingerprint(token), reason=error.reason)
            return Answer(200, {})
        self._revoked_access.add(claims.token_id)
        self.journal.record(
            "token revoked", token_type="access", token=fingerprint(token), subject=claims.subject
        )
        return Answer(200, {})

    # -- grants ------------------------------------------------------------------------------------------

    def _grant(self, body: dict[str, Any] | None) -> dict[str, Any]:
        if body is None:
            raise Refusal(400, "invalid_request", "The request body must be a JSON object")
        grant_type = body.get("grant_type")
        if grant_type is None:
            raise Refusal(400, "invalid_request", "grant_type is missing")
        if grant_type == API_KEY_GRANT:
            return self._grant_api_key(body)
        if grant_type == REFRESH_GRANT:
            return self._grant_refresh(body)
        raise Refusal(400, "invalid_request", "grant_type must be 'api_key' or 'refresh_token'")

    def _grant_api_key(self, body: dict[str, Any]) -> dict[str, Any]:
        api_key = body.get("api_key")
        if not isinstance(api_key, str) or not api_key:
            raise Refusal(400, "invalid_request", "api_key is missing")
        account = self._accounts.get(api_key)
        if account is None:
            raise Refusal(401, "invalid_client", "The API key is not recognised")
        access = self._issue_access(account)
        refresh = self.refresh_tokens.start(account, fingerprint(api_key))
        return self._hand_out(API_KEY_GRANT, access, refresh)

    def _grant_refresh(self, body: dict[str, Any]) -> dict[str, Any]:
        presented = body.get("refresh_token")
        if not isinstance(presented, str) or not presented:
            raise Refusal(400, "invalid_request", "refresh_token is missing")
        try:
            refresh = self.refresh_tokens.rotate(presented)
        except RefreshRefused as refused:
            if refused.reused and refused.record is not None:
                self.journal.record(
                    "refresh token reused",
                    refresh=fingerprint(presented),
                    family=refused.record.family,
                    subject=refused.record.account.subject,
                )
            raise Refusal(401, "invalid_grant", refused.description) from None
        account, family = refresh.record.account, refresh.record.family
        access = self._issue_access(account)
        answer = self._hand_out(REFRESH_GRANT, access, refresh)
        self.journal.record(
            "token refreshed",
            subject=account.subject,
            previous_refresh=fingerprint(presented),
            access=fingerprint(access),
            refresh=fingerprint(refresh.token),
            family=family,
        )
        return answer

    def _issue_access(self, account: Account) -> str:
        if self.token_flaw is None or self.token_flaw in ANSWER_FLAWS:
            return self.authority.issue(
                account.subject, account.channels, self.access_lifetime_ms, publish=account.publish_channels
            )
        return self.authority.issue_flawed(
            self.token_flaw, account.subject, account.channels, self.access_lifetime_ms
        )

    def _hand_out(self, grant_type: str, access: str, refresh: NewRefreshToken) -> dict[str, Any]:
        """Keep a new pair among the tokens issued, journal it as "token issued", and answer with it (as
        broken as ``token_flaw`` says, when that is one of ``ANSWER_FLAWS``)."""
        subject = refresh.record.account.subject
        self._issued += [
            IssuedToken("access", subject, access),
            IssuedToken("refresh", subject, refresh.token),
        ]
        self.journal.record(
            "token issued",
            grant_type=grant_type,
            subject=subject,
            access=fingerprint(access),
            refresh=fingerprint(refresh.token),
            lifetime_ms=self.access_lifetime_ms,
            family=refresh.record.family,
        )
        answer: dict[str, Any] = {
            "access_token": access,
            "refresh_token": refresh.token,
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

    # -- journalling -------------------------------------------------------------------------------------

    def _refuse(
        self, request: TokenRequest, refusal: Refusal, headers: dict[str, str] | None = None
    ) -> Answer:
        self._record_answered(request, refusal.status)
        return self._refusal_answer(refusal, TOKEN_PATH, headers)

    def _refusal_answer(
        self, refusal: Refusal, endpoint: str, headers: dict[str, str] | None = None
    ) -> Answer:
        self.journal.record(
            "request refused",
            status=refusal.status,
            error=refusal.error,
            description=refusal.description,
            endpoint=endpoint,
        )
        return Answer.refusal(refusal, headers)

    def _record_answered(self, request: TokenRequest, status: int) -> None:
        self.journal.record(
            "token answered",
            grant_type=request.grant_type,
            status=status,
            key=fingerprint(request.credential),
        )
