"""The services' journal entries, typed: one frozen dataclass per kind of entry a service writes
(``journal.record("session resumed", session=…)``), registered under the entry's name; a ``JournalEntry``
gives its record (``JournalEntry.record``). Read them through ``support.harness.queries.Records``.

Classes are named after their journal: ``Auth…``, ``Gateway…``, ``Network…`` (the fault proxy and the dead
ends), ``AvatarService…``; where two services write one name with different facts, the journal's ``source``
picks the class. Tokens and keys appear only as fingerprints; times are in milliseconds unless a name says
seconds (``_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from support.harness.facts import Kinds

# The services' journals, by their ``source`` (support/services/stack.py names them so).
AUTH = "auth service"
GATEWAY = "gateway"
NETWORK = "network"
AVATAR_SERVICE = "avatar service"

KINDS: Kinds[Record] = Kinds("journal entry")


@dataclass(frozen=True, kw_only=True)
class Record:
    """One thing a service saw or did. ``kind`` is the entry's name in the journal; ``at`` is when
    (``time.monotonic()``, the clock the client's events use); ``service`` is the journal's source."""

    kind: ClassVar[str] = ""
    at: float = 0.0
    service: str = ""

    def __init_subclass__(
        cls, /, kind: str | None = None, when: Mapping[str, Any] | None = None, **fields: Any
    ) -> None:
        """``class GatewaySessionResumed(GatewayRecord, kind="session resumed", session=str, …)``: a frozen
        dataclass with those fields, the record of "session resumed" entries (see ``Kinds.made``)."""
        super().__init_subclass__()
        KINDS.made(cls, kind, when, fields)


class GatewayRecord(Record):
    """A gateway record; ``node`` names the gateway node that wrote it when the gateway runs as several
    nodes behind the load balancer (``TaggedJournal``), else None."""

    node: str | None = field(default=None, kw_only=True)


class OtherRecord(Record):
    """An entry whose name has no record class (a test's own journal, say), kept as it was written."""

    kind: str = ""  # type: ignore[misc]  # an instance's own kind, not the class's
    facts: Mapping[str, Any] = field(default_factory=dict)


# A kind's facts stand on its class line, wrapped by hand where long: the formatter would put each fact on
# a line of its own.
# fmt: off

# -- any service ---------------------------------------------------------------------------------------------


class TlsHandshake(Record, kind="tls handshake"):
    """A client began a TLS handshake with the service (journaled before the certificate is checked)."""


class ServiceStopped(Record, kind="service stopped", answer=str):
    """The service stopped serving: its address refuses every connection until it starts again."""


class ServiceStartedAgain(Record, kind="service started again", port=int | None):
    """The service serves again, on the same ``port``."""


# -- the auth service (support/services/auth_service.py) -----------------------------------------------------


class AuthTokenRequested(Record, kind="token requested", grant_type=str, key=str, caller=str | None):
    """A call to the token endpoint, before any answer: ``grant_type`` (``api_key``, ``refresh_token``),
    the credential's fingerprint, the caller's ``client_id`` if it gave one."""


class AuthTokenAnswered(Record, kind="token answered", grant_type=str, status=int, key=str):
    """How the token endpoint answered a call: its HTTP ``status``."""


class AuthTokenIssued(Record, kind="token issued", grant_type=str, subject=str, access=str, refresh=str,
                      lifetime_ms=float, family=str):
    """Tokens handed out: access and refresh fingerprints, the access token's lifetime, its family."""


class AuthTokenRefreshed(Record, kind="token refreshed", subject=str, previous_refresh=str, access=str,
                         refresh=str, family=str):
    """A refresh token rotated: the one presented (``previous_refresh``), the new pair, the family."""


class AuthRefreshTokenReused(Record, kind="refresh token reused", refresh=str, family=str, subject=str):
    """A rotated-away refresh token came back: its whole family is revoked (reuse detection)."""


class AuthTokenRevoked(Record, kind="token revoked", when={"service": AUTH}, token_type=str, token=str,
                       subject=str | None, family=str | None):
    """A token revoked (RFC 7009): ``token_type`` ``access`` (with its ``subject``) or ``refresh`` (with its
    ``family``)."""


class AuthRevocationIgnored(Record, kind="revocation ignored", token=str, reason=str):
    """A revocation of a token the service could not read, answered 200 all the same (RFC 7009)."""


class AuthRequestRefused(Record, kind="request refused", when={"service": AUTH}, status=int, error=str,
                         description=str, endpoint=str):
    """An OAuth error answer: HTTP ``status``, ``error`` and ``description``, at ``endpoint``."""


class AuthSignInThrottled(Record, kind="sign-in throttled", caller=str, retry_after_ms=float):
    """Too many failed sign-ins from a caller: answered 429, to retry after ``retry_after_ms``."""


class AuthAccountClosed(Record, kind="account closed", subject=str, families_revoked=int):
    """An account closed; its key no longer signs in and its refresh families are revoked."""


class AuthSignInRevoked(Record, kind="sign-in revoked", subject=str, families_revoked=int):
    """Every refresh family of a subject revoked: it must sign in again."""


class AuthTroubleProgrammed(Record, kind="trouble programmed", when={"service": AUTH}, requests=int,
                            status=int, error=str | None, delay_ms=float | None, retry_after_ms=float | None):
    """The next ``requests`` token calls answered ``status`` (with ``error``), after ``delay_ms``, with a
    Retry-After of ``retry_after_ms`` (each None if not)."""


class AuthProgrammedResponse(Record, kind="programmed response", status=int, error=str | None,
                             delay_ms=float | None):
    """A token call answered as programmed rather than on its merits."""


class AuthFlawedTokens(Record, kind="flawed tokens handed out", flaw=str | None):
    """From now on every access token handed out has ``flaw`` (None: none)."""


# -- the gateway (support/services/gateway.py, and the stack's own gateway entries) --------------------------


class GatewayStarted(GatewayRecord, kind="gateway started", port=int | None):
    """The gateway listens on ``port``."""


class GatewayStopped(GatewayRecord, kind="gateway stopped", mode=str, code=int | None, kept_sessions=bool):
    """The gateway stopped: ``mode`` ``crash`` (no close frames, ``code`` None) or a graceful close with
    ``code``; whether it ``kept_sessions`` for a restart."""


class GatewaySessionsForgotten(GatewayRecord, kind="sessions forgotten", sessions=int):
    """The gateway forgot every session it held (``sessions`` of them)."""


class GatewayTrafficMoved(GatewayRecord, kind="traffic moved", to=str):
    """The load balancer sends new connections ``to`` another node."""


class GatewayUntrustedCertificateShown(GatewayRecord, kind="untrusted certificate shown", issuer=str):
    """The gateway shows a certificate from an ``issuer`` nobody trusts."""


class GatewayConnectionOpened(GatewayRecord, kind="connection opened", when={"service": GATEWAY},
                              connection=int, subject=str):
    """A WebSocket connection, number ``connection``, upgraded for ``subject``."""


class GatewayConnectionClosed(GatewayRecord, kind="connection closed", when={"service": GATEWAY},
                              connection=int, code=int, reason=str, session=str | None):
    """Connection ``connection`` closed with ``code`` (``reason`` in words), in ``session`` if it had one."""


class GatewayProtocolAgreed(GatewayRecord, kind="protocol agreed", connection=int, subprotocol=str | None,
                            compression=str | None):
    """The subprotocol and compression agreed on a connection, each None if none."""


class GatewayHandshakeRefused(GatewayRecord, kind="handshake refused", status=int, reason=str,
                              offered=str | None, speaks=str | None):
    """An upgrade refused with HTTP ``status`` (401: no valid token; 400: no shared protocol version, with
    the versions ``offered`` and those the gateway ``speaks``)."""


class GatewayUpgradeRefused(GatewayRecord, kind="upgrade refused", status=int, reason=str,
                            retry_after_s=float | None):
    """An upgrade refused as programmed: HTTP ``status``, with Retry-After ``retry_after_s`` if any."""


class GatewayTroubleProgrammed(GatewayRecord, kind="trouble programmed", when={"service": GATEWAY},
                               status=int | None, retry_after_s=float | None, close_code=int | None,
                               reason=str | None):
    """From now on upgrades are refused with ``status`` (Retry-After ``retry_after_s``), or connections
    closed with ``close_code`` (``reason`` in words)."""


class GatewayProtocolVersionsLimited(GatewayRecord, kind="protocol versions limited", speaks=str):
    """The gateway speaks only these protocol versions (comma-separated)."""


class GatewayCompressionTurnedDown(GatewayRecord, kind="compression turned down"):
    """The gateway refuses permessage-deflate from now on."""


class GatewayCompressionAccepted(GatewayRecord, kind="compression accepted again"):
    """The gateway accepts permessage-deflate again."""


class GatewayConnectionsCut(GatewayRecord, kind="connections cut from now on", after_ms=float):
    """From now on every connection is dropped ``after_ms`` after it opens."""


class GatewayConnectionsNoLongerCut(GatewayRecord, kind="connections no longer cut"):
    """Connections are no longer dropped."""


class GatewayConnectionCut(GatewayRecord, kind="connection cut", connection=int, after_ms=float):
    """Connection ``connection`` dropped ``after_ms`` after it opened (no close frame)."""


class GatewaySessionStarted(GatewayRecord, kind="session started", session=str, connection=int,
                            resume_refused=str | None):
    """A new session on ``connection``; ``resume_refused`` says why the one asked for was not resumed."""


class GatewaySessionResumed(GatewayRecord, kind="session resumed", session=str, connection=int, last_seq=int,
                            replayed=int):
    """A session resumed on ``connection`` after ``last_seq``, replaying ``replayed`` messages."""


class GatewaySessionExpired(GatewayRecord, kind="session expired", session=str):
    """A session past its resume window, forgotten."""


class GatewaySessionEnded(GatewayRecord, kind="session ended by the gateway", session=str, code=int,
                          reason=str):
    """The gateway closed a session's connection with ``code`` (``reason`` in words)."""


class GatewayTokenExpired(GatewayRecord, kind="token expired", subject=str):
    """A connection's access token ran out (closed with 4001)."""


class GatewayTokenRevoked(GatewayRecord, kind="token revoked", when={"service": GATEWAY}, connection=int):
    """The access token of connection ``connection`` was revoked."""


class GatewayTokenRenewed(GatewayRecord, kind="token renewed", session=str):
    """A session took a new access token in-band."""


class GatewayTokenRenewalRefused(GatewayRecord, kind="token renewal refused", session=str, reason=str):
    """A session's in-band token renewal refused, saying why."""


class GatewaySubscribed(GatewayRecord, kind="subscribed", session=str, channel=str):
    """A session subscribed to ``channel``."""


class GatewaySubscribeRefused(GatewayRecord, kind="subscribe refused", session=str, channel=str):
    """A session may not subscribe to ``channel``."""


class GatewayUnsubscribed(GatewayRecord, kind="unsubscribed", session=str, channel=str):
    """A session unsubscribed from ``channel``."""


class GatewayPublish(GatewayRecord, session=str, id=str, channel=str):
    """What every ``publish …`` entry is: how the gateway took a message ``id`` for ``channel``."""


class GatewayPublishAccepted(GatewayPublish, kind="publish accepted"):
    """A message taken and published."""


class GatewayPublishDuplicate(GatewayPublish, kind="publish duplicate"):
    """A message seen before, acknowledged and not published again."""


class GatewayPublishRefused(GatewayPublish, kind="publish refused", subject=str):
    """A message refused for good: ``subject`` may not publish to ``channel``."""


class GatewayStreamStarted(GatewayRecord, kind="stream started", channel=str, rate_per_s=float):
    """The gateway publishes numbered messages on ``channel``, ``rate_per_s`` a second."""


class GatewayStreamStopped(GatewayRecord, kind="stream stopped", channel=str, sent=int):
    """A stream stopped after ``sent`` messages."""


class GatewayMessageDropped(GatewayRecord, kind="message dropped", session=str, seq=int, size=int,
                            reason=str):
    """Message ``seq`` (``size`` bytes) not sent to a session, saying why (too big for the client)."""


class GatewayOversizedMessageSent(GatewayRecord, kind="message too big for clients sent", channel=str,
                                  size=int, limit=int):
    """A message of ``size`` bytes, over the clients' ``limit``, published on ``channel``."""


class GatewayOddFrameSent(GatewayRecord, kind="odd frame sent", session=str, what=str):
    """The gateway sent a session an odd frame on purpose, ``what`` in words (never its contents)."""


class GatewayBadFrame(GatewayRecord, kind="bad frame", reason=str):
    """A frame from a client the gateway could not use, saying why."""


# -- the network: the fault proxy and the dead ends (fault_proxy.py, dead_ends.py) ---------------------------


class NetworkConnectionOpened(Record, kind="connection opened", when={"service": NETWORK}, proxy=str,
                              number=int):
    """The ``proxy`` accepted its connection number ``number``."""


class NetworkConnectionClosed(Record, kind="connection closed", when={"service": NETWORK}, proxy=str,
                              number=int, reason=str):
    """The ``proxy`` closed connection ``number``, saying why."""


class NetworkFault(Record, proxy=str, name=str, fault_kind=str, stream=str | None,
                   attributes=dict[str, Any], description=str):
    """A toxic or outage on a ``proxy``: its ``name``, its kind (``fault_kind``: latency, timeout, down …),
    the ``stream`` it is on (upstream or downstream; None for an outage), its ``attributes`` and a
    ``description`` in words."""


class NetworkFaultApplied(NetworkFault, kind="fault applied"):
    """A fault was applied."""


class NetworkFaultLifted(NetworkFault, kind="fault lifted"):
    """A fault was lifted."""


class NetworkConnectionUnanswered(Record, kind="connection left unanswered", host=str, connection=int):
    """A host that never answers accepted its ``connection``-th connection and said nothing."""


class NetworkAddressRefuses(Record, kind="address refuses connections", address=str):
    """An ``address`` where every connection is refused."""


class NetworkHostSilent(Record, kind="host never answers", address=str):
    """An ``address`` that accepts connections and never answers."""


class NetworkNameUnresolvable(Record, kind="name does not resolve", name=str):
    """A host ``name`` that does not resolve."""


# -- the avatar service (support/services/avatar_service.py) -------------------------------------------------


class AvatarServiceRequestReceived(Record, kind="request received", endpoint=str, key=str):
    """A call to an ``endpoint``, with the fingerprint of the key it carried."""


class AvatarServiceRequestRefused(Record, kind="request refused", when={"service": AVATAR_SERVICE},
                                  endpoint=str, status=int, error=str):
    """A call refused: HTTP ``status`` and ``error``."""


class AvatarServiceSessionCreated(Record, kind="avatar session created", session=str, avatar=str, quality=str,
                                  background=str):
    """An avatar session started for ``avatar`` in that quality and background."""


class AvatarServiceAvatarUpdated(Record, kind="avatar updated", session=str, speaking=bool, voice_sync=bool,
                                 voice=str | None):
    """The avatar told to speak or stop, in sync with ``voice`` or not."""


class AvatarServiceSessionClosed(Record, kind="avatar session closed", session=str, reason=str | None):
    """An avatar session closed, for the ``reason`` the client gave."""


class AvatarServiceUnavailable(Record, kind="service unavailable"):
    """From now on every call is answered 503."""


class AvatarServiceSlow(Record, kind="service slow", delay_ms=float):
    """From now on every answer comes after ``delay_ms``."""


class AvatarServiceRecovered(Record, kind="service recovered"):
    """The service answers promptly and normally again."""


# fmt: on
