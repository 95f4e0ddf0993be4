"""What went wrong, in one vocabulary: every failure is classified retryable or fatal, with plain words.

The classification drives what the client does next and is emitted as ``error:classified`` so people
can see why it retried or gave up.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, replace

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from realtime_protocol import CloseCode, describe_close_code
from realtime_protocol.secrets import mask_secrets

# Close codes after which retrying cannot help: the server rejected who we are or what we sent. Aligned with
# graphql-ws (src/client.ts, isFatalInternalCloseCode: every 1xxx but 1000, 1001, 1005, 1006, 1012, 1013 and
# 1014 is fatal) for 1002 and 1008. Unlike graphql-ws, 1009 (message too big) is retried: the client first
# drops the message the gateway could not take and reports it, so the rest of the session goes on (see
# ClientSession.refuse_oversized). And 1011 (internal error) is retried, as a 500 on the upgrade is, and as
# the Ably client spec retries server-side failures.
FATAL_CLOSE_CODES = {
    CloseCode.PROTOCOL_ERROR,
    CloseCode.POLICY_VIOLATION,
    CloseCode.BAD_MESSAGE,
    CloseCode.FORBIDDEN,
    CloseCode.SESSION_REPLACED,
}
# The server said it is overloaded and to come back later: the first retry waits at least the longest backoff
# pause instead of coming at once (docs/protocol.md, "Error classification").
OVERLOADED_CLOSE_CODES = {CloseCode.TRY_AGAIN_LATER}
OVERLOADED_STATUSES = {429, 503}


# How much of a refusal's text goes into a description, and the words websockets puts before it.
MAX_REASON_CHARS = 200
_WEBSOCKETS_PREFIX = "Failed to open a WebSocket connection: "

# The classification (and the auth error) for a server certificate the client does not trust.
CERTIFICATE_UNTRUSTED = "certificate_untrusted"


@dataclass(frozen=True)
class Classification:
    kind: str  # a short stable name, e.g. "connection_refused"
    retryable: bool
    description: str  # plain words for people
    recommended_delay_ms: float = 0.0  # wait at least this long before retrying (e.g. Retry-After)
    renew_token: bool = False  # get a new access token before retrying
    close_code: int | None = None
    # Asking again at once won't help (the server said it is overloaded, or the name did not resolve): the
    # first retry waits at least the longest backoff pause (see with_pause_for).
    wait_longer: bool = False

    def with_pause_for(self, longest_backoff_ms: float) -> Classification:
        """This classification with its recommended delay made concrete for a client whose longest backoff
        pause is ``longest_backoff_ms``: a failure worth a longer wait gets at least that long."""
        if not self.wait_longer:
            return self
        return replace(self, recommended_delay_ms=max(self.recommended_delay_ms, float(longest_backoff_ms)))


class ClientClosedError(RuntimeError):
    """The client is shutting down or shut down and accepts no more work."""


class AuthError(Exception):
    """The auth service refused or failed. Never carries the API key or a token."""

    def __init__(
        self,
        status: int | None,
        error: str,
        description: str,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}" + (f" (HTTP {status})" if status else ""))
        self.status = status
        self.error = error
        self.description = description
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        # Bad credentials or a bad request will not get better by asking again, and neither will a
        # certificate the client does not trust.
        if self.error == CERTIFICATE_UNTRUSTED:
            return False
        return self.status is None or self.status == 429 or self.status >= 500


class ProtocolViolationError(Exception):
    """The gateway broke the protocol in a way the session cannot continue from."""


class HeartbeatTimeoutError(Exception):
    """No reply to a heartbeat in time: the link is half-open or too slow to use."""


def untrusted_certificate(error: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed behind ``error``, if one did: libraries such as httpx wrap it in a
    transport error of their own, so the whole chain of causes is searched."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def describe_certificate_problem(server: str, error: ssl.SSLCertVerificationError) -> str:
    # verify_message says why in a few words; it is only set when OpenSSL itself raised the error.
    why = getattr(error, "verify_message", None) or getattr(error, "reason", None) or str(error)
    return f"{server}'s certificate is not trusted ({why})"


def classify(error: BaseException) -> Classification:
    if isinstance(error, AuthError) and error.error == CERTIFICATE_UNTRUSTED:
        return Classification(CERTIFICATE_UNTRUSTED, False, error.description)
    if isinstance(error, AuthError):
        return Classification(
            kind=f"auth_{error.status or 'unreachable'}",
            retryable=error.retryable,
            description=f"the auth service said {error}",
            recommended_delay_ms=(error.retry_after_s or 0) * 1000,
        )
    if isinstance(error, ConnectionClosed) and error.sent is not None and not error.rcvd_then_sent:
        # The client hung up first: the WebSocket library does, for a frame over max_message_bytes (1009).
        return classify_own_close(error.sent.code, error.sent.reason)
    if isinstance(error, ConnectionClosed):
        code = error.rcvd.code if error.rcvd is not None else None
        return classify_close(code, error.rcvd.reason if error.rcvd is not None else "")
    if isinstance(error, HeartbeatTimeoutError):
        return Classification("heartbeat_timeout", True, str(error))
    if isinstance(error, InvalidStatus):
        status = error.response.status_code
        if status in (401, 403):
            return Classification(
                f"handshake_{status}", False, f"the gateway refused the credentials (HTTP {status})"
            )
        if status == 400:
            # The request itself was refused (a protocol version the gateway does not speak, say): sending it
            # again cannot help.
            return Classification(
                "handshake_400", False, f"the gateway refused the request (HTTP 400): {_said(error)}"
            )
        retry_after_s = retry_after_seconds(error.response.headers.get("Retry-After"))
        asked = f", asking for a pause of {retry_after_s:g} s" if retry_after_s else ""
        return Classification(
            f"handshake_{status}",
            True,
            f"the gateway answered HTTP {status} to the upgrade{asked}",
            recommended_delay_ms=(retry_after_s or 0) * 1000,
            # A pause the gateway named wins, even a short one: it knows its own load.
            wait_longer=status in OVERLOADED_STATUSES and retry_after_s is None,
        )
    certificate_error = untrusted_certificate(error)
    if certificate_error is not None:
        return Classification(
            CERTIFICATE_UNTRUSTED, False, describe_certificate_problem("the server", certificate_error)
        )
    if isinstance(error, socket.gaierror):
        # Often a passing resolver outage, but not one that asking again at once will fix.
        return Classification(
            "name_not_resolved", True, "the server's name could not be resolved", wait_longer=True
        )
    if isinstance(error, ConnectionRefusedError):
        return Classification("connection_refused", True, "the server refused the connection")
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return Classification("timeout", True, "the server did not answer in time")
    if isinstance(error, httpx.TransportError | ConnectionError):
        return Classification("network_error", True, f"the network failed ({type(error).__name__})")
    if isinstance(error, ProtocolViolationError):
        return Classification("protocol_violation", False, f"the gateway broke the protocol: {error}")
    if isinstance(error, InvalidURI):
        return Classification("bad_address", False, f"the gateway address is not valid: {error}")
    if isinstance(error, InvalidHandshake):
        return Classification("handshake_failed", True, f"the WebSocket handshake failed: {error}")
    if isinstance(error, OSError):
        return Classification("network_error", True, f"the network failed ({error.strerror or error})")
    return Classification("unexpected", False, f"an unexpected error: {type(error).__name__}: {error}")


def _said(refused: InvalidStatus) -> str:
    """What the gateway said in the body of a refusal, on one line, without a secret."""
    body = refused.response.body.decode("utf-8", errors="replace") if refused.response.body else ""
    words = " ".join(body.split()).removeprefix(_WEBSOCKETS_PREFIX)
    return mask_secrets(words[:MAX_REASON_CHARS].rstrip(". ")) or "no reason given"


def classify_own_close(code: int, reason: str = "") -> Classification:
    """The client closed the connection itself, over something it received: worth a new connection."""
    detail = f"the client closed the connection: {describe_close_code(code)}" + (
        f", {reason!r}" if reason else ""
    )
    return Classification(f"client_closed_{code}", True, detail, close_code=code)


def classify_close(code: int | None, reason: str = "") -> Classification:
    described = describe_close_code(code if code is not None else CloseCode.ABNORMAL)
    detail = f"the connection closed: {described}" + (f", {reason!r}" if reason else "")
    if code is None or code == CloseCode.ABNORMAL:
        return Classification("connection_dropped", True, detail, close_code=int(CloseCode.ABNORMAL))
    if code == CloseCode.TOKEN_EXPIRED:
        return Classification("token_expired", True, detail, renew_token=True, close_code=code)
    if code in FATAL_CLOSE_CODES:
        return Classification(f"closed_{code}", False, detail, close_code=code)
    return Classification(
        f"closed_{code}", True, detail, close_code=code, wait_longer=code in OVERLOADED_CLOSE_CODES
    )


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header's pause in seconds (RFC 9110 §10.2.3), or None when there is none or it is
    not a number of seconds. The suite's services send fractional seconds; an HTTP date is not understood."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None
