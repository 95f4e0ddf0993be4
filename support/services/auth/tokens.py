"""Signed access tokens (JWT, ES256) shared by the mock auth service, which issues them, and the mock
gateway, which checks them.

Lifetimes are in milliseconds so the suite can run token expiry in fractions of a second; ``exp`` and
``iat`` are therefore fractional NumericDates (RFC 7519 §2 allows non-integer values) and expiry is
checked here to the millisecond rather than by PyJWT, which truncates to whole seconds.

A token grants channels twice over: ``channels`` may be read (subscribed to) and ``publish`` may be posted
to. A token without a ``publish`` claim, as tokens were before that claim existed, may post wherever it may
read.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"
DEFAULT_ISSUER = "realtime-acceptance-auth"
DEFAULT_AUDIENCE = "realtime-gateway"
# Ways an access token can be wrong that the gateway must catch; see TokenAuthority.issue_flawed.
FLAWS = ("tampered", "expired", "unsigned", "other_issuer", "other_audience", "other_key")


class InvalidTokenError(Exception):
    """A token the gateway must refuse. ``reason`` is a short phrase for people to read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AccessClaims:
    subject: str
    channels: tuple[str, ...]  # what the token may read; "*" is every channel
    expires_at: float  # wall-clock seconds since the epoch, fractional
    token_id: str
    publish_channels: tuple[str, ...] | None = None  # what it may post to; None: wherever it may read

    def allows(self, channel: str) -> bool:
        """Whether the token may read (subscribe to) the channel."""
        return _grants(self.channels, channel)

    def may_publish(self, channel: str) -> bool:
        """Whether the token may post to the channel."""
        granted = self.channels if self.publish_channels is None else self.publish_channels
        return _grants(granted, channel)

    def seconds_left(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)


class TokenAuthority:
    """Holds a signing key made at start-up; nothing is read from or written to disk."""

    def __init__(self, issuer: str = DEFAULT_ISSUER, audience: str = DEFAULT_AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self._private_key = ec.generate_private_key(ec.SECP256R1())
        self._public_key = self._private_key.public_key()

    def issue(
        self,
        subject: str,
        channels: tuple[str, ...],
        lifetime_ms: int,
        publish: tuple[str, ...] | None = None,
        **extra: Any,
    ) -> str:
        """A signed token reading ``channels`` and posting to ``publish`` (None: wherever it may read)."""
        if publish is not None:
            extra["publish"] = list(publish)
        return jwt.encode(self._claims(subject, channels, lifetime_ms, **extra), self._private_key, ALGORITHM)

    def issue_flawed(self, flaw: str, subject: str, channels: tuple[str, ...], lifetime_ms: int) -> str:
        """A token that looks usable but must be refused, as an attacker or a broken issuer would make it."""
        claims = self._claims(subject, channels, lifetime_ms)
        if flaw == "tampered":
            # A real token whose claims were edited afterwards to grant every channel; the signature is kept.
            header, _, signature = self.issue(subject, channels, lifetime_ms).split(".")
            edited = json.dumps({**claims, "channels": ["*"]}).encode("utf-8")
            return ".".join(
                (header, base64.urlsafe_b64encode(edited).rstrip(b"=").decode("ascii"), signature)
            )
        if flaw == "expired":
            return self.issue(subject, channels, lifetime_ms=-60_000)
        if flaw == "unsigned":
            return jwt.encode(claims, None, algorithm="none")
        if flaw == "other_issuer":
            return jwt.encode({**claims, "iss": "someone-else"}, self._private_key, ALGORITHM)
        if flaw == "other_audience":
            return jwt.encode({**claims, "aud": "another-service"}, self._private_key, ALGORITHM)
        if flaw == "other_key":
            return jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), ALGORITHM)
        raise ValueError(f"unknown token flaw {flaw!r} (known: {', '.join(FLAWS)})")

    def _claims(
        self, subject: str, channels: tuple[str, ...], lifetime_ms: int, **extra: Any
    ) -> dict[str, Any]:
        now = time.time()
        return {
            "sub": subject,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime_ms / 1000,
            "jti": uuid.uuid4().hex,
            "channels": list(channels),
            **extra,
        }

    def verify(self, token: str | None) -> AccessClaims:
        if not token:
            raise InvalidTokenError("no token was presented")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidTokenError("the token is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidTokenError(
                f"the token uses the algorithm {header.get('alg')!r}, which is not accepted"
            )
        try:
            claims: Mapping[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"verify_exp": False, "require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.InvalidSignatureError:
            raise InvalidTokenError("the token's signature does not match") from None
        except jwt.InvalidAudienceError:
            raise InvalidTokenError("the token is for a different audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidTokenError("the token comes from an unknown issuer") from None
        except jwt.PyJWTError as error:
            raise InvalidTokenError(f"the token is not valid ({error})") from None
        expires_at = float(claims["exp"])
        if expires_at <= time.time():
            raise InvalidTokenError("the token has expired")
        publish = claims.get("publish")
        if publish is not None and not isinstance(publish, list):
            raise InvalidTokenError("the token's publish grant is not a list of channels")
        return AccessClaims(
            subject=str(claims["sub"]),
            channels=tuple(claims.get("channels", ())),
            expires_at=expires_at,
            token_id=str(claims.get("jti", "")),
            publish_channels=None if publish is None else tuple(str(channel) for channel in publish),
        )


def _grants(granted: tuple[str, ...], channel: str) -> bool:
    return "*" in granted or channel in granted
