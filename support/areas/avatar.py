"""The avatar in scenarios: the avatar service's troubles by the names scenarios use, and reading the
client's avatar events (those with ``component: "avatar"``) apart from the realtime session's."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from support.drivers.base import ObservedEvent
from support.drivers.events import (
    AVATAR,
    AvatarSessionCleanup,
    AvatarSessionCreated,
    AvatarSessionError,
    VoiceCoordination,
)
from support.harness.queries import Events
from support.harness.settings import Settings
from support.services.avatar.sessions import AvatarSession
from support.services.stack import ServiceStack

E = TypeVar("E", AvatarSessionCreated, AvatarSessionError, AvatarSessionCleanup, VoiceCoordination)

AvatarTrouble = Callable[[ServiceStack, Settings], None]  # makes the avatar service misbehave


def _unavailable(services: ServiceStack, settings: Settings) -> None:
    services.avatar.become_unavailable()


def _too_slow(services: ServiceStack, settings: Settings) -> None:
    if settings.avatar_slowness_ms <= settings.avatar_timeout_ms:
        raise ValueError(
            f"avatar_slowness_ms ({settings.avatar_slowness_ms}) must be longer than avatar_timeout_ms "
            f"({settings.avatar_timeout_ms}) for the avatar service to be too slow"
        )
    services.avatar.become_slow(settings.avatar_slowness_ms)


# The avatar service's troubles, by the words scenarios use (the ``AvatarTrouble`` parameter type): every
# call answered 503, or every call answered well after the client stops waiting (``avatar_slowness_ms``).
TROUBLES: dict[str, AvatarTrouble] = {"unavailable": _unavailable, "too slow to answer": _too_slow}

# What the avatar service may show the avatar doing (the ``AvatarActivity`` parameter type), each as the
# properties of its record of the session: speaking in sync with a voice, or silent.
SPEAKING = re.compile(r'speaking in sync with the voice "(?P<voice>[^"]+)"')
ACTIVITIES = ('speaking in sync with the voice "{voice}"', "silent")
ACTIVITY_PATTERN = r'speaking in sync with the voice "[^"]+"|silent'


def activity(words: str) -> dict[str, object]:
    """The properties the avatar service's record has while the avatar does what ``words`` say (one of
    ``ACTIVITIES``, the voice filled in); ValueError for other words."""
    if words == "silent":
        return {"speaking": False, "status": "active"}
    match = SPEAKING.fullmatch(words)
    if match is None:
        raise ValueError(f"No avatar activity is worded {words!r}")
    return {"speaking": True, "voice_sync": True, "voice_id": match["voice"]}


def cause_trouble(services: ServiceStack, trouble: AvatarTrouble, settings: Settings) -> None:
    """Make the avatar service misbehave in the way named (one of ``TROUBLES``' values)."""
    trouble(services, settings)


def avatar_events(events: Sequence[ObservedEvent], kind: type[E], since: float = 0.0) -> list[E]:
    """The client's events of that kind about its avatar (``component`` ``avatar``), oldest first."""
    return Events(events).of(kind, since=since, component=AVATAR)


def session_at_service(services: ServiceStack, session_id: object) -> AvatarSession | None:
    """The avatar service's own record of a session, or None when it never heard of it."""
    return next((session for session in services.avatar.sessions() if session.session_id == session_id), None)
