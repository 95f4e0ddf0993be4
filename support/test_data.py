"""Test data kept in fixtures/, read once and checked."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass(frozen=True)
class AccountProfile:
    name: str
    description: str
    channels: tuple[str, ...]


@functools.cache
def account_profiles(path: Path = FIXTURES / "accounts.json") -> dict[str, AccountProfile]:
    """The kinds of account a scenario can sign in as: people are made up, their rights come from here."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {
            name: AccountProfile(name, str(entry["description"]), tuple(str(c) for c in entry["channels"]))
            for name, entry in raw.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{path} is not a valid account list: {error}") from None
