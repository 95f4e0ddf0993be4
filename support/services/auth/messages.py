"""What goes in and out of the auth service's endpoints, without I/O: a token request as read from its body,
and an answer to give (status, JSON body, headers).

Bodies are JSON objects (the real OAuth token endpoint takes form fields; this mock takes JSON, as the
client under test sends it). Error answers are OAuth error bodies (RFC 6749 §5.2) and every answer from the
token endpoint says ``Cache-Control: no-store`` (RFC 6749 §5.1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from support.services.auth.programmed import ProgrammedResponse
from support.services.http_app import Refusal

TOKEN_PATH = "/oauth/token"
REVOKE_PATH = "/oauth/revoke"
HEALTH_PATH = "/health"

API_KEY_GRANT = "api_key"
REFRESH_GRANT = "refresh_token"

NO_STORE = {"Cache-Control": "no-store"}
# A client_id is the caller's own choice of name; a longer one is cut so it cannot swamp the journal.
_MAX_CLIENT_ID = 100


@dataclass(frozen=True)
class Answer:
    """An HTTP answer to give: status code, JSON body and headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refusal(cls, refusal: Refusal, headers: dict[str, str] | None = None) -> Answer:
        """An OAuth error answer (RFC 6749 §5.2), not to be stored."""
        body = {"error": refusal.error, "error_description": refusal.description}
        return cls(refusal.status, body, {**NO_STORE, **(headers or {})})


@dataclass(frozen=True)
class TokenRequest:
    """A token request as received, waiting to be answered.

    ``grant_type`` is as journaled ("api_key", "refresh_token", or "invalid" for anything else);
    ``credential`` is the API key or refresh token presented (never shown); ``caller`` the ``client_id`` the
    request names, else its network address. ``programmed`` is the answer programmed for it, if any, and
    ``answer`` is set when it was answered on arrival (a throttled caller)."""

    body: dict[str, Any] | None = field(repr=False)
    grant_type: str
    credential: str | None = field(repr=False)
    caller: str
    programmed: ProgrammedResponse | None = None
    answer: Answer | None = None

    @classmethod
    def read(cls, raw: bytes, remote: str | None) -> TokenRequest:
        """The request whose body is ``raw`` (bytes, expected to be a JSON object), sent from ``remote`` (a
        network address, None when unknown). Never raises: a body that is no JSON object is read as None."""
        body = parse_object(raw)
        grant_type = body.get("grant_type") if body is not None else None
        label = grant_type if grant_type in (API_KEY_GRANT, REFRESH_GRANT) else "invalid"
        value = None
        if body is not None:
            value = body.get("refresh_token") if grant_type == REFRESH_GRANT else body.get("api_key")
        client_id = body.get("client_id") if body is not None else None
        if isinstance(client_id, str) and client_id.strip():
            caller = client_id.strip()[:_MAX_CLIENT_ID]
        else:
            caller = f"address {remote or 'unknown'}"
        return cls(body, label, value if isinstance(value, str) else None, caller)

    @property
    def delay_ms(self) -> int:
        """How long to hold the answer back (a programmed delay), in ms."""
        return self.programmed.delay_ms if self.programmed is not None else 0


def parse_object(raw: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None. Content-Type is not insisted on: the body decides."""
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


def format_seconds(seconds: float) -> str:
    """``Retry-After``'s value for a pause of ``seconds``. RFC 9110 §10.2.3 gives whole seconds, but the
    suite scales time down, so fractions are kept (to the millisecond, without trailing zeros)."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"
