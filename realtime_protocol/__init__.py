"""The suite's realtime wire protocol: message types, close codes and frame encoding.

Both the reference client and the mock gateway speak it; docs/protocol.md describes it for people
who want to point the suite at a client or gateway of their own.
"""

from realtime_protocol.codes import CloseCode, describe_close_code
from realtime_protocol.frames import MessageType, ProtocolError, UnknownMessageTypeError, decode, encode
from realtime_protocol.secrets import fingerprint

__all__ = [
    "CloseCode",
    "MessageType",
    "ProtocolError",
    "UnknownMessageTypeError",
    "decode",
    "describe_close_code",
    "encode",
    "fingerprint",
]
