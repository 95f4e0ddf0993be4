"""The parts the client is made of, and the one contract they share with the client that coordinates them.

The client is built from subsystems — auth, session, logger, audio, avatar — that must start, stop,
recover and reconfigure together. The client starts them in its order (auth first), shuts them down in
the reverse order, hands each the part of a configuration update that concerns it, and asks each how it
is when someone wants the client's health.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, Protocol

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


# The problem with a setting's value, in one plain line, or None when the value will do.
Rule = Callable[[Any], str | None]


class SettingsByRule:
    """Run-time settings a subsystem keeps itself (``_settings``, by name), each checked by its own rule
    (``RULES``): the ``settings``, ``problems_with`` and ``apply`` of the ``Subsystem`` contract."""

    name: str
    RULES: ClassVar[Mapping[str, Rule]]
    _settings: dict[str, Any]

    def _take_settings(self, settings: Mapping[str, Any]) -> None:
        """Start with ``settings``; ``ValueError`` with every problem, in one line, when any is wrong."""
        problems = self.problems_with(settings)
        if problems:
            raise ValueError("; ".join(problems))
        self._settings = dict(settings)

    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        problems: list[str] = []
        for key, value in changes.items():
            rule = self.RULES.get(key)
            if rule is None:
                known = ", ".join(sorted(self.RULES))
                problems.append(f"{self.name} has no setting {key!r} (known: {known})")
            elif (problem := rule(value)) is not None:
                problems.append(problem)
        return problems

    def apply(self, changes: Mapping[str, Any]) -> None:
        self._settings.update(changes)
