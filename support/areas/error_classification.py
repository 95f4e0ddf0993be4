"""The ways connecting to the gateway can go wrong, by the names scenarios use for them, and what the client
is expected to make of each: how it classifies it and how soon it may try again.

Plain Python over the service stack, so steps stay thin and pytest can exercise it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from realtime_protocol import CloseCode
from support.drivers.base import ObservedEvent
from support.drivers.events import ReconnectScheduled, StateChanged
from support.harness import observations
from support.harness.queries import Events, Records
from support.harness.settings import Settings
from support.harness.written_wrong import ScenarioWrittenWrong
from support.services.gateway import GatewayTrouble
from support.services.journal import JournalEntry
from support.services.records import (
    GATEWAY,
    GatewayConnectionOpened,
    GatewayHandshakeRefused,
    GatewayUpgradeRefused,
    NetworkConnectionUnanswered,
    TlsHandshake,
)
from support.services.stack import ServiceStack

NEVER = "never"


@dataclass(frozen=True)
class Arranged:
    """What a scenario arranged: where the client should go instead of the gateway (None: to the gateway)
    and the pause the gateway asked for, in milliseconds (0 when it asked for none)."""

    gateway_url: str | None = None
    asked_pause_ms: float = 0.0


def _refuse(status: int, retry_after_s: float | None = None) -> Callable[[ServiceStack, Settings], Arranged]:
    def arrange(services: ServiceStack, settings: Settings) -> Arranged:
        services.gateway.program(GatewayTrouble(status=status, retry_after_s=retry_after_s))
        return Arranged(asked_pause_ms=(retry_after_s or 0) * 1000)

    return arrange


def _asking_for_a_pause(services: ServiceStack, settings: Settings) -> Arranged:
    # Twice the longest backoff pause: longer than any pause the client would choose by itself, so only
    # honouring Retry-After explains waiting it out.
    return _refuse(429, retry_after_s=2 * settings.backoff_max_ms / 1000)(services, settings)


def _end_session(code: CloseCode, reason: str) -> Callable[[ServiceStack, Settings], Arranged]:
    def arrange(services: ServiceStack, settings: Settings) -> Arranged:
        services.gateway.program(GatewayTrouble(close_code=int(code), reason=reason))
        return Arranged()

    return arrange


OPENING_TROUBLES: dict[str, Callable[[ServiceStack, Settings], Arranged]] = {
    "nothing is listening at the gateway's address": lambda services, settings: Arranged(
        services.gateway.addresses.that_refuses()
    ),
    "the gateway's host takes the connection but never answers": lambda services, settings: Arranged(
        services.gateway.addresses.that_never_answers()
    ),
    "the gateway's name does not exist": lambda services, settings: Arranged(
        services.gateway.addresses.that_does_not_resolve()
    ),
    "the gateway refuses the credentials": _refuse(401),
    "the gateway forbids this user": _refuse(403),
    "the gateway says there are too many requests and asks for a pause": _asking_for_a_pause,
    "the gateway fails with an internal error": _refuse(500),
    "a proxy in front of the gateway cannot reach it": _refuse(502),
    "the gateway is unavailable for the moment": _refuse(503),
}
SESSION_TROUBLES: dict[str, Callable[[ServiceStack, Settings], Arranged]] = {
    "the gateway is going away": _end_session(CloseCode.GOING_AWAY, "going away"),
    "the connection drops without a goodbye": _end_session(CloseCode.ABNORMAL, ""),
    "the gateway sees a protocol error": _end_session(CloseCode.PROTOCOL_ERROR, "protocol error"),
    "the gateway sees a breach of its policy": _end_session(CloseCode.POLICY_VIOLATION, "policy violation"),
    "the gateway got a message too big to handle": _end_session(CloseCode.MESSAGE_TOO_BIG, "too big"),
    "the gateway hits an internal error": _end_session(CloseCode.INTERNAL_ERROR, "internal error"),
    "the gateway is restarting": _end_session(CloseCode.SERVICE_RESTART, "restarting"),
    "the gateway says it is overloaded and to try again later": _end_session(
        CloseCode.TRY_AGAIN_LATER, "overloaded, try again later"
    ),
    "the gateway could not understand a message": _end_session(CloseCode.BAD_MESSAGE, "bad message"),
    "the client's access has expired": _end_session(CloseCode.TOKEN_EXPIRED, "the access token expired"),
    "the user is no longer allowed in": _end_session(CloseCode.FORBIDDEN, "forbidden"),
    "a newer connection took the session over": _end_session(CloseCode.SESSION_REPLACED, "replaced"),
}
TROUBLES = {"connection": OPENING_TROUBLES, "session": SESSION_TROUBLES}


@dataclass(frozen=True)
class Trouble:
    """A way for the client's first ``where`` ("connection" or "session") to fail, named in ``words``."""

    words: str
    where: str
    arrange: Callable[[ServiceStack, Settings], Arranged]


# Every trouble by its words (the ``ConnectTrouble`` parameter type), whichever attempt it is for.
TROUBLES_BY_WORDS: dict[str, Trouble] = {
    words: Trouble(words, where, arrange)
    for where, known in TROUBLES.items()
    for words, arrange in known.items()
}


def arrange_trouble(where: str, trouble: Trouble, services: ServiceStack, settings: Settings) -> Arranged:
    """Make the client's first ``where`` ("connection" or "session") fail with ``trouble``. A trouble of
    the other attempt (the gateway restarting for the first connection, say) is a scenario written wrong."""
    if trouble.where != where:
        raise ScenarioWrittenWrong(
            f'"{trouble.words}" ends a first {trouble.where}, not a first {where}: '
            f'say "the client\'s first {trouble.where} will fail because {trouble.words}".'
        )
    return trouble.arrange(services, settings)


# Every classification a client may give a failure (the ``Classification`` parameter type): the table in
# docs/protocol.md, "Error classification", with the HTTP statuses and close codes it names spelled out.
CLASSIFICATIONS = (
    "connection_refused",
    "timeout",
    "name_not_resolved",
    "certificate_untrusted",
    *(f"handshake_{status}" for status in (401, 403, 429, 500, 501, 502, 503, 504)),
    *(f"closed_{code}" for code in (1001, 1002, 1008, 1009, 1011, 1012, 1013, 4000, 4003, 4009)),
    "connection_dropped",
    "token_expired",
    "heartbeat_timeout",
)

# Whether a failure is worth retrying, by the words scenarios use (the ``WorthRetrying`` parameter type).
WORTH_RETRYING = {"worth retrying": True, "not worth retrying": False}

EarliestRetry = Callable[[Settings, float], "float | None"]  # settings, the pause asked for → ms, or None


def _asked_for(settings: Settings, asked_pause_ms: float) -> float:
    if not asked_pause_ms:
        raise ValueError("The scenario never had the gateway ask for a pause")
    return asked_pause_ms


# How soon the client may try again at the earliest, by the words scenarios use (the ``EarliestRetry``
# parameter type): a pause in milliseconds from the settings and the pause the gateway asked for, or None
# for "never".
EARLIEST_RETRIES: dict[str, EarliestRetry] = {
    NEVER: lambda settings, asked_pause_ms: None,
    # No pause of its own: backoff alone decides, and its first retry is at once.
    "at once": lambda settings, asked_pause_ms: 0.0,
    "after a longer pause": lambda settings, asked_pause_ms: float(settings.backoff_max_ms),
    "after the pause it was asked for": _asked_for,
}


def earliest_retry_ms(earliest: EarliestRetry, settings: Settings, asked_pause_ms: float) -> float | None:
    """The pause, in milliseconds, the client must wait at least before trying again (``earliest``: one of
    ``EARLIEST_RETRIES``' values); None for never."""
    return earliest(settings, asked_pause_ms)


def attempts_and_retries(events: Sequence[ObservedEvent]) -> tuple[int, int]:
    """How many attempts to connect the client started, and how many retries it scheduled."""
    return observations.states(events).count("connecting"), Events(events).count(ReconnectScheduled)


def next_attempt(events: Sequence[ObservedEvent], since: float) -> StateChanged | None:
    """The client's first attempt to connect started at or after ``since``."""
    return Events(events).first(StateChanged, since=since, state="connecting")


# What the far end records for an attempt that reaches it: the attempt's outcome at the gateway, or a host
# taking it and never answering. Over TLS each attempt also starts with a TLS handshake, which may be all
# there is when the certificate is refused.
ATTEMPT_OUTCOMES = (
    GatewayUpgradeRefused,
    GatewayHandshakeRefused,
    GatewayConnectionOpened,
    NetworkConnectionUnanswered,
)


def far_end_attempts(entries: Sequence[JournalEntry]) -> int:
    """How many attempts to connect reached the far end (the gateway, or a host that never answers); 0 for an
    address that refuses or a name that does not resolve, where nothing is there to see them."""
    records = Records(entries)
    return max(records.count(ATTEMPT_OUTCOMES), records.count(TlsHandshake, service=GATEWAY))
