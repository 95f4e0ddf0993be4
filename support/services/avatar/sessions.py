"""The streaming-avatar API's sessions, without I/O: starting, updating, stopping and reading them, as the
mock avatar service (shaped like HeyGen's streaming API) does for each call it takes.

Each call takes the request's JSON body as a dictionary and gives the session as the JSON object to answer
with, or raises ``http_app.Refusal`` (400 for a bad body, 404 for an unknown session, 409 for a closed one).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from support.services.http_app import Refusal
from support.services.journal import Journal

QUALITIES = ("low", "medium", "high")
ACTIVE = "active"
CLOSED = "closed"


@dataclass
class AvatarSession:
    """One avatar session as the service keeps it."""

    session_id: str
    avatar_id: str
    quality: str
    background: str
    stream_url: str
    status: str = ACTIVE
    speaking: bool = False
    voice_sync: bool = False
    voice_id: str | None = None
    close_reason: str | None = None
    updates: int = 0

    def answer(self) -> dict[str, Any]:
        """The session as the API answers with it: every field, by name."""
        return asdict(self)


class AvatarSessions:
    """Every session since the last ``clear``, journaled as they are created, updated and closed. Session
    ids are drawn from ``rng``, so a seeded run makes the same ones."""

    def __init__(self, journal: Journal, rng: random.Random) -> None:
        self.journal = journal
        self._rng = rng
        self._sessions: dict[str, AvatarSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, body: dict[str, Any], stream_base: str) -> dict[str, Any]:
        """``streaming.new``: a session for ``avatar_id`` at ``quality`` (low, medium or high; medium unless
        given) over ``background`` (transparent unless given), streamed below ``stream_base`` (a ws:// or
        wss:// URL without a trailing slash)."""
        avatar_id = body.get("avatar_id")
        if not isinstance(avatar_id, str) or not avatar_id:
            raise Refusal(400, "invalid_request", "avatar_id is missing")
        quality = body.get("quality", "medium")
        if quality not in QUALITIES:
            raise Refusal(400, "invalid_request", f"quality must be one of {', '.join(QUALITIES)}")
        background = body.get("background", "transparent")
        if not isinstance(background, str) or not background:
            raise Refusal(400, "invalid_request", "background must be a non-empty string")
        session_id = f"avatar-{self._rng.getrandbits(48):012x}"
        session = AvatarSession(
            session_id=session_id,
            avatar_id=avatar_id,
            quality=str(quality),
            background=background,
            stream_url=f"{stream_base}/v1/stream/{session_id}",
        )
        self._sessions[session_id] = session
        self.journal.record(
            "avatar session created",
            session=session_id,
            avatar=avatar_id,
            quality=quality,
            background=background,
        )
        return session.answer()

    def update(self, body: dict[str, Any]) -> dict[str, Any]:
        """``streaming.update``: whether the live session ``session_id`` is ``speaking`` and keeping
        ``voice_sync`` (both true or false), with which ``voice_id`` (any other value: none)."""
        session = self._live(body.get("session_id"))
        speaking, voice_sync = body.get("speaking"), body.get("voice_sync")
        if not isinstance(speaking, bool) or not isinstance(voice_sync, bool):
            raise Refusal(400, "invalid_request", "speaking and voice_sync must be true or false")
        voice_id = body.get("voice_id")
        session.speaking, session.voice_sync = speaking, voice_sync
        session.voice_id = voice_id if isinstance(voice_id, str) else None
        session.updates += 1
        self.journal.record(
            "avatar updated",
            session=session.session_id,
            speaking=speaking,
            voice_sync=voice_sync,
            voice=session.voice_id,
        )
        return session.answer()

    def close(self, body: dict[str, Any]) -> dict[str, Any]:
        """``streaming.stop``: the live session ``session_id`` is closed, for ``reason`` ("unspecified"
        unless given)."""
        session = self._live(body.get("session_id"))
        reason = body.get("reason")
        session.status, session.speaking = CLOSED, False
        session.close_reason = reason if isinstance(reason, str) and reason else "unspecified"
        self.journal.record("avatar session closed", session=session.session_id, reason=session.close_reason)
        return session.answer()

    def status(self, session_id: object) -> dict[str, Any]:
        """``streaming.status``: the session ``session_id``, live or closed."""
        return self._session(session_id).answer()

    def copies(self) -> list[AvatarSession]:
        """Every session, oldest first, as copies (safe to read from another thread)."""
        return [AvatarSession(**asdict(session)) for session in self._sessions.values()]

    def active(self) -> int:
        """How many sessions are still active."""
        return sum(session.status == ACTIVE for session in self._sessions.values())

    def clear(self) -> None:
        """Forget every session."""
        self._sessions.clear()

    def _session(self, session_id: object) -> AvatarSession:
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if session is None:
            raise Refusal(404, "not_found", "No avatar session has that id")
        return session

    def _live(self, session_id: object) -> AvatarSession:
        session = self._session(session_id)
        if session.status != ACTIVE:
            raise Refusal(409, "session_closed", "The avatar session is closed")
        return session
