"""The client's connection states, and the one place that moves between them."""

from __future__ import annotations

from enum import StrEnum

from reference_client.events import EventEmitter


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


class StateMachine:
    """The client's connection state, announced as ``state:changed`` (state, previous, reason) whenever it
    changes. Once shutdown has begun (``closing``) only the shutdown's own states are taken."""

    def __init__(self, events: EventEmitter) -> None:
        self._events = events
        self.state = ConnectionState.INITIALIZED
        self.closing = False

    def move(self, state: ConnectionState, reason: str) -> None:
        """Go to ``state`` because of ``reason`` (plain words); nothing happens if the client is there."""
        if state is self.state:
            return
        if self.closing and state not in (ConnectionState.CLOSING, ConnectionState.CLOSED):
            return  # nothing but the shutdown's own states once shutdown has begun
        previous, self.state = self.state, state
        self._events.emit("state:changed", state=state.value, previous=previous.value, reason=reason)

    def begin_closing(self, reason: str) -> None:
        """Shutdown has begun: go to ``CLOSING`` and take no other state but ``CLOSED`` from now on."""
        self.move(ConnectionState.CLOSING, reason)
        self.closing = True
