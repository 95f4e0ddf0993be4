"""Everything the client can be told, with production-like defaults and a check at construction."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

from reference_client.backoff import BackoffPolicy


class ConfigError(ValueError):
    """A configuration the client cannot work with. The message is one plain line."""


@dataclass(frozen=True)
class ClientConfig:
    auth_url: str
    gateway_url: str
    api_key: str = field(repr=False)
    heartbeat_interval_ms: int = 15_000
    heartbeat_timeout_ms: int = 10_000
    connect_timeout_ms: int = 10_000
    auth_timeout_ms: int = 10_000
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    retry_limit: int | None = 10  # consecutive failed retries before giving up; None retries forever
    stable_connection_ms: int = 10_000  # backoff starts over only after the session stayed up this long
    token_refresh_fraction: float = 0.9  # refresh when this fraction of the token's lifetime has passed
    shutdown_flush_ms: int = 2_000  # how long shutdown waits for unacknowledged messages
    max_message_bytes: int = 1 << 20
    random_seed: int | None = None  # for jitter and message ids; None draws from the system
    # Who the client says it is to the auth service (OAuth client_id, not a secret); None: one made from
    # random_seed.
    client_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("auth_url", "gateway_url"):
            url = urlparse(getattr(self, name))
            wanted = ("http", "https") if name == "auth_url" else ("ws", "wss")
            if url.scheme not in wanted or not url.netloc:
                raise ConfigError(f"{name} must be a {' or '.join(wanted)} URL, got {getattr(self, name)!r}")
        if not self.api_key:
            raise ConfigError("an API key is required")
        for name in (
            "heartbeat_interval_ms",
            "heartbeat_timeout_ms",
            "connect_timeout_ms",
            "auth_timeout_ms",
            "shutdown_flush_ms",
            "max_message_bytes",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.stable_connection_ms < 0:
            raise ConfigError(f"stable_connection_ms must not be negative, got {self.stable_connection_ms!r}")
        if self.retry_limit is not None and self.retry_limit < 0:
            raise ConfigError(f"retry_limit must not be negative, got {self.retry_limit!r}")
        if not 0 < self.token_refresh_fraction < 1:
            raise ConfigError(
                f"token_refresh_fraction must be between 0 and 1, got {self.token_refresh_fraction!r}"
            )
