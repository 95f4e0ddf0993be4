"""Test data kept in fixtures/, read once and checked."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@dataclass(frozen=True)
class AccountProfile:
    name: str
    description: str
    read: tuple[str, ...]  # channels the account may read; "*" is every channel
    publish: tuple[str, ...]  # channels it may post to

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels the account may read (the name used before reading and posting were told apart)."""
        return self.read


@functools.cache
def account_profiles(path: Path = FIXTURES / "accounts.json") -> dict[str, AccountProfile]:
    """The kinds of account a scenario can sign in as: people are made up, their rights come from here."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: _profile(name, entry) for name, entry in raw.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a valid account list: {error}") from None


def _profile(name: str, entry: dict[str, Any]) -> AccountProfile:
    # An entry with only "channels" is from before read and publish rights were told apart: it grants both.
    read = _channels(entry["read"] if "read" in entry else entry["channels"])
    publish = _channels(entry["publish"]) if "publish" in entry else read
    return AccountProfile(name, str(entry["description"]), read, publish)


def _channels(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"channels must be a list, not {type(value).__name__}")
    return tuple(str(channel) for channel in value)
