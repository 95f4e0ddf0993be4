"""How secrets are referred to wherever they would otherwise be written down."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from typing import Any

MASK = "[REDACTED]"

# Names whose values are secrets wherever they show up as `name: value`, `"name": "value"` or `name=value`.
SECRET_FIELDS = (
    "access_token",
    "refresh_token",
    "token",
    "api_key",
    "apikey",
    "api-key",
    "password",
    "secret",
    "authorization",
)
_NAMES = "|".join(SECRET_FIELDS)
# The value after the name is one of: quoted and closed (up to its own closing quote, whatever it holds);
# quoted but cut off (a truncated dump: up to the next space or quote); or bare (up to a space, the next
# `&name=` of a query string, or a comma or closing bracket that ends it: one followed by a space, another
# such mark or the end. A run of commas or brackets inside the value, as a generated password may have
# ("x))y("), is part of it).
# Fingerprints ("fp:…") are already safe and stay readable.
_FIELD = re.compile(
    rf"""(?P<name>["']?\b(?:{_NAMES})\b["']?\s*[:=]\s*)(?!["']?fp:)"""
    r"""(?:"(?P<double>(?:[^"\\]|\\.)*)"|'(?P<single>(?:[^'\\]|\\.)*)'"""
    r"""|(?P<cut>["'][^"'\s]+)|(?!(?:Bearer|Basic)\b)"""
    r"""(?P<bare>[^"'\s](?:[^"'\s,&})\]]|[,})\]]++(?!\s|$)|&(?!\w+=))*))""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<name>\b(?:Bearer|Basic)\s+)(?P<value>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)
# A JSON Web Token in free text: two base64url JSON segments ("eyJ" is how "{" starts) and a signature.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# A run of 13 to 19 digits, in groups split by single spaces or dashes, standing alone (not inside a word, a
# hex id, a longer number or a decimal): a card number if its check digit is right (Luhn).
_CARD = re.compile(r"(?<![\w.])\d(?:[ -]?\d){12,18}(?![\w.])")
# Structured data: a field is secret when its name, lowered and stripped of separators (so apiKey, api_key
# and X-Api-Key all read "apikey"), is one of these or ends with one of the suffixes.
_SECRET_NAMES = frozenset({"authorization", "cookie", "creditcard", "cardnumber", "cvv", "pan"})
_SECRET_SUFFIXES = ("token", "secret", "password", "passwd", "apikey")


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
    text = _CARD.sub(_mask_card, text)
    return _FIELD.sub(_mask_field, text)


def _mask_card(match: re.Match[str]) -> str:
    return MASK if luhn_valid(match[0]) else match[0]


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check that every payment card number passes."""
    digits = [int(char) for char in number if char.isdigit()]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return bool(digits) and total % 10 == 0


def is_secret_name(name: str) -> bool:
    """Whether a field called ``name`` holds a secret, however it is spelled (``apiKey``, ``api_key``,
    ``X-Api-Key``, ``client_secret``, ``creditCard``); ``token_type`` and ``tokens_cleared`` do not."""
    squashed = "".join(char for char in name.lower() if char.isalnum())
    return squashed in _SECRET_NAMES or squashed.endswith(_SECRET_SUFFIXES)


def redact_data(value: Any) -> Any:
    """A copy of structured data (what a log line carries) with secrets masked at any depth: the value of
    every secret-named field, and in every other string what ``mask_secrets`` masks in text (bearer
    credentials, JWTs, card numbers, ``name=value`` pairs as in a URL's query string). Fingerprints stay
    readable; everything else is left exactly as it was."""
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        return {
            key: _masked_field(value[key]) if is_secret_name(str(key)) else redact_data(value[key])
            for key in value
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_data(item) for item in value]
    return value


def _masked_field(value: Any) -> Any:
    if value is None or (isinstance(value, str) and (not value or value.startswith("fp:"))):
        return value
    return MASK


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
