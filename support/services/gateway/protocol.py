"""The gateway's protocol core, sans-I/O: given what a client sent, what the gateway does about it.

The network code (connection.py) reads frames off the socket, hands them here with the time, and carries out
the ``Reply`` it gets back: journal these facts, send these frames, deliver these messages, close. Nothing in
this module touches a socket or an event loop, so every rule of the suite's protocol (docs/protocol.md) can be
tested by calling it: opening and resuming sessions, replay, acknowledgements, subscriptions and posting
rights, de-duplication, token renewal. The split follows the ``websockets`` library, whose ``protocol.py``
holds the protocol and whose ``asyncio/connection.py`` only moves bytes.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from realtime_protocol import CloseCode, MessageType, ProtocolError, decode
from support.services.auth.tokens import AccessClaims, InvalidTokenError, TokenAuthority
from support.services.gateway import channels
from support.services.gateway.actions import Note, Reply, Send
from support.services.gateway.sessions import GatewaySession, ResumeWindow, SessionStore

# Why a resume was refused, as the welcome's ``reason`` says it.
RESUME_WINDOW_PASSED = "the resume window has passed"
SESSION_UNKNOWN = "the session is unknown to the server"


@dataclass
class Opening:
    """What a connection's first frame led to: its session (None when that frame was not a usable
    ``hello``, and the reply closes the connection), whether it was resumed, the reply to carry out, and the
    link that served the resumed session until now (the newer connection takes it over: drop that one)."""

    session: GatewaySession | None
    reply: Reply
    resumed: bool = False
    replaced: object | None = None


@dataclass
class GatewayProtocol:
    """The decisions of one gateway node over a ``SessionStore`` that other nodes may share: ``authority``
    checks tokens, ``window`` says when a session is past resuming, ``rng`` draws session ids and
    ``is_revoked(token_id)`` says whether the auth service revoked an access token (RFC 7009)."""

    store: SessionStore
    authority: TokenAuthority
    window: ResumeWindow
    rng: random.Random
    is_revoked: Callable[[str], bool] = field(default=lambda token_id: False)

    def check_token(self, token: str | None) -> AccessClaims:
        """The claims of the bearer token an upgrade request presents (RFC 6750); ``InvalidTokenError``, with
        a reason for people, when there is none or it is malformed, expired, wrongly signed or revoked."""
        claims = self.authority.verify(token)
        if self.is_revoked(claims.token_id):
            raise InvalidTokenError("the token has been revoked")
        return claims

    def open(
        self, frame: str | bytes, claims: AccessClaims, link: object, connection: int, now: float
    ) -> Opening:
        """The first frame on connection number ``connection`` (served by ``link``), which must be a
        ``hello``: resume the session it names if that session is the user's and within the resume window
        (acknowledge up to ``resume.last_seq``, welcome with ``replay`` and send the rest again), else start
        a new one, telling why a resume was refused. Anything else closes with 4000 (BAD_MESSAGE)."""
        reply = Reply()
        hello = self._decode(frame, reply)
        if hello is None or hello["type"] != MessageType.HELLO:
            reply.close(CloseCode.BAD_MESSAGE, "expected a hello message first")
            return Opening(None, reply)
        resume = hello.get("resume") or {}
        last_seq = int(resume.get("last_seq") or 0)
        session, refusal = self._find_resumable(resume.get("session_id"), claims.subject, now, reply)
        if session is None:
            session = self.store.open(claims.subject, self.rng, link)
            reply.send(
                {"type": MessageType.WELCOME, "session_id": session.id, "resumed": False, "reason": refusal}
            )
            reply.note("session started", session=session.id, connection=connection, resume_refused=refusal)
            return Opening(session, reply)
        replaced = session.link if session.link is not link else None
        session.detached_at = None
        session.replay.acknowledge(last_seq)
        self._drop_refused(session, last_seq, reply)
        replay = session.replay.frames()
        reply.send(
            {"type": MessageType.WELCOME, "session_id": session.id, "resumed": True, "replay": len(replay)}
        )
        reply.actions.extend(Send(frame) for frame in replay)
        session.link = link
        reply.note(
            "session resumed",
            session=session.id,
            connection=connection,
            last_seq=last_seq,
            replayed=len(replay),
        )
        return Opening(session, reply, resumed=True, replaced=replaced)

    def receive(self, frame: str | bytes, session: GatewaySession, claims: AccessClaims) -> Reply:
        """A frame after the hello: ``subscribe``, ``unsubscribe``, ``publish``, ``ack`` (with ``seq``) or
        ``auth`` (a renewed token; the reply's ``claims`` is what the connection holds afterwards). A frame
        that cannot be decoded, or of a kind a client does not send, gets a ``bad_message`` error ("bad
        frame") and the connection carries on."""
        reply = Reply()
        message = self._decode(frame, reply)
        if message is None:
            return reply
        kind = message["type"]
        if kind == MessageType.SUBSCRIBE:
            channels.subscribe(session, claims, message["channel"], reply)
        elif kind == MessageType.UNSUBSCRIBE:
            channels.unsubscribe(session, message["channel"], reply)
        elif kind == MessageType.PUBLISH:
            channels.publish(self.store, session, claims, message, reply)
        elif kind == MessageType.ACK and "seq" in message:
            session.replay.acknowledge(int(message["seq"]))
        elif kind == MessageType.AUTH:
            self._renew(session, claims, message, reply)
        else:
            _refuse(reply, f"a {kind!r} message is not expected from a client")
        return reply

    def recipients(self, channel: str, now: float) -> tuple[list[GatewaySession], Reply]:
        """The sessions a message on ``channel`` goes to, connected or not; a session found stale on the way
        expires instead (noted in the reply)."""
        reply = Reply()
        reached = [
            session
            for session in list(self.store.sessions.values())
            if channel in session.subscriptions and not self._expired(session, now, reply)
        ]
        return reached, reply

    def detach(self, session: GatewaySession, link: object, now: float, *, refused_too_big: bool) -> bool:
        """Connection ``link`` is gone. If it still served ``session``, the session waits for its client from
        ``now`` (True); ``refused_too_big``: the client closed it with 1009, so the first message it had not
        acknowledged is dropped when it resumes. False when a newer connection had taken the session over."""
        if session.link is not link:
            return False
        session.refused_too_big = refused_too_big
        session.link = None
        session.detached_at = now
        return True

    def expire_if_stale(self, session: GatewaySession, now: float) -> Note | None:
        """Let ``session`` go if it is past resuming at ``now``; the "session expired" note when it did."""
        reply = Reply()
        self._expired(session, now, reply)
        return next(iter(reply.notes()), None)

    def expire_after_window(self, session: GatewaySession, detached_at: float, now: float) -> Note | None:
        """The resume window that started at ``detached_at`` has run: expire ``session`` if it is still held
        and still waiting since then (a resume in between keeps it)."""
        if session.detached_at != detached_at or self.store.sessions.get(session.id) is not session:
            return None
        return self.expire_if_stale(session, now)

    def _find_resumable(
        self, session_id: str | None, subject: str, now: float, reply: Reply
    ) -> tuple[GatewaySession | None, str | None]:
        if not session_id:
            return None, None
        session = self.store.sessions.get(session_id)
        if session is None and session_id in self.store.expired:
            return None, RESUME_WINDOW_PASSED
        if session is None or session.subject != subject:
            return None, SESSION_UNKNOWN
        if self._expired(session, now, reply):
            return None, RESUME_WINDOW_PASSED
        return session, None

    def _expired(self, session: GatewaySession, now: float, reply: Reply) -> bool:
        if not self.window.is_stale(session, now):
            return False
        self.store.sessions.pop(session.id, None)
        self.store.expired.add(session.id)
        reply.note("session expired", session=session.id)
        return True

    @staticmethod
    def _drop_refused(session: GatewaySession, last_seq: int, reply: Reply) -> None:
        """Sending again what the client closed the connection over (1009) would only close it again."""
        refused, session.refused_too_big = session.refused_too_big, False
        dropped = session.replay.drop_next(last_seq) if refused else None
        if dropped is not None:
            seq, frame = dropped
            reply.note(
                "message dropped",
                session=session.id,
                seq=seq,
                size=len(frame.encode("utf-8")),
                reason="too big for the client",
            )

    def _renew(
        self, session: GatewaySession, claims: AccessClaims, message: dict[str, Any], reply: Reply
    ) -> None:
        reply.claims = claims
        try:
            renewed = self.authority.verify(message["token"])
        except InvalidTokenError as error:
            reply.note("token renewal refused", session=session.id, reason=error.reason)
            reply.send({"type": MessageType.ERROR, "code": "bad_token", "message": error.reason})
            return
        if renewed.subject != claims.subject:
            reply.close(CloseCode.FORBIDDEN, "the new token is for a different user")
            return
        reply.note("token renewed", session=session.id)
        reply.claims = renewed

    @staticmethod
    def _decode(frame: str | bytes, reply: Reply) -> dict[str, Any] | None:
        try:
            return decode(frame)
        except ProtocolError as error:
            _refuse(reply, str(error))
            return None


def _refuse(reply: Reply, reason: str) -> None:
    reply.note("bad frame", reason=reason)
    reply.send({"type": MessageType.ERROR, "code": "bad_message", "message": reason})
