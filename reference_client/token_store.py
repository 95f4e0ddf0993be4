"""Where the client keeps its tokens between runs: a file, encrypted, so a copy of it gives nothing away.

Fernet (AES-128-CBC with an HMAC-SHA256 tag, from `cryptography`) keeps the tokens confidential and tells a
tampered or wrongly keyed file apart from a good one. The key is the application's to keep (an OS keyring,
a secret manager); the file is written owner-only, atomically, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class TokenStoreError(Exception):
    """The stored tokens can't be used. The message is one plain line and never contains a secret."""


@dataclass(frozen=True)
class StoredTokens:
    access_token: str
    refresh_token: str | None
    expires_at: float  # wall-clock seconds since the epoch: the monotonic clock does not survive a restart
    lifetime_s: float

    def seconds_left(self, now: float | None = None) -> float:
        return self.expires_at - (time.time() if now is None else now)


class TokenStore:
    def __init__(self, path: str | os.PathLike[str], key: bytes) -> None:
        self.path = Path(path)
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise TokenStoreError(
                "the token store key is not a valid key (32 url-safe base64 bytes)"
            ) from None

    def __repr__(self) -> str:
        return f"<TokenStore {self.path}>"

    @staticmethod
    def new_key() -> bytes:
        return Fernet.generate_key()

    def save(self, tokens: StoredTokens) -> None:
        plain = json.dumps(
            {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_at": tokens.expires_at,
                "lifetime_s": tokens.lifetime_s,
            }
        ).encode("utf-8")
        partial = self.path.with_name(self.path.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(self._fernet.encrypt(plain))
        partial.replace(self.path)

    def load(self) -> StoredTokens | None:
        """The stored tokens, or None when nothing is stored; ``TokenStoreError`` when they can't be read."""
        try:
            sealed = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise TokenStoreError(f"the token store {self.path} can't be read ({error.strerror})") from None
        try:
            raw = json.loads(self._fernet.decrypt(sealed))
            return StoredTokens(
                access_token=str(raw["access_token"]),
                refresh_token=None if raw.get("refresh_token") is None else str(raw["refresh_token"]),
                expires_at=float(raw["expires_at"]),
                lifetime_s=float(raw["lifetime_s"]),
            )
        except InvalidToken:
            raise TokenStoreError(
                f"the token store {self.path} was written with another key or has been tampered with"
            ) from None
        except (ValueError, KeyError, TypeError):
            raise TokenStoreError(f"the token store {self.path} does not hold tokens") from None

    def clear(self) -> bool:
        """Delete the stored tokens; whether there were any."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
