"""The client's events, typed: one frozen dataclass per kind a client emits (docs/protocol.md, "Client
events"), and ``decode`` from what a driver saw, (name, data), to the typed event.

A driver hands over each event as the client named it and the facts it gave (``ObservedEvent``); ``decode``
turns that into the class registered for the kind, or an ``OtherEvent`` for a kind the suite does not know,
so nothing a client says is lost. Steps and support read events through ``support.harness.queries.Events``
(``Events(client.events()).of(StateChanged)``), never by name or through a dictionary. Tokens appear only as
fingerprints (``fp:`` and 12 hex digits); times are in milliseconds; close codes are RFC 6455's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from support.harness.facts import Kinds

KINDS: Kinds[Event] = Kinds("client event")
AVATAR = "avatar"  # the ``component`` of the avatar's events, which tells them from the realtime session's


@dataclass(frozen=True, kw_only=True)
class Event:
    """One event a client emitted. ``kind`` is its name on the wire (``state:changed``); ``at`` is when the
    driver saw it (``time.monotonic()``, the clock the services' journals use)."""

    kind: ClassVar[str] = ""
    at: float = 0.0

    def __init_subclass__(
        cls, /, kind: str | None = None, when: Mapping[str, Any] | None = None, **fields: Any
    ) -> None:
        """``class StateChanged(Event, kind="state:changed", state=str, …)``: a frozen dataclass with those
        fields, registered as the class of the client's ``state:changed`` events (see ``Kinds.made``)."""
        super().__init_subclass__()
        KINDS.made(cls, kind, when, fields)

    @property
    def event(self) -> Event:
        """The event itself: what an ``ObservedEvent`` gives as its typed event, so either reads alike."""
        return self

    def facts(self) -> dict[str, Any]:
        """What the event says, by field (without ``at``): for a matcher over several facts at once."""
        told = asdict(self)
        told.pop("at")
        return told


class OtherEvent(Event):
    """An event of a kind the suite has no class for, kept as the client gave it."""

    kind: str = ""  # type: ignore[misc]  # an instance's own kind, not the class's
    data: Mapping[str, Any] = field(default_factory=dict)

    def facts(self) -> dict[str, Any]:
        return dict(self.data)


def decode(name: str, data: Mapping[str, Any], at: float = 0.0) -> Event:
    """The typed event for what a client emitted: ``name`` is the event's kind, ``data`` its facts, ``at``
    when it was seen. A kind with no class gives an ``OtherEvent``; a fact of the wrong type raises
    ``support.harness.facts.UnreadableFacts`` (the client broke docs/protocol.md)."""
    cls = KINDS.pick(name, data)
    if cls is None:
        return OtherEvent(kind=name, data=dict(data), at=at)
    return KINDS.build(cls, name, data, at=at)


# A kind's facts stand on its class line, wrapped by hand where long: the formatter would put each fact on
# a line of its own.
# fmt: off

# -- the connection, the realtime session and messages -------------------------------------------------


class StateChanged(Event, kind="state:changed", state=str, previous=str, reason=str):
    """The client went into ``state`` from ``previous`` (initialized, connecting, authenticating, connected,
    ready, disconnected, reconnecting, closing, closed, failed), saying why."""


class ErrorClassified(Event, kind="error:classified", classification=str, error=str, retryable=bool,
                      recommended_delay_ms=float, close_code=int | None):
    """How the client judged what ended a connection or an attempt: a stable ``classification``, its
    ``error`` in words, whether it retries, after at least ``recommended_delay_ms``."""


class ConnectionLost(Event, kind="connection:lost", reason=str, code=int | None):
    """A live connection ended: ``reason`` in words, the close ``code`` if there was one."""


class HeartbeatTimeout(Event, kind="heartbeat:timeout", waited_ms=float):
    """No reply to a heartbeat within ``waited_ms``."""


class ReconnectScheduled(Event, kind="reconnect:scheduled", attempt=int, delay_ms=float, base_delay_ms=float,
                         reason=str):
    """Retry number ``attempt`` begins after ``delay_ms``, drawn within the jitter of ``base_delay_ms``."""


class ReconnectExhausted(Event, kind="reconnect:exhausted", total_attempts=int, limit=int, last_error=str):
    """The retry ``limit`` was reached: ``total_attempts`` is the attempt that began the run plus every
    retry (``limit`` + 1); ``last_error`` in words."""


class ProtocolNegotiated(Event, kind="protocol:negotiated", subprotocol=str | None, compression=str | None):
    """After an upgrade: the subprotocol agreed (``realtime.v1``) and the compression, each None if none."""


class UnusableFrame(Event, kind="protocol:error", reason=str, code=int | None):
    """The gateway sent a frame the client could not use; it closes with ``code``."""


class FrameIgnored(Event, kind="protocol:ignored", reason=str):
    """The client ignored a frame it did not expect, saying why."""


class ServerError(Event, kind="server:error", code=str, message=str):
    """An ``error`` frame not about a pending publish: its ``code`` (``forbidden``) and ``message``."""


class SessionStarted(Event, kind="session:started", session_id=str):
    """The gateway started a new session."""


class SessionResumed(Event, kind="session:resumed", session_id=str, replay=int):
    """The gateway resumed the session, replaying ``replay`` messages."""


class SessionContinuityLost(Event, kind="session:continuity_lost", previous_session_id=str, session_id=str,
                            reason=str):
    """The gateway did not resume ``previous_session_id`` and started ``session_id``, for ``reason``."""


class Subscribed(Event, kind="subscribed", channel=str):
    """The gateway confirmed a subscription."""


class MessageDelivered(Event, kind="message", channel=str, seq=int, data=Any):
    """A message delivered to the application: its channel, sequence number and data."""


class MessageDuplicate(Event, kind="message:duplicate", seq=int, channel=str):
    """A message seen before, not delivered again."""


class MessageGap(Event, kind="message:gap", expected=int, received=int):
    """A message arrived with ``received`` where ``expected`` was due."""


class PublishAcked(Event, kind="publish:acked", id=str):
    """The gateway acknowledged a published message."""


class PublishResent(Event, kind="publish:resent", id=str, channel=str):
    """A message not yet acknowledged was sent again."""


class PublishUnsent(Event, kind="publish:unsent", ids=list[str], count=int):
    """At shutdown, ``count`` messages (``ids``) were never acknowledged."""


class PublishRefused(Event, kind="publish:refused", id=str, channel=str, code=str, reason=str):
    """The gateway refused a message for good (``code``: ``forbidden``, ``too_big`` …); never sent again."""


class Disconnecting(Event, kind="disconnecting", reason=str, pending=int):
    """Shutdown began, with ``pending`` messages not yet acknowledged."""


class Disconnected(Event, kind="disconnected", code=int | None, reason=str):
    """Shutdown ended; ``code`` is the close code sent, None when there was no connection."""


# -- the client's parts: access, avatar and voice, start-up, configuration, recovery and clean-up --------


class TokenAcquired(Event, kind="token:acquired", token=str, token_type=str, expires_in_ms=float):
    """The client signed in and got an access ``token`` of ``token_type``, good for ``expires_in_ms``."""


class TokenRefreshed(Event, kind="token:refreshed", previous=str, token=str, expires_in_ms=float):
    """The client renewed its access: ``previous`` token, new ``token``, good for ``expires_in_ms``."""


class TokenChecked(Event, kind="token:checked", valid=bool, reason=str, detail=str):
    """A token the auth service handed out, checked before use: ``reason`` is ``valid_format``,
    ``missing_token``, ``empty_token`` or ``malformed_token``."""


class TokenExpired(Event, kind="token:expired", token=str, reason=str, error=str, requires_reauth=bool):
    """Renewal was refused (``reason`` ``refresh_failed``); the client signs in again with its key."""


class TokenRestored(Event, kind="token:restored", token=str, expires_in_ms=float, refresh_token=bool):
    """Tokens read back from the token store; ``refresh_token`` says whether one was stored."""


class TokenStoreUnreadable(Event, kind="token:store_unreadable", reason=str):
    """The token store could not be read, saying why."""


class TokenStoreUnwritable(Event, kind="token:store_unwritable", reason=str):
    """The token store could not be written, saying why."""


class TokenRevoked(Event, kind="token:revoked", revoked=list[str], failed=list[str]):
    """At logout: the names of the tokens given back, and of those the service would not take."""


class AuthFailed(Event, kind="auth:error", status=int | None, error=str, description=str, retryable=bool,
                 retry_after_ms=float | None):
    """The auth service refused or failed: HTTP ``status`` (None without an answer), OAuth ``error`` and
    ``description``, whether worth retrying, after ``retry_after_ms`` if it said."""


class VoiceSpeaking(Event, kind="voice:speaking", component=str, voice_id=str | None, speaking=bool):
    """The voice (``component`` ``audio``) started or stopped speaking."""


class AvatarSessionCreated(Event, kind="session:created", when={"component": AVATAR}, component=str,
                           session_id=Any, avatar_id=Any, status=Any, stream_url=Any, quality=Any,
                           background=Any):
    """An avatar session started at the avatar service, as the service described it."""


class VoiceCoordination(Event, kind="voice:coordination", component=str, avatar_session_id=str,
                        voice_id=str | None, sync_required=bool, speaking=bool):
    """The avatar was told to follow the voice: speaking or not, in sync."""


class AvatarSessionError(Event, kind="session:error", when={"component": AVATAR}, component=str,
                         operation=str, avatar_id=str | None, error=str, status=int | None, recoverable=bool,
                         fallback=str):
    """The avatar service could not be used for ``operation`` (``start`` or ``update``); the client goes on
    with ``fallback`` (``voice_only``)."""


class SubsystemInitialized(Event, kind="subsystem:initialized", component=str, position=int):
    """A part of the client started, at ``position`` in the start-up order (auth first)."""


class ConfigUpdated(Event, kind="config:updated", component=str, previous=dict[str, Any], new=dict[str, Any]):
    """A part took a configuration update: the settings it named, before and after."""


class ConfigRejected(Event, kind="config:rejected", reason=str, problems=list[str]):
    """A configuration update refused as a whole: nothing changed; ``reason`` is every problem in a line."""


class PartFailed(Event, kind="error:system", source=str, error=str):
    """A part (``source``: ``auth``, ``connection`` or ``session``) failed after the client had a session."""


class RecoveryStarted(Event, kind="recovery:started", source=str, strategy=str):
    """A recovery from the loss of a live session began, after ``source`` failed."""


class RecoveryCompleted(Event, kind="recovery:completed", components=list[str], strategy=str,
                        session_id=str | None, resumed=bool, took_ms=float):
    """The client is ready again after the ``components`` failed, in ``took_ms``."""


class RecoveryFailed(Event, kind="recovery:failed", components=list[str], strategy=str, reason=str):
    """The client gave up recovering from the ``components`` failing."""


class SystemFailure(Event, kind="system:failure", failed_components=list[str], recovery_strategy=str,
                    can_recover=bool):
    """Several parts failed in one recovery; said once, as the recovery ends."""


# -- shutdown: each part's clean-up, in the reverse of the start-up order ----------------------------------


class PartCleanup(Event):
    """What every ``<part>:cleanup`` event is: one part let go of what it held, once, at shutdown."""


class LoggerCleanup(PartCleanup, kind="logger:cleanup", level=str, restored=bool):
    """The logger put back the ``level`` it found, if ``restored``."""


class AvatarSessionCleanup(PartCleanup, kind="session:cleanup", when={"component": AVATAR}, component=str,
                           session_id=str, reason=str, closed_at_service=bool):
    """The avatar session let go of, closed at the service or not, saying why."""


class SessionCleanup(PartCleanup, kind="session:cleanup", session_id=str | None, subscriptions=list[str],
                     unsent=int):
    """The realtime session let go of: its subscriptions, and how many messages were never acknowledged."""


class AudioCleanup(PartCleanup, kind="audio:cleanup", component=str, reason=str, was_speaking=bool):
    """The voice stopped, if it was speaking."""


class AuthCleanup(PartCleanup, kind="auth:cleanup", reason=str, tokens_cleared=list[str]):
    """The tokens forgotten (``access_token``, ``refresh_token``, ``stored_tokens``); ``reason`` is
    ``shutdown`` or ``user_logout``."""


# fmt: on
