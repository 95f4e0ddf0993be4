"""The parts the client is made of, and the one contract they share with the client that coordinates them.

The client is built from subsystems — auth, session, logger, audio, avatar — that must start, stop,
recover and reconfigure together. The client starts them in its order (auth first), shuts them down in
the reverse order, hands each the part of a configuration update that concerns it, and asks each how it
is when someone wants the client's health.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

Health = Literal["up", "degraded", "down"]


class Subsystem(Protocol):
    name: str  # a short stable name, used as the ``component`` of the events about it: "auth", "avatar"...

    async def initialize(self) -> None:
        """Get ready to work. Called once, in the client's start-up order."""

    async def cleanup(self, reason: str) -> None:
        """Let go of everything held (sessions at remote services, tasks, files). Called once, in the client's
        shutdown order; emits the subsystem's own cleanup event, named ``<name>:cleanup``."""

    def settings(self) -> dict[str, Any]:
        """The subsystem's current run-time settings, by the names a configuration update uses."""

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        """Why these changes can't be taken, one plain line each (unknown key, wrong type, out of range);
        empty when they can. Nothing is changed."""

    def apply(self, changes: Mapping[str, Any]) -> None:
        """Take changes that ``problems_with`` found nothing wrong with; they take effect from now on."""

    def health(self) -> tuple[Health, dict[str, Any]]:
        """How the subsystem is, with the facts behind it (no secrets)."""
