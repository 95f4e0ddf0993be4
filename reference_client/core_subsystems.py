"""The client's own subsystems — auth, session and logger — as the coordinator sees them (``Subsystem``).

Each names the settings a configuration update may change (``SETTINGS``: the update's name → the
``ClientConfig`` field), checks changes with ``ClientConfig``'s own rules, and emits its cleanup event,
``<name>:cleanup``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from reference_client.auth import TokenManager
from reference_client.coordination import LiveConfig
from reference_client.events import EventEmitter
from reference_client.session import SessionState
from reference_client.states import ConnectionState
from reference_client.subsystems import Health

# What ``cleanup`` is told when the user logs out rather than the application shutting down.
USER_LOGOUT = "user_logout"


class _Configurable:
    """Settings a configuration update may change, checked and kept in the client's one configuration."""

    name: str
    SETTINGS: ClassVar[dict[str, str]]  # the name an update uses → the ClientConfig field

    def __init__(self, live: LiveConfig) -> None:
        self._live = live

    def settings(self) -> dict[str, Any]:
        return {setting: getattr(self._live.current, field) for setting, field in self.SETTINGS.items()}

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        unknown = [setting for setting in changes if setting not in self.SETTINGS]
        if unknown:
            has = ", ".join(self.SETTINGS)
            return [f"the {self.name} part has no setting {setting!r} (it has: {has})" for setting in unknown]
        return self._live.problems_with(self._fields(changes))

    def apply(self, changes: Mapping[str, Any]) -> None:
        self._live.update(**self._fields(changes))

    def _fields(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return {self.SETTINGS[setting]: value for setting, value in changes.items()}


class AuthSubsystem(_Configurable):
    """Access: the tokens, taken up from the token store at start-up and given back at logout."""

    name = "auth"
    SETTINGS: ClassVar[dict[str, str]] = {"token_refresh_fraction": "token_refresh_fraction"}

    def __init__(self, tokens: TokenManager, events: EventEmitter, live: LiveConfig) -> None:
        super().__init__(live)
        self._tokens = tokens
        self._events = events

    async def initialize(self) -> None:
        self._tokens.restore()

    def apply(self, changes: Mapping[str, Any]) -> None:
        super().apply(changes)
        self._tokens.refresh_fraction = self._live.current.token_refresh_fraction

    async def cleanup(self, reason: str) -> None:
        logout = reason == USER_LOGOUT
        await self._tokens.aclose()
        if logout:
            await self._tokens.revoke()
        self._events.emit(
            "auth:cleanup",
            reason=USER_LOGOUT if logout else "shutdown",
            tokens_cleared=self._tokens.clear(forget_stored=logout),
        )

    def health(self) -> tuple[Health, dict[str, Any]]:
        due_in = self._tokens.refresh_due_in()
        if self._tokens.access_token is not None and due_in > 0:
            return "up", {"refresh_due_in_ms": round(due_in * 1000)}
        if self._tokens.refresh_token_held:
            return "degraded", {"access": "due for renewal"}
        return "down", {"access": "none held"}


class SessionSubsystem(_Configurable):
    """The connection to the gateway and the session it carries: its heartbeat and how often to retry."""

    name = "session"
    SETTINGS: ClassVar[dict[str, str]] = {
        "heartbeat_interval_ms": "heartbeat_interval_ms",
        "heartbeat_timeout_ms": "heartbeat_timeout_ms",
        "retry_limit": "retry_limit",
    }

    def __init__(
        self,
        session: SessionState,
        events: EventEmitter,
        live: LiveConfig,
        state: Callable[[], ConnectionState],
    ) -> None:
        super().__init__(live)
        self._session = session
        self._events = events
        self._state = state

    async def initialize(self) -> None:
        """Nothing to prepare: the session is opened by the client's connection, once access is had."""

    async def cleanup(self, reason: str) -> None:
        self._events.emit(
            "session:cleanup",
            session_id=self._session.session_id,
            subscriptions=list(self._session.subscriptions),
            unsent=len(self._session.unacked),
        )

    def health(self) -> tuple[Health, dict[str, Any]]:
        state = self._state()
        facts = {"state": state.value, "session_id": self._session.session_id}
        if state is ConnectionState.READY:
            return "up", facts
        if state.terminal:
            return "down", facts
        return "degraded", facts


class LoggerSubsystem(_Configurable):
    """The client's standard-library logger and its level. The level is the logger's own, so every client
    in a process shares it; cleanup puts back the level found at start-up, unless someone changed it since."""

    name = "logger"
    SETTINGS: ClassVar[dict[str, str]] = {"level": "log_level"}

    def __init__(self, logger: logging.Logger, events: EventEmitter, live: LiveConfig) -> None:
        super().__init__(live)
        self._logger = logger
        self._events = events
        self._found_level: int | None = None
        self._set_level: int | None = None

    def settings(self) -> dict[str, Any]:
        return {"level": logging.getLevelName(self._logger.getEffectiveLevel())}

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        return super().problems_with(self._named(changes))

    async def initialize(self) -> None:
        self._found_level = self._logger.level
        self._take_level()

    def apply(self, changes: Mapping[str, Any]) -> None:
        super().apply(self._named(changes))
        self._take_level()

    async def cleanup(self, reason: str) -> None:
        put_back = self._found_level is not None and self._logger.level == self._set_level
        if put_back and self._found_level is not None:
            self._logger.setLevel(self._found_level)
        self._events.emit(
            "logger:cleanup", level=logging.getLevelName(self._logger.getEffectiveLevel()), restored=put_back
        )

    def health(self) -> tuple[Health, dict[str, Any]]:
        return "up", self.settings()

    def _take_level(self) -> None:
        level = self._live.current.log_level
        if level is not None:
            if self._found_level is None:  # changed before start-up: what to put back is what is there now
                self._found_level = self._logger.level
            self._set_level = logging.getLevelName(level)
            self._logger.setLevel(level)

    @staticmethod
    def _named(changes: Mapping[str, Any]) -> dict[str, Any]:
        # Level names are taken in any case ("debug"); the configuration keeps them as logging spells them.
        return {
            setting: value.upper() if setting == "level" and isinstance(value, str) else value
            for setting, value in changes.items()
        }
