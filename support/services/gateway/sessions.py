"""The gateway's sessions, sans-I/O: what it keeps of each session, the store gateway nodes share, and the
resume window. Times are ``time.monotonic()`` seconds passed in by the caller, so the rules can be tested
without waiting.

A session outlives its connection: when the connection goes, the session is kept for the resume window
(``resume_window_ms``) so a client that comes back with ``hello.resume`` carries on where it was; after
the window, or when it holds more unacknowledged messages than ``max_outbox``, it expires, and a late
resume is told why (docs/protocol.md, "Sessions").
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from support.services.gateway.replay import ReplayBuffer
from support.services.transcript import Transcript

# Session ids are "s-" and ten of these: no 0/o, 1/l, so an id read aloud or off a screen is unambiguous.
SESSION_ID_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def new_session_id(rng: random.Random) -> str:
    """A fresh session id, ``s-`` and ten characters, drawn from ``rng`` (seeded: a run can be repeated)."""
    return "s-" + "".join(rng.choices(SESSION_ID_ALPHABET, k=10))


@dataclass(eq=False)
class GatewaySession:
    """One client's session: who it is, what it reads, the messages it has not acknowledged, and which
    connection serves it now. ``link`` is the network layer's handle on that connection, opaque here (the
    core only compares it); None while the session waits for its client to come back."""

    id: str
    subject: str  # the access token's ``sub``: the user
    subscriptions: set[str] = field(default_factory=set)
    replay: ReplayBuffer = field(default_factory=ReplayBuffer)
    link: object | None = None
    detached_at: float | None = None  # monotonic seconds when its connection went; None while connected
    # The client closed its last connection with 1009: the first message it had not acknowledged was too big
    # for it, and is not sent again when it resumes.
    refused_too_big: bool = False


class ConnectionNumbering:
    """Numbers connections 1, 2, 3… so the transcript names each connection once, on whichever node."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)

    def __iter__(self) -> ConnectionNumbering:
        return self

    def __next__(self) -> int:
        return next(self._numbers)

    def restart(self) -> None:
        self._numbers = itertools.count(1)


class PublishedIds:
    """The message ids each user has posted, to de-duplicate by id: a client resends what it was not
    acknowledged for (after a reconnect, say), and the gateway acknowledges the resend without delivering
    the message twice. Kept per user (``sub``), not per session, so a resend on a new session is caught."""

    def __init__(self) -> None:
        self._seen: dict[str, set[str]] = {}

    def first_time(self, subject: str, message_id: str) -> bool:
        """Whether ``subject`` posts ``message_id`` for the first time; from now on it has posted it."""
        seen = self._seen.setdefault(subject, set())
        if message_id in seen:
            return False
        seen.add(message_id)
        return True

    def clear(self) -> None:
        self._seen.clear()


@dataclass
class SessionStore:
    """What gateway nodes behind one load balancer share, so a session opened on one node can be resumed on
    another: the sessions, the ids of sessions that expired (so a late resume is told why, not just
    "unknown"), the message ids each user already posted, and the numbering and transcript of connections."""

    sessions: dict[str, GatewaySession] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    published: PublishedIds = field(default_factory=PublishedIds)
    connection_numbers: ConnectionNumbering = field(default_factory=ConnectionNumbering)
    transcript: Transcript = field(default_factory=Transcript)

    def open(self, subject: str, rng: random.Random, link: object) -> GatewaySession:
        """A new session for ``subject``, served by ``link``."""
        session = GatewaySession(id=new_session_id(rng), subject=subject, link=link)
        self.sessions[session.id] = session
        return session

    def ids(self) -> list[str]:
        """The ids of the sessions held, oldest first."""
        return list(self.sessions)

    def subscriptions_of(self, session_id: str) -> set[str]:
        """The channels a session reads (none for a session the store does not hold)."""
        session = self.sessions.get(session_id)
        return set(session.subscriptions) if session else set()

    def messages_sent(self, session_id: str) -> int:
        """How many messages were numbered for a session (0 for a session the store does not hold)."""
        session = self.sessions.get(session_id)
        return session.replay.numbered if session else 0

    def forget(self) -> int:
        """Lose every session, as a gateway that lost its memory would; return how many were lost. Expired
        ids are kept: resuming a forgotten session is "unknown", not "expired"."""
        forgotten = len(self.sessions)
        self.sessions.clear()
        return forgotten

    def clear(self) -> None:
        """As new: no sessions, no expired ids, no posted ids, connections numbered from 1, no transcript."""
        self.sessions.clear()
        self.expired.clear()
        self.published.clear()
        self.connection_numbers.restart()
        self.transcript.clear()


@dataclass
class ResumeWindow:
    """When a session without a connection is given up: ``window_ms`` after its connection went, or as soon
    as it holds more than ``max_outbox`` unacknowledged messages (a client that never comes back must not
    make the gateway hold messages without end)."""

    window_ms: float
    max_outbox: int = 10_000

    def is_stale(self, session: GatewaySession, now: float) -> bool:
        """Whether ``session`` is past resuming at ``now`` (monotonic seconds)."""
        gone_too_long = (
            session.detached_at is not None and (now - session.detached_at) * 1000 > self.window_ms
        )
        return gone_too_long or len(session.replay) > self.max_outbox
