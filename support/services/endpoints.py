"""Where a client under test should go: the services' addresses, apart from the stack that runs them, so a
driver can know them without importing the services."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Endpoints:
    """Where a client under test should go."""

    auth_url: str
    gateway_url: str
    ca_file: str | None = None  # the test authority's certificate, to trust when the services run over TLS
    avatar_url: str | None = None  # the streaming-avatar API
