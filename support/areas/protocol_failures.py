"""What the protocol-failure scenarios need: frames a misbehaving gateway sends, by the names scenarios use
for them; protocol versions in words; payloads that do or do not compress; and reading what the client did
about them. Plain Python, so pytest can exercise it without a service running.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from collections.abc import Sequence
from typing import Any

from realtime_protocol import MessageType, encode
from support.drivers.base import ObservedEvent
from support.drivers.events import ErrorClassified
from support.harness.queries import Events, Records
from support.services.journal import JournalEntry
from support.services.records import GatewayConnectionClosed

# A message type no version of the protocol has: what a newer gateway might send an older client.
UNKNOWN_TYPE = "presence"

# Frames the client cannot use, by the names scenarios give them (the ``UnusableFrame`` parameter type).
UNUSABLE_FRAMES: dict[str, str | bytes] = {
    "a binary frame": bytes(range(16)),
    "a text frame that is not JSON": "the price is right",
    "JSON that is not an object": "[1, 2, 3]",
    "a message without its sequence number": encode(
        {"type": MessageType.MESSAGE, "channel": "prices", "data": {"note": "no number"}}
    ),
}
UNKNOWN_FRAME = encode({"type": UNKNOWN_TYPE, "who": "someone", "status": "online"})

_VERSION = re.compile(r"version (\d+)")
SUBPROTOCOL_PREFIX = "realtime.v"


# Protocol versions said in words (the ``ProtocolVersions`` parameter type).
VERSIONS_PATTERN = r"(?:only )?version \d+(?: and version \d+)*"
VERSION_WORDS = ("version {n}", "only version {n}", "version {n} and version {m}")
# Whether the gateway takes compression when a client offers it (the ``GatewayCompression`` parameter type),
# and whether a connection was compressed (``Compressed``).
GATEWAY_COMPRESSION = {"accepts": True, "refuses": False}
COMPRESSED = {"was": True, "was not": False}


def protocol_versions(words: str) -> tuple[str, ...]:
    """Subprotocol names for versions said in words: "version 2 and version 1" → realtime.v2, realtime.v1."""
    versions = tuple(f"{SUBPROTOCOL_PREFIX}{number}" for number in _VERSION.findall(words))
    if not versions:
        raise ValueError(
            f"No protocol version in {words!r}; say it like 'version 2' or 'version 2 and version 1'"
        )
    return versions


def version_in_words(subprotocol: str | None) -> str:
    """realtime.v1 → "version 1"; no subprotocol at all is said so."""
    if subprotocol is None:
        return "no version"
    return "version " + subprotocol.removeprefix(SUBPROTOCOL_PREFIX)


def oversized(rng: random.Random, limit_bytes: int) -> dict[str, str]:
    """A message body comfortably over ``limit_bytes`` once encoded."""
    return {"text": "".join(rng.choices("abcdefghijklmnopqrstuvwxyz ", k=limit_bytes + 1024))}


def mixed_payloads(rng: random.Random, count: int, size: int) -> list[dict[str, Any]]:
    """``count`` numbered messages of about ``size`` characters each, alternately highly compressible (one
    phrase over and over) and incompressible (random bytes, base64-encoded)."""
    messages: list[dict[str, Any]] = []
    for number in range(1, count + 1):
        if number % 2:
            body, kind = ("all quiet on the channel; " * (size // 26 + 1))[:size], "compressible"
        else:
            body, kind = base64.b64encode(rng.randbytes(size * 3 // 4)).decode("ascii"), "incompressible"
        messages.append({"n": number, "kind": kind, "body": body})
    return messages


def digests(payloads: Sequence[Any]) -> list[str]:
    """Short, readable stand-ins for payloads, to compare many big ones in a failure message:
    ``#3 incompressible 4096 chars 1f2e3d4c``."""
    shown = []
    for payload in payloads:
        text = json.dumps(payload, sort_keys=True)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
        if isinstance(payload, dict):
            body = payload.get("body", payload.get("text", ""))
            label = f"#{payload.get('n', '?')} {payload.get('kind', 'message')} {len(str(body))} chars"
        else:
            label = type(payload).__name__
        shown.append(f"{label} {digest}")
    return shown


def own_hang_ups(events: Sequence[ObservedEvent], since: float) -> list[ErrorClassified]:
    """The times the client itself closed the connection over something it received, after ``since``, as it
    classified them: the classification, the close code and whether it meant to retry."""
    return Events(events).where(
        ErrorClassified,
        lambda event: (
            event.classification == "unusable_frame" or event.classification.startswith("client_closed_")
        ),
        since=since,
    )


def closes_seen(journal: Sequence[JournalEntry]) -> list[str]:
    """How the gateway saw each connection close, in words (``1009 (a message was too big)``)."""
    return [record.reason for record in Records(journal).of(GatewayConnectionClosed)]


def warnings_about(lines: Sequence[str], words: str) -> list[str]:
    """The captured log lines at warning level that mention ``words``."""
    return [line for line in lines if " WARNING " in line and words in line]
