"""Encoding and checking the JSON text frames of the protocol (see docs/protocol.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from realtime_protocol.codes import CloseCode


class MessageType(StrEnum):
    HELLO = "hello"  # client -> server: start or resume a session
    WELCOME = "welcome"  # server -> client: the session is ready
    SUBSCRIBE = "subscribe"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBE = "unsubscribe"
    PUBLISH = "publish"  # client -> server: an application message with a client-chosen id
    MESSAGE = "message"  # server -> client: a numbered message on a channel
    ACK = "ack"  # either way: client acks a sequence number, server acks a publish id
    ERROR = "error"  # server -> client: a problem that does not end the connection
    AUTH = "auth"  # client -> server: a renewed access token for the live connection


# The fields each message type must carry, with their JSON types.
_REQUIRED: dict[MessageType, dict[str, type | tuple[type, ...]]] = {
    MessageType.HELLO: {},
    MessageType.WELCOME: {"session_id": str, "resumed": bool},
    MessageType.SUBSCRIBE: {"channel": str},
    MessageType.SUBSCRIBED: {"channel": str},
    MessageType.UNSUBSCRIBE: {"channel": str},
    MessageType.PUBLISH: {"id": str, "channel": str},
    MessageType.MESSAGE: {"seq": int, "channel": str},
    MessageType.ACK: {},
    MessageType.ERROR: {"code": str, "message": str},
    MessageType.AUTH: {"token": str},
}

# Fields a message type may carry, checked when present (None is allowed where shown).
_OPTIONAL: dict[MessageType, dict[str, type | tuple[type, ...]]] = {
    MessageType.HELLO: {"resume": (dict, type(None))},
    MessageType.ACK: {"seq": int, "id": str},
    MessageType.WELCOME: {"reason": (str, type(None)), "replay": int},
    MessageType.ERROR: {"id": str},  # the publish the error is about, when it is about one
}

# Values of these fields are never repeated in error messages.
_SECRET_FIELDS = {"token"}


class ProtocolError(ValueError):
    """A frame that does not follow the protocol. The message is one plain line.

    ``close_code`` is how a peer that will not go on after such a frame closes the connection (RFC 6455
    §7.4.1): 1003 for a kind of frame it does not take (binary), 1007 for text that is not a JSON object,
    1002 for an object that breaks the protocol's rules."""

    def __init__(self, message: str, close_code: int = CloseCode.PROTOCOL_ERROR) -> None:
        super().__init__(message)
        self.close_code = close_code


class UnknownMessageTypeError(ProtocolError):
    """A well-formed frame of a type this side does not know: ignorable, unlike other protocol errors."""


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), sort_keys=True)


def decode(frame: str | bytes) -> dict[str, Any]:
    """Parse and check one frame, raising ProtocolError with a one-line reason if it is unusable."""
    if isinstance(frame, bytes):
        raise ProtocolError(
            f"expected a text frame, got {len(frame)} bytes of binary data", CloseCode.UNSUPPORTED_DATA
        )
    try:
        message = json.loads(frame)
    except json.JSONDecodeError as error:
        raise ProtocolError(
            f"the frame is not valid JSON ({error.msg} at character {error.pos})", CloseCode.INVALID_PAYLOAD
        ) from None
    if not isinstance(message, dict):
        shape = f"it is a {type(message).__name__}"
        raise ProtocolError(f"the frame is JSON but not an object ({shape})", CloseCode.INVALID_PAYLOAD)
    kind = message.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("the frame has no message type")
    try:
        message_type = MessageType(kind)
    except ValueError:
        raise UnknownMessageTypeError(f"the frame has an unknown message type {kind!r}") from None
    for name, expected in _REQUIRED[message_type].items():
        _check_field(kind, name, message.get(name), expected)
    for name, expected in _OPTIONAL.get(message_type, {}).items():
        if name in message:
            _check_field(kind, name, message[name], expected)
    if message_type is MessageType.ACK and not ("seq" in message or "id" in message):
        raise ProtocolError("an 'ack' frame needs a 'seq' or an 'id'")
    resume = message.get("resume") if message_type is MessageType.HELLO else None
    if resume is not None:
        _check_field("hello", "resume.session_id", resume.get("session_id"), str)
        _check_field("hello", "resume.last_seq", resume.get("last_seq"), int)
    return message


def _check_field(kind: str, name: str, value: Any, expected: type | tuple[type, ...]) -> None:
    # bool is an int in Python; a sequence number of True is still a protocol error.
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        shown = "a hidden value" if name in _SECRET_FIELDS else repr(value)
        raise ProtocolError(f"a {kind!r} frame needs {name!r} as {_json_type(expected)}, got {shown}")


def _json_type(expected: type | tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "a whole number",
        bool: "true or false",
        dict: "an object",
        type(None): "null",
    }
    if isinstance(expected, tuple):
        return " or ".join(names.get(kind, kind.__name__) for kind in expected)
    return names.get(expected, expected.__name__)
