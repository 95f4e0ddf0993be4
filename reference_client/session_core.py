"""The client's session as a plain object, without I/O: what to send and what to tell the application.

``ClientSession`` is the protocol of docs/protocol.md seen from the client, in the way the ``websockets``
library keeps its ``protocol.py`` apart from its asyncio connections: it never touches a socket, a task or a
clock. The network code hands it each frame the gateway sent and carries out what it answers with — a
``Reaction``: events to emit (in order), then frames to send (in order), and, for a frame the client cannot
use, how to hang up. What it keeps (``SessionState``) is what lets a reconnect carry on where the last
connection left off:

* **Exactly once, in order.** Messages are numbered by the gateway (``seq``). One already delivered is a
  duplicate (``message:duplicate``, not acknowledged again); one later than the next is delivered after a
  ``message:gap``; each delivered one is acknowledged (``ack`` with its ``seq``).
* **Resume.** The ``hello`` names the session and the last ``seq`` delivered; the ``welcome`` says whether
  the gateway resumed it (``session:resumed``) or started a new one (``session:started``, or
  ``session:continuity_lost`` when one was to be resumed).
* **The outbox.** A publish stays in the outbox, by id, until the gateway acknowledges it (``publish:acked``)
  or refuses it (``publish:refused``); after a reconnect whatever is still there is sent again
  (``publish:resent``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from realtime_protocol.codes import describe_close_code
from realtime_protocol.frames import MessageType, ProtocolError, UnknownMessageTypeError, decode, encode
from reference_client.errors import Classification, ProtocolViolationError
from reference_client.session import Arrival, PendingPublish, SessionState

log = logging.getLogger("reference_client")

# How the session was opened, as the state change to ready says it.
RESUMED = "the session resumed"
STARTED = "a new session started"
CONTINUITY_LOST = "a new session started; continuity was lost"


@dataclass(frozen=True)
class Emit:
    """An event for the application: ``EventEmitter.emit(name, **data)``."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HangUp:
    """The client will not go on after a frame: close the connection with ``code`` (RFC 6455 §7.4.1: 1002,
    1003 or 1007, as the frame's ``ProtocolError`` says) and end the connection as ``classification``."""

    code: int
    classification: Classification


@dataclass
class Reaction:
    """What the network code does for one step of the session: emit ``events``, then send ``frames`` (JSON
    text frames, already encoded), then hang up if ``hang_up`` says so."""

    events: list[Emit] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    hang_up: HangUp | None = None

    def emit(self, name: str, **data: Any) -> None:
        self.events.append(Emit(name, data))


@dataclass(frozen=True)
class Opening:
    """How the gateway's ``welcome`` opened the session: ``how`` in plain words (``RESUMED``, ``STARTED`` or
    ``CONTINUITY_LOST``), the events that say so, and, when continuity was lost, why (for the recovery)."""

    how: str
    events: list[Emit]
    continuity_lost: str | None = None

    @property
    def resumed(self) -> bool:
        return self.how == RESUMED


class ClientSession:
    """The client's side of one realtime session across however many connections carry it."""

    def __init__(self, state: SessionState | None = None) -> None:
        self.state = state if state is not None else SessionState()
        self._resuming: str | None = None  # the session id the last hello asked to resume
        self._sent_sizes: dict[str, int] = {}  # bytes of each publish sent on this connection, by id
        self._ignored_kinds: set[str] = set()  # unknown message types already logged at warning level
        self._token_in_use: str | None = None  # the access token the gateway last accepted from the client

    # -- what the application sees ----------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        return self.state.session_id

    @property
    def pending(self) -> int:
        """How many publishes are in the outbox (sent or not, not yet acknowledged)."""
        return len(self.state.unacked)

    @property
    def drained(self) -> bool:
        """Whether the outbox is empty."""
        return not self.state.unacked

    def unacked_ids(self) -> list[str]:
        """The ids of the publishes still in the outbox, in the order they were published."""
        return list(self.state.unacked)

    # -- the application's requests ---------------------------------------------------------------

    def subscribe(self, channel: str) -> Reaction:
        """Remember a subscription; the ``subscribe`` frame to send on a live session if it is new (nothing
        if it is not). Sent or not, it is asked for on every new connection until the gateway confirms it."""
        reaction = Reaction()
        if self.state.want(channel):
            reaction.frames.append(encode({"type": MessageType.SUBSCRIBE, "channel": channel}))
        return reaction

    def publish(self, message_id: str, channel: str, data: Any) -> PendingPublish:
        """Put a message in the outbox under ``message_id``; ``send_publish`` gives its frame."""
        pending = PendingPublish(id=message_id, channel=channel, data=data)
        self.state.unacked[message_id] = pending
        return pending

    def send_publish(self, pending: PendingPublish) -> Reaction:
        """The ``publish`` frame for a message in the outbox, counted as sent; ``publish:resent`` when it had
        been sent before."""
        reaction = Reaction()
        if pending.sends:
            reaction.emit("publish:resent", id=pending.id, channel=pending.channel)
        pending.sends += 1
        frame = encode(
            {"type": MessageType.PUBLISH, "id": pending.id, "channel": pending.channel, "data": pending.data}
        )
        self._sent_sizes[pending.id] = len(frame.encode("utf-8"))
        reaction.frames.append(frame)
        return reaction

    # -- opening a connection ---------------------------------------------------------------------

    def connecting(self) -> None:
        """A new connection is being opened: nothing has been sent on it yet."""
        self._sent_sizes.clear()

    @property
    def token_in_use(self) -> str | None:
        """The access token the gateway last accepted from the client: in the handshake or in ``auth``."""
        return self._token_in_use

    def presented(self, token: str) -> None:
        """The gateway has ``token`` now: it accepted a handshake with it, or an ``auth`` frame went out."""
        self._token_in_use = token

    def hello(self) -> str:
        """The first frame on a connection: resume the session if there is one, else start one."""
        hello: dict[str, Any] = {"type": MessageType.HELLO}
        self._resuming = self.state.session_id
        if self._resuming:
            hello["resume"] = {"session_id": self._resuming, "last_seq": self.state.last_seq}
        return encode(hello)

    def welcome(self, frame: str | bytes) -> Opening:
        """Take the gateway's answer to ``hello``. Raises ``ProtocolViolationError`` when it is not a usable
        ``welcome``."""
        try:
            welcome = decode(frame)
        except ProtocolError as error:
            raise ProtocolViolationError(f"the first frame was unusable: {error}") from None
        if welcome["type"] != MessageType.WELCOME:
            raise ProtocolViolationError(f"expected a welcome, got a {welcome['type']!r} message")
        previous = self._resuming
        if welcome["resumed"]:
            resumed = Emit("session:resumed", {"session_id": previous, "replay": welcome.get("replay", 0)})
            return Opening(RESUMED, [resumed])
        self.state.start_fresh(welcome["session_id"])
        if not previous:
            return Opening(STARTED, [Emit("session:started", {"session_id": welcome["session_id"]})])
        reason = welcome.get("reason") or "the server did not resume the session"
        lost = Emit(
            "session:continuity_lost",
            {"previous_session_id": previous, "session_id": welcome["session_id"], "reason": reason},
        )
        return Opening(CONTINUITY_LOST, [lost], continuity_lost=reason)

    def catch_up(self) -> Reaction:
        """After the ``welcome``: ask again for every subscription the session does not have, and send every
        publish still in the outbox, in the order they were published."""
        reaction = Reaction()
        for channel in self.state.unconfirmed():
            reaction.frames.append(encode({"type": MessageType.SUBSCRIBE, "channel": channel}))
        for pending in list(self.state.unacked.values()):
            sent = self.send_publish(pending)
            reaction.events += sent.events
            reaction.frames += sent.frames
        return reaction

    def renewal(self, token: str) -> str | None:
        """The ``auth`` frame that hands a renewed access token to the live connection; None when the
        gateway already has this one. Once it is sent, ``presented`` records it."""
        if token == self._token_in_use:
            return None
        return encode({"type": MessageType.AUTH, "token": token})

    # -- what the gateway sends -------------------------------------------------------------------

    def receive(self, frame: str | bytes) -> Reaction:
        """React to one frame from the gateway on a live session."""
        reaction = Reaction()
        try:
            message = decode(frame)
        except UnknownMessageTypeError as error:
            self._ignore(str(error), reaction)
            return reaction
        except ProtocolError as error:
            return self._hang_up(error, reaction)
        kind = message["type"]
        unacked = self.state.unacked
        if kind == MessageType.MESSAGE:
            self._deliver(message, reaction)
        elif kind == MessageType.ACK and "id" in message:
            if self.state.acknowledge(message["id"]) is not None:
                reaction.emit("publish:acked", id=message["id"])
        elif kind == MessageType.SUBSCRIBED:
            self.state.confirmed.add(message["channel"])
            reaction.emit("subscribed", channel=message["channel"])
        elif kind == MessageType.ERROR and "id" in message and message["id"] in unacked:
            # The gateway will never take this message: stop sending it, and tell the application.
            refused = unacked.pop(message["id"])
            reaction.emit(
                "publish:refused",
                id=refused.id,
                channel=refused.channel,
                code=message["code"],
                reason=message["message"],
            )
        elif kind == MessageType.ERROR:
            reaction.emit("server:error", code=message["code"], message=message["message"])
        else:
            reaction.emit("protocol:ignored", reason=f"a {kind!r} message was not expected now")
        return reaction

    def _deliver(self, message: dict[str, Any], reaction: Reaction) -> None:
        seq = message["seq"]
        arrival = self.state.arrival(seq)
        if arrival is Arrival.DUPLICATE:
            reaction.emit("message:duplicate", seq=seq, channel=message["channel"])
            return
        if arrival is Arrival.GAP:
            reaction.emit("message:gap", expected=self.state.last_seq + 1, received=seq)
        self.state.delivered(seq)
        reaction.emit("message", channel=message["channel"], seq=seq, data=message.get("data"))
        reaction.frames.append(encode({"type": MessageType.ACK, "seq": seq}))

    def _ignore(self, reason: str, reaction: Reaction) -> None:
        # A newer gateway may send types this client does not know yet: worth one warning per type, not one
        # per frame.
        level = logging.DEBUG if reason in self._ignored_kinds else logging.WARNING
        self._ignored_kinds.add(reason)
        log.log(level, "ignored a frame from the gateway: %s", reason)
        reaction.emit("protocol:ignored", reason=reason)

    @staticmethod
    def _hang_up(error: ProtocolError, reaction: Reaction) -> Reaction:
        """A frame the client cannot use means it can no longer trust where it is in the stream: it closes the
        connection with the code RFC 6455 gives for what was wrong, and resumes on a new one, where the
        gateway replays whatever was not acknowledged."""
        code = error.close_code
        reaction.emit("protocol:error", reason=str(error), code=code)
        reaction.hang_up = HangUp(
            code,
            Classification(
                "unusable_frame",
                True,
                f"the gateway sent a frame the client could not use ({error}); "
                f"the client closed the connection: {describe_close_code(code)}",
                close_code=code,
            ),
        )
        return reaction

    # -- after a connection ended -----------------------------------------------------------------

    def refuse_oversized(self) -> Reaction:
        """The gateway closed the connection because a message it was sent was too big (1009). The oversized
        one is never acknowledged, and whatever is at least as big is too big as well: so the biggest publish
        sent on that connection and not acknowledged is certainly one. It is dropped and reported
        (``publish:refused``, code ``too_big``); the rest are sent again after the reconnect. Were there
        several, each later 1009 drops the next, so none loops forever."""
        reaction = Reaction()
        unacked = self.state.unacked
        sent = self._sent_sizes.items()
        candidates = [(size, message_id) for message_id, size in sent if message_id in unacked]
        if not candidates:
            return reaction
        size, message_id = max(candidates)
        refused = unacked.pop(message_id)
        reaction.emit(
            "publish:refused",
            id=refused.id,
            channel=refused.channel,
            code="too_big",
            reason="the gateway closed the connection because a message was too big; "
            f"this one, {size} bytes, was the biggest it had not acknowledged",
        )
        return reaction
