"""Everything the client can be told, with production-like defaults and a check at construction."""

from __future__ import annotations

import functools
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from realtime_protocol.structured_log import acceptable_correlation_id
from reference_client.backoff import BackoffPolicy

# What a subprotocol name may be made of: an HTTP token (RFC 9110 §5.6.2).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class ConfigError(ValueError):
    """A configuration the client cannot work with. The message is one plain line."""


# The log levels the client's logger can be set to, by the names the standard library gives them.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Whole numbers that must be above zero, and all the whole numbers (which must at least be whole).
_POSITIVE_WHOLE_NUMBERS = (
    "heartbeat_interval_ms",
    "heartbeat_timeout_ms",
    "connect_timeout_ms",
    "auth_timeout_ms",
    "shutdown_flush_ms",
    "max_message_bytes",
    "avatar_timeout_ms",
)
_WHOLE_NUMBERS = (*_POSITIVE_WHOLE_NUMBERS, "stable_connection_ms")


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
    # Where to keep tokens between runs, encrypted with this key (TokenStore.new_key()); both or neither.
    token_store_path: str | None = None
    token_store_key: bytes | None = field(default=None, repr=False)
    # A PEM file of one more certificate authority to trust for https:// and wss://, besides the system's.
    ca_file: str | None = None
    # Who the client says it is to the auth service (OAuth client_id, not a secret); None: one made from
    # random_seed.
    client_id: str | None = None
    # Sent with every sign-in request and the realtime connection (X-Correlation-ID) and put on every line the
    # client logs, so one journey can be followed through the services' logs too; None: one made from
    # random_seed.
    correlation_id: str | None = None
    # The streaming-avatar API and the key for it; both or neither (without them the client has no avatar).
    avatar_url: str | None = None
    avatar_api_key: str | None = field(default=None, repr=False)
    avatar_timeout_ms: int = 5_000  # how long a call to the avatar API may take before falling back to voice
    # The protocol versions (WebSocket subprotocols) the client speaks, the one it prefers first; the gateway
    # picks one. Empty: offer none, as clients did before versions were negotiated.
    subprotocols: tuple[str, ...] = ("realtime.v2", "realtime.v1")
    # Offer permessage-deflate (RFC 7692); the gateway decides whether the connection uses it.
    compression: bool = True
    # The level of the client's logger ("reference_client"), one of LOG_LEVELS; None leaves it as it is.
    log_level: str | None = None

    def __post_init__(self) -> None:
        self._check_types()
        for name in ("auth_url", "gateway_url"):
            url = urlparse(getattr(self, name))
            wanted = ("http", "https") if name == "auth_url" else ("ws", "wss")
            if url.scheme not in wanted or not url.netloc:
                raise ConfigError(f"{name} must be a {' or '.join(wanted)} URL, got {getattr(self, name)!r}")
        if not self.api_key:
            raise ConfigError("an API key is required")
        for name in _POSITIVE_WHOLE_NUMBERS:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.stable_connection_ms < 0:
            raise ConfigError(f"stable_connection_ms must not be negative, got {self.stable_connection_ms!r}")
        if self.retry_limit is not None and self.retry_limit < 0:
            raise ConfigError(f"retry_limit must not be negative, got {self.retry_limit!r}")
        if (self.token_store_path is None) != (self.token_store_key is None):
            raise ConfigError("token_store_path and token_store_key go together: give both or neither")
        if not 0 < self.token_refresh_fraction < 1:
            raise ConfigError(
                f"token_refresh_fraction must be between 0 and 1, got {self.token_refresh_fraction!r}"
            )
        if self.correlation_id is not None and acceptable_correlation_id(self.correlation_id) is None:
            raise ConfigError(
                "correlation_id must be 1 to 64 letters, digits or ._:- characters, "
                f"got {self.correlation_id!r}"
            )
        if (self.avatar_url is None) != (self.avatar_api_key is None):
            raise ConfigError("avatar_url and avatar_api_key go together: give both or neither")
        if self.avatar_url is not None:
            url = urlparse(self.avatar_url)
            if url.scheme not in ("http", "https") or not url.netloc:
                raise ConfigError(f"avatar_url must be a http or https URL, got {self.avatar_url!r}")
        for offered in self.subprotocols:
            if not _TOKEN.fullmatch(offered):
                raise ConfigError(f"each of subprotocols must be a name without spaces, got {offered!r}")
        if self.ca_file is not None and not Path(self.ca_file).is_file():
            raise ConfigError(f"ca_file must be an existing file, got {self.ca_file!r}")
        if self.log_level is not None and self.log_level not in LOG_LEVELS:
            raise ConfigError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")

    def _check_types(self) -> None:
        # Checked first, so the range checks below compare numbers, not whatever was given.
        for name in (*_WHOLE_NUMBERS, *(("retry_limit",) if self.retry_limit is not None else ())):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{name} must be a whole number, got {value!r}")
        fraction = self.token_refresh_fraction
        if isinstance(fraction, bool) or not isinstance(fraction, int | float):
            raise ConfigError(f"token_refresh_fraction must be a number, got {fraction!r}")
        if self.log_level is not None and not isinstance(self.log_level, str):
            raise ConfigError(f"log_level must be a level name, got {self.log_level!r}")

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        """Why this configuration could not take these changes (named as its fields are), one plain line
        each; empty when it could. The one set of rules for a configuration, at construction or later."""
        unknown = sorted(set(changes) - {item.name for item in fields(self)})
        if unknown:
            return [f"there is no setting {name!r}" for name in unknown]
        try:
            replace(self, **changes)
        except ConfigError as error:
            return [str(error)]
        return []

    def tls_context(self) -> ssl.SSLContext:
        """The one TLS context for every secure connection: the system's trusted authorities, plus the one in
        ``ca_file`` if given. Certificates and host names are always checked."""
        return _tls_context(self.ca_file)


@functools.lru_cache(maxsize=8)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    # Made once per CA file and shared: reading the system's trusted authorities takes about 20 ms, which
    # hundreds of clients in one application would otherwise each pay again. A context is safe to share.
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(f"ca_file {ca_file!r} holds no usable certificate: {error}") from None
    return context
