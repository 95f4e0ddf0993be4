"""How secrets are referred to wherever they would otherwise be written down."""

from __future__ import annotations

import hashlib


def fingerprint(secret: str | None) -> str:
    """A short, stable, non-reversible name for a secret: safe for logs, events and reports."""
    if not secret:
        return "none"
    return "fp:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]
