"""The client's connection states."""

from __future__ import annotations

from enum import StrEnum


class ConnectionState(StrEnum):
    INITIALIZED = "initialized"  # created, never connected
    CONNECTING = "connecting"  # an attempt to reach the gateway has begun
    AUTHENTICATING = "authenticating"  # getting a token and presenting it in the WebSocket handshake
    CONNECTED = "connected"  # the handshake was accepted; the session is being opened or resumed
    READY = "ready"  # the session is live: messages flow both ways
    DISCONNECTED = "disconnected"  # the link was lost; a retry will be decided
    RECONNECTING = "reconnecting"  # waiting out the backoff delay before the next attempt
    CLOSING = "closing"  # graceful shutdown in progress
    CLOSED = "closed"  # shut down on request; terminal
    FAILED = "failed"  # gave up (fatal error or retries exhausted); terminal

    @property
    def terminal(self) -> bool:
        return self in (ConnectionState.CLOSED, ConnectionState.FAILED)
