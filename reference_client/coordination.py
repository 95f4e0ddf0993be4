"""How the client's subsystems work together: start in order, stop in the reverse order, take a change of
configuration all or nothing, and recover from failures as one.

* **Start-up order.** The client's subsystems are an ordered list, auth first: each is initialised once, in
  that order, and says so (``subsystem:initialized``). Shutdown goes the other way, so a part is let go
  before the parts it relies on (the session ends at the gateway before the tokens behind it are revoked).
* **Configuration at run time.** An update names the subsystems it is for (``{"session": {...}}``). Every
  part of it is checked before anything changes; one problem anywhere refuses the whole update
  (``config:rejected`` and a ``ConfigError`` with one line saying why). Otherwise each subsystem takes its
  part and says what changed (``config:updated``).
* **One recovery at a time.** When the live session is lost, whatever failed on the way back (the sign-in,
  the connection, the session) belongs to the same recovery, reported once per part (``error:system``),
  and it ends once, when the client is ready again (``recovery:completed``) or gives up
  (``recovery:failed``). A recovery that more than one part of the client had to come back from is a
  cascade, reported as one ``system:failure`` with the parts in the order they failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from reference_client.config import ClientConfig, ConfigError
from reference_client.errors import Classification
from reference_client.events import EventEmitter
from reference_client.subsystems import Health, Subsystem

log = logging.getLogger("reference_client")

# Configuration sections called by another name than the subsystem they are for.
SECTION_ALIASES = {"logging": "logger"}

# The parts of the client a failure can come from, as ``error:system`` names them.
AUTH, CONNECTION, SESSION = "auth", "connection", "session"


class LiveConfig:
    """The client's configuration as it is now: one ``ClientConfig``, replaced as a whole when it changes, so
    its checks are the only rules. Loops that time themselves by it wait with ``pause`` and so notice a
    change at once."""

    def __init__(self, config: ClientConfig) -> None:
        self.current = config
        self._changed = asyncio.Event()

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        return self.current.problems_with(changes)

    def update(self, **changes: Any) -> None:
        """Take changes ``problems_with`` found nothing wrong with, and wake everyone pausing."""
        self.current = replace(self.current, **changes)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def pause(self, delay_s: float) -> bool:
        """Wait ``delay_s`` seconds, or less if the configuration changes meanwhile; True if it changed."""
        changed = self._changed
        try:
            async with asyncio.timeout(max(0.0, delay_s)):
                await changed.wait()
        except TimeoutError:
            return False
        return True


class Coordinator:
    """Runs the client's subsystems together: start-up, shutdown, configuration updates and health."""

    def __init__(self, subsystems: Sequence[Subsystem], events: EventEmitter) -> None:
        names = [subsystem.name for subsystem in subsystems]
        if len(set(names)) != len(names):
            raise ValueError(f"every subsystem needs a name of its own, got {', '.join(names)}")
        self._subsystems = list(subsystems)
        self._events = events
        self._initialized = False
        self._cleaned_up = False

    @property
    def order(self) -> list[str]:
        """The subsystems' names in start-up order."""
        return [subsystem.name for subsystem in self._subsystems]

    async def initialize(self) -> None:
        """Initialise every subsystem, once, in order."""
        if self._initialized:
            return
        self._initialized = True
        for position, subsystem in enumerate(self._subsystems, 1):
            await subsystem.initialize()
            self._events.emit("subsystem:initialized", component=subsystem.name, position=position)

    async def cleanup(self, reason: str) -> None:
        """Clean every subsystem up, once, in the reverse of the start-up order. One that fails to is
        logged, and the others are still cleaned up."""
        if self._cleaned_up:
            return
        self._cleaned_up = True
        for subsystem in reversed(self._subsystems):
            try:
                await subsystem.cleanup(reason)
            except Exception as error:
                log.warning("the %s subsystem failed to clean up: %s", subsystem.name, error)

    def settings(self) -> dict[str, dict[str, Any]]:
        """Every subsystem's run-time settings, by subsystem, in start-up order."""
        return {subsystem.name: subsystem.settings() for subsystem in self._subsystems}

    def health(self) -> dict[str, tuple[Health, dict[str, Any]]]:
        return {subsystem.name: subsystem.health() for subsystem in self._subsystems}

    def update(self, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Hand each subsystem its part of ``changes`` if nothing in them is wrong; otherwise change nothing
        and raise ``ConfigError`` saying everything that is wrong, in one line. Returns the settings of the
        subsystems that changed."""
        plan, problems = self._plan(changes)
        if problems:
            reason = "; ".join(problems)
            self._events.emit("config:rejected", reason=reason, problems=problems)
            raise ConfigError(f"the configuration update was refused: {reason}")
        for subsystem, section in plan:
            before = subsystem.settings()
            subsystem.apply(section)
            after = subsystem.settings()
            self._events.emit(
                "config:updated",
                component=subsystem.name,
                previous={name: before.get(name) for name in section},
                new={name: after.get(name) for name in section},
            )
        return {subsystem.name: subsystem.settings() for subsystem, _ in plan}

    def _plan(
        self, changes: Mapping[str, Mapping[str, Any]]
    ) -> tuple[list[tuple[Subsystem, Mapping[str, Any]]], list[str]]:
        if not isinstance(changes, Mapping) or not changes:
            return [], ["an update must name at least one part of the client and the settings to change"]
        by_name = {subsystem.name: subsystem for subsystem in self._subsystems}
        sections: dict[str, Mapping[str, Any]] = {}
        problems: list[str] = []
        for section_name, section in changes.items():
            name = SECTION_ALIASES.get(section_name, section_name)
            if name not in by_name:
                known = ", ".join(self._section_names())
                problems.append(f"the client has no part called {section_name!r} (it has: {known})")
            elif not isinstance(section, Mapping) or not section:
                problems.append(f"the changes for {section_name!r} must name the settings to change")
            else:
                sections[name] = section
                problems += by_name[name].problems_with(section)
        # In start-up order, whatever order the update named them in.
        plan = [(part, sections[part.name]) for part in self._subsystems if part.name in sections]
        return plan, problems

    def _section_names(self) -> list[str]:
        aliases = {name: alias for alias, name in SECTION_ALIASES.items()}
        return [aliases.get(name, name) for name in self.order]


def failed_part(ended: Classification) -> str:
    """Which part of the client a classified failure belongs to: its access (a token that expired, was
    refused or could not be had) or its connection."""
    if ended.kind == "token_expired" or ended.kind.startswith(("auth_", "handshake_401", "handshake_403")):
        return AUTH
    return CONNECTION


def recovery_strategy(failed: Sequence[str]) -> str:
    """How the client comes back from these failures: a fresh sign-in and a new session when both its access
    and its session were lost (``full_restart``); otherwise what the worst of them needs."""
    parts = set(failed)
    if {AUTH, SESSION} <= parts:
        return "full_restart"
    if SESSION in parts:
        return "new_session"
    if AUTH in parts:
        return "reauthenticate"
    return "reconnect"


class Recovery:
    """The one recovery the client may be in, from the loss of a live session until it is ready again or
    gives up; the failures on the way are collected, not raced against each other."""

    def __init__(self, events: EventEmitter, clock: Callable[[], float] = time.monotonic) -> None:
        self._events = events
        self._clock = clock
        self._failed: list[str] = []
        self._started_at = 0.0

    @property
    def active(self) -> bool:
        return bool(self._failed)

    @property
    def failed_parts(self) -> list[str]:
        return list(self._failed)

    def failed(self, part: str, error: str) -> None:
        """A part of the client failed: the first failure starts the recovery; each part is reported once."""
        if part in self._failed:
            return
        self._failed.append(part)
        self._events.emit("error:system", source=part, error=error)
        if len(self._failed) == 1:
            self._started_at = self._clock()
            self._events.emit("recovery:started", source=part, strategy=recovery_strategy(self._failed))

    def completed(self, session_id: str | None, resumed: bool) -> None:
        """The client is ready again: the recovery, if there was one, is over (``recovery:completed``)."""
        took_ms = round((self._clock() - self._started_at) * 1000)
        self._end("recovery:completed", True, session_id=session_id, resumed=resumed, took_ms=took_ms)

    def gave_up(self, reason: str) -> None:
        """The client gave up: the recovery, if there was one, failed (``recovery:failed``)."""
        self._end("recovery:failed", False, reason=reason)

    def _end(self, outcome: str, can_recover: bool, **facts: Any) -> None:
        """End the recovery, if there is one: the cascade, if it was one, then ``outcome`` with the parts that
        failed, the strategy and ``facts``."""
        if not self._failed:
            return
        self._report_cascade(can_recover=can_recover)
        self._events.emit(
            outcome,
            components=list(self._failed),
            strategy=recovery_strategy(self._failed),
            **facts,
        )
        self._failed.clear()

    def _report_cascade(self, can_recover: bool) -> None:
        if len(self._failed) > 1:
            self._events.emit(
                "system:failure",
                failed_components=list(self._failed),
                recovery_strategy=recovery_strategy(self._failed),
                can_recover=can_recover,
            )
