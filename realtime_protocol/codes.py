"""WebSocket close codes used by the protocol: the standard ones (RFC 6455 §7.4) and the app's 4xxx."""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    ABNORMAL = 1006  # never sent on the wire: the connection dropped without a close frame
    INVALID_PAYLOAD = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_MESSAGE = 4000
    TOKEN_EXPIRED = 4001
    FORBIDDEN = 4003
    SESSION_REPLACED = 4009


_DESCRIPTIONS = {
    CloseCode.NORMAL: "closed normally",
    CloseCode.GOING_AWAY: "the server is going away",
    CloseCode.PROTOCOL_ERROR: "a protocol error",
    CloseCode.ABNORMAL: "the connection dropped without a close frame",
    CloseCode.UNSUPPORTED_DATA: "a kind of data that cannot be accepted",
    CloseCode.INVALID_PAYLOAD: "a message whose data did not fit its kind",
    CloseCode.POLICY_VIOLATION: "a policy violation",
    CloseCode.MESSAGE_TOO_BIG: "a message was too big",
    CloseCode.INTERNAL_ERROR: "an internal server error",
    CloseCode.SERVICE_RESTART: "the service is restarting",
    CloseCode.TRY_AGAIN_LATER: "the server asked to try again later",
    CloseCode.BAD_MESSAGE: "the peer sent a message it could not understand",
    CloseCode.TOKEN_EXPIRED: "the access token expired",
    CloseCode.FORBIDDEN: "access was forbidden",
    CloseCode.SESSION_REPLACED: "the session was taken over by a newer connection",
}


def describe_close_code(code: int | None) -> str:
    """Plain words for a close code, for events and failure messages."""
    if code is None:
        return "no close code"
    try:
        return f"{code} ({_DESCRIPTIONS[CloseCode(code)]})"
    except ValueError:
        return f"{code} (an unrecognised close code)"
