"""What the gateway's protocol core decides, as plain values for the network code to carry out in order:
journal a fact, send a frame on this connection, deliver a message to a session, close this connection.

The core never does I/O; it returns a ``Reply``, as the ``websockets`` library's sans-I/O ``Protocol``
returns the bytes to write and the events received instead of touching a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtime_protocol import decode, encode
from support.services.auth.tokens import AccessClaims

if TYPE_CHECKING:
    from support.services.gateway.sessions import GatewaySession


@dataclass(frozen=True)
class Send:
    """A frame for the connection the reply is about."""

    frame: str


@dataclass(frozen=True)
class Deliver:
    """A message (``data``, any JSON value) on ``channel`` for ``session``: numbered when it is sent, sent
    if the session is connected, kept for its resume either way."""

    session: GatewaySession
    channel: str
    data: Any


@dataclass(frozen=True)
class Close:
    """Close the connection the reply is about with ``code`` (RFC 6455 §7.4, or the suite's 4xxx)."""

    code: int
    reason: str


@dataclass(frozen=True)
class Note:
    """A fact for the gateway's journal: ``kind`` (say "publish accepted") and its facts, never a secret."""

    kind: str
    facts: Mapping[str, Any]


Action = Note | Send | Deliver | Close


@dataclass
class Reply:
    """The actions one decision calls for, in the order they are to be carried out; ``claims`` is the access
    token the connection holds afterwards when the decision changed it (a renewal), else None."""

    actions: list[Action] = field(default_factory=list)
    claims: AccessClaims | None = None

    def note(self, kind: str, **facts: Any) -> None:
        self.actions.append(Note(kind, facts))

    def send(self, message: dict[str, Any]) -> None:
        self.actions.append(Send(encode(message)))

    def deliver(self, session: GatewaySession, channel: str, data: Any) -> None:
        self.actions.append(Deliver(session, channel, data))

    def close(self, code: int, reason: str) -> None:
        self.actions.append(Close(code, reason))

    def notes(self) -> list[Note]:
        """The facts to journal, in order."""
        return [action for action in self.actions if isinstance(action, Note)]

    def sent(self) -> list[dict[str, Any]]:
        """The messages for this connection, decoded, in order."""
        return [decode(action.frame) for action in self.actions if isinstance(action, Send)]
