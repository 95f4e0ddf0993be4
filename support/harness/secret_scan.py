"""Looking for secrets where they must never be: log lines, event text, report attachments.

A finding names where a secret was seen and which one by fingerprint, never by value, so the failure
message that reports a leak does not leak it again.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from realtime_protocol import fingerprint

# Long secrets are also looked for in pieces this long; shorter pieces could turn up by chance.
_PIECE = 24


@dataclass(frozen=True)
class Finding:
    where: str
    secret: str  # its fingerprint

    def __str__(self) -> str:
        return f"a secret (fingerprint {self.secret}) in {self.where}"


def telltales(secret: str) -> set[str]:
    """The ways a secret can show up: whole, base64-encoded, or cut short (a library's debug dump truncates
    long values), so long secrets are also looked for piece by piece."""
    raw = secret.encode("utf-8")
    found = {
        secret,
        base64.b64encode(raw).decode("ascii").rstrip("="),
        base64.urlsafe_b64encode(raw).decode("ascii").rstrip("="),
    }
    parts = secret.split(".")
    # Only a JWT's signature is its own: the header and the start of the claims are shared by every token
    # of the same issuer, and without its signature a token opens nothing.
    for part in parts[2:] if len(parts) == 3 else parts:
        found |= {part[start : start + _PIECE] for start in range(0, len(part) - _PIECE + 1, _PIECE)}
    return found


def scan(texts: Mapping[str, str], secrets: Iterable[str]) -> list[Finding]:
    """Every place in ``texts`` (name -> text) where one of ``secrets`` shows up, in any of its forms."""
    findings: list[Finding] = []
    for secret in {secret for secret in secrets if secret}:
        forms = telltales(secret)
        for where, text in texts.items():
            if any(form in text for form in forms):
                findings.append(Finding(where, fingerprint(secret)))
    return sorted(findings, key=lambda finding: (finding.where, finding.secret))


def scan_bytes(content: bytes, secrets: Iterable[str], where: str) -> list[Finding]:
    """The same for bytes (a file as stored): decoded leniently, so no byte is skipped."""
    return scan({where: content.decode("utf-8", errors="replace")}, secrets)
