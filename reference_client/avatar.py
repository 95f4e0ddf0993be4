"""The client's avatar: a session at a streaming-avatar API (HeyGen-like) that follows the voice.

The avatar is an extra, never a condition of the realtime session. When its API is unavailable or too slow,
the avatar reports a recoverable ``session:error`` and falls back to voice only; the realtime connection
carries on untouched, and the avatar can be started again once the API is back.

Every event about it carries ``component: "avatar"``, so its ``session:*`` events can't be mistaken for the
realtime session's.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from reference_client.events import EventEmitter
from reference_client.subsystems import Health, Rule, SettingsByRule

log = logging.getLogger("reference_client.avatar")

QUALITIES = ("low", "medium", "high")
VOICE_ONLY = "voice_only"
API_KEY_HEADER = "X-Api-Key"


class AvatarError(Exception):
    """A call to the avatar API failed; ``description`` is one plain line."""

    def __init__(self, description: str, status: int | None, recoverable: bool) -> None:
        super().__init__(description)
        self.description = description
        self.status = status
        self.recoverable = recoverable


def _timeout_problem(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return None
    return f"avatar timeout_ms must be a positive whole number, got {value!r}"


def _quality_problem(value: object) -> str | None:
    if value in QUALITIES:
        return None
    return f"avatar quality must be one of {', '.join(QUALITIES)}, got {value!r}"


def _background_problem(value: object) -> str | None:
    if isinstance(value, str) and value:
        return None
    return f"avatar background must be a non-empty text, got {value!r}"


class AvatarSubsystem(SettingsByRule):
    """The avatar session at the avatar API, following the voice; voice only when the API fails. Settings:
    ``timeout_ms`` (per call to the API), ``quality`` (low, medium, high) and ``background``."""

    name = "avatar"
    RULES: ClassVar[Mapping[str, Rule]] = {
        "timeout_ms": _timeout_problem,
        "quality": _quality_problem,
        "background": _background_problem,
    }

    def __init__(
        self,
        url: str,
        api_key: str,
        events: EventEmitter,
        *,
        timeout_ms: int,
        tls: ssl.SSLContext | None = None,
        quality: str = "medium",
        background: str = "transparent",
    ) -> None:
        self._api_key = api_key
        self._events = events
        self._take_settings({"timeout_ms": timeout_ms, "quality": quality, "background": background})
        self._http = httpx.AsyncClient(base_url=url, verify=tls if tls is not None else True)
        self._session: dict[str, Any] | None = None  # the live avatar session, as the API described it
        self._abandoned: list[str] = []  # sessions given up on after an error, closed at the next chance
        self._mode = "off"  # off (no avatar asked for), avatar, voice_only or closed
        self._avatar_id: str | None = None
        self.last_error: str | None = None
        self._initialized = False

    # -- the contract ------------------------------------------------------------------------------------

    async def initialize(self) -> None:
        self._initialized = True

    async def cleanup(self, reason: str) -> None:
        """Close the avatar session at the API, saying why; ``session:cleanup`` is emitted once, when there
        was an avatar session to let go of."""
        if self._mode == "closed":
            return
        session_id = self._session["session_id"] if self._session is not None else None
        held = [*self._abandoned, *([session_id] if session_id else [])]
        self._mode, self._session = "closed", None
        closed = [sid for sid in held if await self._close_at_api(sid, reason)]
        self._abandoned.clear()
        await self._http.aclose()
        if held:
            self._events.emit(
                "session:cleanup",
                component=self.name,
                session_id=held[-1],
                reason=reason,
                closed_at_service=held[-1] in closed,
            )

    def health(self) -> tuple[Health, dict[str, Any]]:
        facts: dict[str, Any] = {
            "mode": self._mode,
            "session_id": self._session["session_id"] if self._session is not None else None,
            "avatar_id": self._avatar_id,
            "last_error": self.last_error,
        }
        if self._mode == "closed":
            return "down", facts
        if self._mode == VOICE_ONLY:
            return "degraded", facts
        return "up", facts

    # -- the avatar --------------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def session_id(self) -> str | None:
        return self._session["session_id"] if self._session is not None else None

    async def start(
        self, avatar_id: str, quality: str | None = None, background: str | None = None
    ) -> dict[str, Any] | None:
        """Start an avatar session (closing any earlier one); returns it as ``session:created`` describes it,
        or None when the API could not be used (then ``session:error`` said why, and the avatar is voice
        only)."""
        if self._mode == "closed":
            raise RuntimeError("the avatar has been cleaned up")
        if not avatar_id:
            raise ValueError("an avatar id is required")
        self._avatar_id = avatar_id
        await self._let_go_of_earlier_sessions("a new avatar session was started")
        body = {
            "avatar_id": avatar_id,
            "quality": quality or self._settings["quality"],
            "background": background or self._settings["background"],
        }
        try:
            answer = await self._call("POST", "/v1/streaming.new", body)
        except AvatarError as error:
            self._fall_back("start", error)
            return None
        self._session = answer
        self._mode, self.last_error = "avatar", None
        created = {
            "session_id": answer.get("session_id"),
            "avatar_id": answer.get("avatar_id"),
            "status": answer.get("status"),
            "stream_url": answer.get("stream_url"),
            "quality": answer.get("quality"),
            "background": answer.get("background"),
        }
        self._events.emit("session:created", component=self.name, **created)
        return created

    async def follow_voice(self, voice_id: str | None, speaking: bool) -> None:
        """The voice started or stopped speaking: have the avatar speak in sync with it, or stop."""
        if self._session is None or self._mode != "avatar":
            return  # no avatar to move; the voice goes on alone
        session_id = self._session["session_id"]
        body = {"session_id": session_id, "speaking": speaking, "voice_sync": True, "voice_id": voice_id}
        try:
            await self._call("POST", "/v1/streaming.update", body)
        except AvatarError as error:
            self._fall_back("update", error)
            return
        self._events.emit(
            "voice:coordination",
            component=self.name,
            avatar_session_id=session_id,
            voice_id=voice_id,
            sync_required=True,
            speaking=speaking,
        )

    # -- talking to the API ------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        timeout_ms = self._settings["timeout_ms"]
        try:
            response = await self._http.request(
                method, path, json=body, headers={API_KEY_HEADER: self._api_key}, timeout=timeout_ms / 1000
            )
        except httpx.TimeoutException:
            raise AvatarError(
                f"the avatar service did not answer within {timeout_ms} ms", None, recoverable=True
            ) from None
        except httpx.TransportError as error:
            raise AvatarError(
                f"the avatar service could not be reached ({type(error).__name__})", None, recoverable=True
            ) from None
        if response.status_code >= 400:
            raise AvatarError(
                f"the avatar service answered {response.status_code}: {_message(response)}",
                response.status_code,
                # An outage or a rush passes; a refused key or a bad request does not fix itself.
                recoverable=response.status_code in (408, 429) or response.status_code >= 500,
            )
        try:
            answer = response.json()
        except ValueError:
            raise AvatarError(
                "the avatar service answered with something that is not JSON", 200, True
            ) from None
        if not isinstance(answer, dict):
            raise AvatarError("the avatar service answered with something that is not an object", 200, True)
        return answer

    def _fall_back(self, operation: str, error: AvatarError) -> None:
        if self._session is not None:
            self._abandoned.append(self._session["session_id"])
        self._session = None
        self._mode, self.last_error = VOICE_ONLY, error.description
        self._events.emit(
            "session:error",
            component=self.name,
            operation=operation,
            avatar_id=self._avatar_id,
            error=error.description,
            status=error.status,
            recoverable=error.recoverable,
            fallback=VOICE_ONLY,
        )

    async def _let_go_of_earlier_sessions(self, reason: str) -> None:
        if self._session is not None:
            self._abandoned.append(self._session["session_id"])
            self._session = None
        self._abandoned = [sid for sid in self._abandoned if not await self._close_at_api(sid, reason)]

    async def _close_at_api(self, session_id: str, reason: str) -> bool:
        """Whether the API confirmed the session closed (or no longer knows it)."""
        try:
            await self._call("POST", "/v1/streaming.stop", {"session_id": session_id, "reason": reason})
        except AvatarError as error:
            if error.status in (404, 409):
                return True  # already gone
            log.debug("could not close avatar session %s: %s", session_id, error.description)
            return False
        return True


def _message(response: httpx.Response) -> str:
    with contextlib.suppress(ValueError):
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            return str(body["message"])
    return response.reason_phrase or "no reason given"
