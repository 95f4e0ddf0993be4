"""How secrets are referred to wherever they would otherwise be written down."""

from __future__ import annotations

import hashlib
import logging
import re

MASK = "[REDACTED]"

# Names whose values are secrets wherever they show up as `name: value`, `"name": "value"` or `name=value`.
SECRET_FIELDS = ("access_token", "refresh_token", "token", "api_key", "password", "secret", "authorization")
_NAMES = "|".join(SECRET_FIELDS)
# The value after the name is one of: quoted and closed (up to its own closing quote, whatever it holds);
# quoted but cut off (a truncated dump: up to the next space or quote); or bare (up to a space, a comma, a
# closing bracket or the next `&name=` of a query string).
# Fingerprints ("fp:…") are already safe and stay readable.
_FIELD = re.compile(
    rf"""(?P<name>["']?\b(?:{_NAMES})\b["']?\s*[:=]\s*)(?!["']?fp:)"""
    r"""(?:"(?P<double>(?:[^"\\]|\\.)*)"|'(?P<single>(?:[^'\\]|\\.)*)'"""
    r"""|(?P<cut>["'][^"'\s]+)|(?!(?:Bearer|Basic)\b)(?P<bare>[^"'\s](?:[^"'\s,&})\]]|&(?!\w+=))*))""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<name>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)
# A JSON Web Token in free text: two base64url JSON segments ("eyJ" is how "{" starts) and a signature.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


def fingerprint(secret: str | None) -> str:
    """A short, stable, non-reversible name for a secret: safe for logs, events and reports."""
    if not secret:
        return "none"
    return "fp:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:12]


def mask_secrets(text: str) -> str:
    """``text`` with bearer credentials, JWTs and the values of secret-named fields replaced by a mask.

    For text that libraries write about traffic (header dumps, frame dumps) where the secret values are not
    known in advance; the values themselves are never needed to find them."""
    text = _BEARER.sub(lambda match: match["name"] + MASK, text)
    text = _JWT.sub(MASK, text)
    return _FIELD.sub(_mask_field, text)


def _mask_field(match: re.Match[str]) -> str:
    if match["double"] is not None:
        return f'{match["name"]}"{MASK}"'
    if match["single"] is not None:
        return f"{match['name']}'{MASK}'"
    if match["cut"] is not None:
        return match["name"] + match["cut"][0] + MASK
    return match["name"] + MASK


class SecretMaskingFilter(logging.Filter):
    """Masks secrets in every record passing through a logger, so debug dumps of headers and frames made by
    the libraries underneath (websockets writes `Authorization: Bearer …` at debug level) stay safe."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def masked_logger(name: str) -> logging.Logger:
    """The logger called ``name``, with secret masking installed once."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, SecretMaskingFilter) for existing in logger.filters):
        logger.addFilter(SecretMaskingFilter())
    return logger
