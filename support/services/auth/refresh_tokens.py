"""Refresh-token families: rotation and reuse detection, without I/O.

Every sign-in with an API key starts a family (the refresh tokens descending from one grant). Refreshing
(RFC 6749 §6) rotates: the presented refresh token is spent and a new one of the same family is issued
(OAuth 2.0 Security BCP, RFC 9700 §4.14.2, "refresh token rotation"). A spent token presented again means two
parties hold the family, the client and whoever copied a token from it; the server cannot tell which is
which, so it revokes the whole family and both must sign in again (reuse detection, RFC 9700 §4.14.2).
Revoking a family cuts only the refresh chain: access tokens already issued run out on their own.

Lifetimes are in milliseconds and times in seconds of ``clock`` (``time.monotonic`` unless a test gives
another), so the suite can run refresh-token expiry in fractions of a second.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from support.services.auth.accounts import Account


class RefreshRefused(Exception):
    """A refresh token that buys nothing. ``description`` says why in words (the OAuth ``error_description``
    of its ``invalid_grant``); ``reused`` is true when the token was already spent, and its family has just
    been revoked for it; ``record`` is what was known of the token (None for one never issued)."""

    def __init__(self, description: str, record: RefreshToken | None = None, *, reused: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.record = record
        self.reused = reused


@dataclass
class RefreshToken:
    """What is remembered about one refresh token; the token itself is only the key it is stored under."""

    account: Account
    family: str
    key_fingerprint: str  # of the API key whose sign-in started the family, to correlate journal entries
    expires_at: float  # seconds of the families' clock
    used: bool = False  # spent by a rotation
    revoked: bool = False  # its family was revoked


@dataclass(frozen=True)
class NewRefreshToken:
    """A refresh token just issued, and what is remembered about it (its account and family)."""

    token: str = field(repr=False)
    record: RefreshToken


class RefreshTokenFamilies:
    """Every refresh token issued since the last reset, by family. Raises ``ValueError`` for a negative
    ``lifetime_ms``; ``new_token`` and ``new_family_id`` make the random parts (256-bit URL-safe tokens and
    12-hex-digit family ids unless a test gives others)."""

    def __init__(
        self,
        lifetime_ms: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32),
        new_family_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
    ) -> None:
        if lifetime_ms < 0:
            raise ValueError(f"the refresh token lifetime must not be negative, not {lifetime_ms} ms")
        self.lifetime_ms = lifetime_ms
        self._clock = clock
        self._new_token = new_token
        self._new_family_id = new_family_id
        self._tokens: dict[str, RefreshToken] = {}
        self._families: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"<RefreshTokenFamilies families={len(self._families)} tokens={len(self._tokens)}>"

    def __len__(self) -> int:
        """How many refresh tokens are remembered, spent and revoked ones included."""
        return len(self._tokens)

    def start(self, account: Account, key_fingerprint: str) -> NewRefreshToken:
        """A new family for a sign-in of ``account`` with the API key of that fingerprint, and its first
        refresh token."""
        family = self._new_family_id()
        self._families[family] = []
        return self._issue(account, family, key_fingerprint)

    def rotate(self, presented: str) -> NewRefreshToken:
        """Spend ``presented`` and issue its successor in the same family.

        Raises ``RefreshRefused`` when the token is unknown, already spent (reuse: its whole family is revoked
        first), revoked or expired, checked in that order."""
        record = self._tokens.get(presented)
        if record is None:
            raise RefreshRefused("The refresh token is not recognised")
        if record.used:
            # A spent token coming back means two parties hold the family: end it for both.
            self.revoke_family(record.family)
            raise RefreshRefused("The refresh token has already been used", record, reused=True)
        if record.revoked:
            raise RefreshRefused("The refresh token has been revoked", record)
        if record.expires_at <= self._clock():
            raise RefreshRefused("The refresh token has expired", record)
        record.used = True
        return self._issue(record.account, record.family, record.key_fingerprint)

    def record(self, token: str) -> RefreshToken | None:
        """What is remembered about ``token``, or None for a token never issued (or forgotten by a reset)."""
        return self._tokens.get(token)

    def revoke_family(self, family: str) -> None:
        """Revoke every refresh token of ``family`` (an unknown family: nothing happens)."""
        for token in self._families.get(family, ()):
            self._tokens[token].revoked = True

    def revoke_held_by(self, holds: Callable[[Account], bool]) -> int:
        """Revoke every family whose account ``holds`` says yes to; returns how many families that is."""
        families = {record.family for record in self._tokens.values() if holds(record.account)}
        for family in families:
            self.revoke_family(family)
        return len(families)

    def reset(self) -> None:
        """Forget every family and token."""
        self._tokens.clear()
        self._families.clear()

    def _issue(self, account: Account, family: str, key_fingerprint: str) -> NewRefreshToken:
        token = self._new_token()
        expires_at = self._clock() + self.lifetime_ms / 1000
        record = self._tokens[token] = RefreshToken(account, family, key_fingerprint, expires_at)
        self._families[family].append(token)
        return NewRefreshToken(token, record)
