"""The avatar in scenarios: the avatar service's troubles by the names scenarios use, and reading the
client's avatar events (those with ``component: "avatar"``) apart from the realtime session's."""

from __future__ import annotations

from collections.abc import Sequence
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
from support.harness.written_wrong import ScenarioWrittenWrong
from support.services.avatar.sessions import AvatarSession
from support.services.stack import ServiceStack

E = TypeVar("E", AvatarSessionCreated, AvatarSessionError, AvatarSessionCleanup, VoiceCoordination)
TROUBLES = ("unavailable", "too slow to answer")


def cause_trouble(services: ServiceStack, trouble: str, settings: Settings) -> None:
    """Make the avatar service misbehave in the way named: answer every call 503, or answer every call well
    after the client stops waiting (``avatar_slowness_ms``)."""
    if trouble == "unavailable":
        services.avatar.become_unavailable()
    elif trouble == "too slow to answer":
        if settings.avatar_slowness_ms <= settings.avatar_timeout_ms:
            raise ValueError(
                f"avatar_slowness_ms ({settings.avatar_slowness_ms}) must be longer than avatar_timeout_ms "
                f"({settings.avatar_timeout_ms}) for the avatar service to be too slow"
            )
        services.avatar.become_slow(settings.avatar_slowness_ms)
    else:
        raise ScenarioWrittenWrong("avatar service trouble", trouble, TROUBLES)


def avatar_events(events: Sequence[ObservedEvent], kind: type[E], since: float = 0.0) -> list[E]:
    """The client's events of that kind about its avatar (``component`` ``avatar``), oldest first."""
    return Events(events).of(kind, since=since, component=AVATAR)


def session_at_service(services: ServiceStack, session_id: object) -> AvatarSession | None:
    """The avatar service's own record of a session, or None when it never heard of it."""
    return next((session for session in services.avatar.sessions() if session.session_id == session_id), None)
