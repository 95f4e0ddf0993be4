"""The seam between the steps and the client under test.

Steps never touch a client directly: they drive a ``ClientDriver`` and read the events it observed.
The reference client has a driver here; to run the same features against another client, write a
driver that maps its API and events onto this interface (see docs/drivers.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from support.drivers.events import Event, decode
from support.services.endpoints import Endpoints


@dataclass(frozen=True)
class ObservedEvent:
    """One event the client emitted, as the driver saw it: the client's ``name`` for it and its ``data`` (see
    docs/protocol.md, "Client events"), and ``at``, ``time.monotonic()`` when it was seen.

    Read it as ``event``, the typed event (``support.drivers.events``), through ``support.harness.queries.
    Events``; ``name`` and ``data`` are for reports that print every event alike."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    at: float = 0.0

    @cached_property
    def event(self) -> Event:
        """The typed event, with this one's time; raises ``support.harness.facts.UnreadableFacts`` when a
        fact is of the wrong type for its kind."""
        return decode(self.name, self.data, self.at)


@dataclass(frozen=True)
class ClientTimings:
    """The time scale and limits the suite runs the client at, in milliseconds."""

    heartbeat_interval_ms: int
    heartbeat_timeout_ms: int
    connect_timeout_ms: int
    auth_timeout_ms: int
    backoff_initial_ms: int
    backoff_max_ms: int
    backoff_multiplier: float
    backoff_jitter: float
    retry_limit: int
    stable_connection_ms: int
    token_refresh_fraction: float
    shutdown_flush_ms: int
    max_message_bytes: int  # the biggest message the client accepts
    avatar_timeout_ms: int = 5_000  # how long a call to the avatar API may take


@dataclass(frozen=True)
class TokenKeeping:
    """Where the client should keep its tokens between runs, and the key to keep them with."""

    path: str
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class ClientSetup:
    endpoints: Endpoints
    api_key: str = field(repr=False)
    timings: ClientTimings
    seed: int
    token_keeping: TokenKeeping | None = None
    # Over TLS, trust the test authority in ``endpoints.ca_file`` besides the system's authorities. False
    # makes a client that, like any ordinary installation, does not know the test authority.
    trust_test_authority: bool = True
    # The id to send with sign-in and the realtime connection (X-Correlation-ID) and to put on every line the
    # client logs, so its journey can be followed through the services' logs; None: the client picks one.
    correlation_id: str | None = None
    # The client's key for the avatar service at ``endpoints.avatar_url``; None: a client without an avatar.
    avatar_api_key: str | None = field(default=None, repr=False)
    # Offer the gateway permessage-deflate compression (RFC 7692).
    compression: bool = True

    @property
    def ca_file(self) -> str | None:
        """The extra certificate authority this client should trust, if any."""
        return self.endpoints.ca_file if self.trust_test_authority else None


class ConfigurationRefused(Exception):
    """The client refused a configuration update as a whole; the message says why, in one line."""


class ClientDriver(Protocol):
    def connect(self) -> None:
        """Start connecting (or, while waiting to retry, retry now); does not wait for ready."""

    def subscribe(self, channel: str) -> None: ...

    def publish(self, channel: str, data: Any) -> str:
        """Send (or queue) an application message; returns its id."""

    def shutdown(self) -> None:
        """Graceful shutdown; returns when the client says it is closed."""

    def logout(self) -> None:
        """Sign out: revoke and forget every token, stored ones included, and shut down."""

    def need_fresh_access(self, callers: int) -> list[str]:
        """As ``callers`` parts of the application would at once after the service refused the current access
        token: ask the client for a newer one. Returns the fingerprint each caller got."""

    def start_avatar(self, avatar_id: str, quality: str, background: str) -> Mapping[str, Any] | None:
        """Start an avatar session at the avatar service; returns it as the client's ``session:created``
        describes it, or None when the service could not be used (the client then goes on voice only)."""

    def start_speaking(self, voice_id: str) -> None:
        """The client's voice starts speaking with this voice; returns once the avatar (if any) follows."""

    def stop_speaking(self) -> None:
        """The client's voice stops speaking; returns once the avatar (if any) follows."""

    def health(self) -> Mapping[str, Any]:
        """How the client is: ``status`` (up, degraded or down), ``state``, ``session_id``, ``last_error``
        and ``subsystems`` (each part's ``status`` and facts). No secrets."""

    def update_configuration(self, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """Change the running client's settings, by part: ``{"session": {"heartbeat_interval_ms": 300}}`` (see
        docs/protocol.md, "Configuration at run time"). All or nothing: if any of it is wrong, nothing changes
        and ``ConfigurationRefused`` carries the client's one-line reason. Returns the changed parts'
        settings."""

    def configuration(self) -> dict[str, dict[str, Any]]:
        """The client's run-time settings now, by part."""

    def events(self) -> list[ObservedEvent]:
        """Every event observed so far, oldest first."""

    @property
    def state(self) -> str: ...

    @property
    def session_id(self) -> str | None: ...

    @property
    def pending(self) -> int:
        """Messages published but not yet acknowledged."""

    def leftovers(self) -> list[str]:
        """Anything of the client still running (tasks, sockets); empty after a clean shutdown."""

    def dispose(self) -> list[str]:
        """Stop everything the driver started; return what had to be forced to stop."""
