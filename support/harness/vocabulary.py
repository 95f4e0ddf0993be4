"""The words of the shared vocabulary (the steps about the services and the client, which every feature may
use) that stand for a closed set of things, each with what it means to the suite.

support/harness/parameter_types.py turns each set into a parameter type, so a step takes exactly these
phrases and ``behave --dry-run`` finds any other; the words of one area live in that area's module
(``support/areas/``).
"""

from __future__ import annotations

from collections.abc import Callable

from support.harness.settings import Settings
from support.services.auth.programmed import ProgrammedResponse

AuthTrouble = Callable[[Settings], ProgrammedResponse]  # the settings → what the auth service answers


def _paused(settings: Settings) -> ProgrammedResponse:
    # A pause long enough that no backoff delay alone could explain waiting it out.
    pause_s = 4 * settings.backoff_max_ms / 1000
    return ProgrammedResponse(429, "rate_limited", "Too many requests", retry_after_s=pause_s)


# The auth service's misbehaviours, by the names scenarios use for them (the ``AuthTrouble`` parameter type).
AUTH_TROUBLES: dict[str, AuthTrouble] = {
    "a refusal of the key": lambda settings: ProgrammedResponse(
        401, "invalid_client", "The API key is not recognised"
    ),
    "a refusal of the refresh token": lambda settings: ProgrammedResponse(
        401, "invalid_grant", "The refresh token has expired"
    ),
    "a server error": lambda settings: ProgrammedResponse(500, "server_error", "Internal server error"),
    "service unavailable": lambda settings: ProgrammedResponse(
        503, "temporarily_unavailable", "Down for maintenance"
    ),
    "a reply that comes late": lambda settings: ProgrammedResponse(
        200, delay_ms=settings.auth_timeout_ms * 2
    ),
    "too many requests, asking for a pause": _paused,
}


# The flaws a forged or broken access token can have, by the names scenarios use for them (the ``TokenKind``
# parameter type; None: no flaw).
TOKEN_FLAWS: dict[str, str | None] = {
    "a well-formed access token": None,
    "an answer without any access token": "missing",
    "an empty access token": "empty",
    "an access token that is not a token at all": "malformed",
    "a token whose claims were edited after signing": "tampered",
    "a token that has already expired": "expired",
    'an unsigned token (algorithm "none")': "unsigned",
    "a token from another issuer": "other_issuer",
    "a token meant for another service": "other_audience",
    "a token signed with someone else's key": "other_key",
}

# What a client made for a scenario is like beyond its key (the ``ClientTrait`` parameter type), as the
# arguments of ``ScenarioWorld.create_client`` that make it so.
CLIENT_TRAITS: dict[str, dict[str, bool]] = {
    "can show an avatar": {"with_avatar": True},
    "keeps its tokens between runs": {"keep_tokens": True},
    "offers compression": {"compression": True},
    "does not offer compression": {"compression": False},
    "trusts the test certificate authority": {"trust_test_authority": True},
    "does not trust the test certificate authority": {"trust_test_authority": False},
}

# What a bare request for a realtime connection presents (the ``PresentedToken`` parameter type): nothing, or
# the last token of a kind the client was given.
PRESENTED_TOKENS: dict[str, str | None] = {
    "without any token": None,
    "with the client's last access token": "access",
}

# The client's connection states, as `state:changed` names them (docs/protocol.md, "Client events"): what
# "the client ends up …" may name (the ``ClientState`` parameter type). The suite's own list, not the
# reference client's, so it judges any client.
CLIENT_STATES = (
    "initialized",
    "connecting",
    "authenticating",
    "connected",
    "ready",
    "disconnected",
    "reconnecting",
    "closing",
    "closed",
    "failed",
)

# The error codes of an auth error the client reports (the ``AuthError`` parameter type): the OAuth 2.0 error
# codes of RFC 6749 §5.2 and §4.1.2.1 the auth service answers with, its "rate_limited" for a caller asking
# too often (docs/protocol.md, "Connecting"), and the client's own "timeout" when no answer came in time.
AUTH_ERRORS = (
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "rate_limited",
    "timeout",
)

# The reasons the client gives for its verdict on a token's shape, as `token:checked` names them
# (docs/protocol.md, "Client events"; the ``TokenCheck`` parameter type).
TOKEN_CHECKS = ("missing_token", "empty_token", "malformed_token", "valid_format")
