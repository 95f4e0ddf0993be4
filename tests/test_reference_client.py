"""The reference client: its pure parts on their own, then the whole client against the real mock auth
service and gateway on loopback.

Waits are conditions polled against a deadline, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from realtime_protocol import CloseCode, fingerprint
from reference_client import (
    AuthError,
    Backoff,
    BackoffPolicy,
    ClientConfig,
    ClientEvent,
    ConfigError,
    ConnectionState,
    RealtimeClient,
    classify,
    classify_close,
)
from reference_client.auth import TokenManager
from reference_client.errors import ClientClosedError, HeartbeatTimeoutError, ProtocolViolationError
from reference_client.events import EventEmitter
from reference_client.receiver import receive
from reference_client.session import Arrival, SessionState
from support.services.auth.accounts import Account
from support.services.auth.service import AuthService
from support.services.auth.tokens import TokenAuthority
from support.services.certificates import CertificateAuthority
from support.services.gateway import Gateway
from support.services.journal import Journal
from tests.polling import eventually

API_KEY = "key-live-3d9a7f1c2b"
UNKNOWN_KEY = "key-live-nobody-knows"
AUTH_URL = "http://127.0.0.1:1"
GATEWAY_URL = "ws://127.0.0.1:2/realtime"

# One signing key for the whole module: key generation is the only slow part of a TokenAuthority.
AUTHORITY = TokenAuthority()


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


# -- backoff ------------------------------------------------------------------------------------------


def test_backoff_first_retry_is_immediate_then_grows_to_the_cap() -> None:
    policy = BackoffPolicy(initial_ms=100, multiplier=2, max_ms=1_000, jitter=0)
    assert [policy.base_delay_ms(attempt) for attempt in range(1, 8)] == [0, 100, 200, 400, 800, 1_000, 1_000]


def test_backoff_without_an_immediate_first_retry_starts_at_the_initial_delay() -> None:
    policy = BackoffPolicy(initial_ms=50, multiplier=3, max_ms=1_000, immediate_first_retry=False)
    assert [policy.base_delay_ms(attempt) for attempt in range(1, 6)] == [50, 150, 450, 1_000, 1_000]


def test_backoff_jitter_bounds_surround_the_base_delay_and_never_exceed_the_cap() -> None:
    policy = BackoffPolicy(initial_ms=100, multiplier=2, max_ms=1_000, jitter=0.25)
    assert policy.bounds_ms(1) == (0, 0)
    assert policy.bounds_ms(2) == (75, 125)
    assert policy.bounds_ms(3) == (150, 250)
    for attempt in range(1, 60):
        low, high = policy.bounds_ms(attempt)
        assert 0 <= low <= policy.base_delay_ms(attempt) <= high <= policy.max_ms
    assert policy.bounds_ms(10) == (750, 1_000)


def test_backoff_stays_at_the_cap_however_many_attempts() -> None:
    # With retry_limit=None the client retries forever; at the cap that is about 1,000 retries in.
    policy = BackoffPolicy(initial_ms=10, multiplier=2.0, max_ms=50)
    assert policy.base_delay_ms(2_000) == 50


@pytest.mark.parametrize(
    "settings",
    [
        {"initial_ms": 0},
        {"initial_ms": -1},
        {"initial_ms": 100, "max_ms": 99},
        {"multiplier": 0.5},
        {"jitter": -0.1},
        {"jitter": 1.5},
    ],
    ids=[
        "zero-initial",
        "negative-initial",
        "cap-below-initial",
        "shrinking",
        "negative-jitter",
        "big-jitter",
    ],
)
def test_invalid_backoff_policies_are_rejected(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        BackoffPolicy(**settings)


def test_backoff_with_a_seeded_generator_is_reproducible() -> None:
    policy = BackoffPolicy(initial_ms=10, multiplier=2, max_ms=200, jitter=0.5)

    def delays(seed: int) -> list[tuple[int, float]]:
        backoff = Backoff(policy, random.Random(seed))
        return [backoff.next_delay_ms() for _ in range(8)]

    first = delays(42)
    assert first == delays(42)
    assert first != delays(43)
    assert [attempt for attempt, _ in first] == list(range(1, 9))
    for attempt, delay in first:
        low, high = policy.bounds_ms(attempt)
        assert low <= delay <= high

    backoff = Backoff(policy, random.Random(42))
    backoff.next_delay_ms()
    backoff.next_delay_ms()
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.next_delay_ms()[0] == 1


# -- error classification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind", "retryable"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection_refused", True),
        (TimeoutError(), "timeout", True),
        (httpx.ConnectTimeout("slow"), "timeout", True),
        (socket.gaierror(-2, "Name or service not known"), "name_not_resolved", True),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "certificate_untrusted", False),
        (ConnectionResetError(104, "Connection reset by peer"), "network_error", True),
        (HeartbeatTimeoutError("no pong"), "heartbeat_timeout", True),
        (ProtocolViolationError("no welcome"), "protocol_violation", False),
        (RuntimeError("surprise"), "unexpected", False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else None,
)
def test_classify_network_and_client_errors(error: BaseException, kind: str, retryable: bool) -> None:
    classification = classify(error)
    assert (classification.kind, classification.retryable) == (kind, retryable)
    assert classification.description and "\n" not in classification.description
    assert not classification.renew_token


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (401, "auth_401", False),
        (429, "auth_429", True),
        (500, "auth_500", True),
        (None, "auth_unreachable", True),
    ],
)
def test_classify_auth_errors(status: int | None, kind: str, retryable: bool) -> None:
    error = AuthError(status, "some_error", "what went wrong", retry_after_s=0.25 if status == 429 else None)
    assert error.retryable is retryable
    classification = classify(error)
    assert (classification.kind, classification.retryable) == (kind, retryable)
    assert classification.recommended_delay_ms == (250 if status == 429 else 0)
    assert "what went wrong" in classification.description


@pytest.mark.parametrize(("status", "retryable"), [(401, False), (403, False), (503, True)])
def test_classify_refused_handshakes(status: int, retryable: bool) -> None:
    classification = classify(InvalidStatus(Response(status, "refused", Headers())))
    assert (classification.kind, classification.retryable) == (f"handshake_{status}", retryable)


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        (1000, "closed_1000", True),
        (1001, "closed_1001", True),
        (1006, "connection_dropped", True),
        (None, "connection_dropped", True),
        (1008, "closed_1008", False),
        (1011, "closed_1011", True),
        (1012, "closed_1012", True),
        (1013, "closed_1013", True),
        (4000, "closed_4000", False),
        (4001, "token_expired", True),
        (4003, "closed_4003", False),
        (4009, "closed_4009", False),
    ],
)
def test_classify_close_codes(code: int | None, kind: str, retryable: bool) -> None:
    classification = classify_close(code, "bye")
    assert (classification.kind, classification.retryable) == (kind, retryable)
    assert classification.renew_token is (code == CloseCode.TOKEN_EXPIRED)
    assert classification.close_code == (1006 if code is None else code)
    assert "'bye'" in classification.description


def test_classify_a_closed_connection_by_what_was_received() -> None:
    expired = classify(ConnectionClosedError(Close(4001, "expired"), None))
    assert (expired.kind, expired.renew_token, expired.close_code) == ("token_expired", True, 4001)
    dropped = classify(ConnectionClosedError(None, None))
    assert (dropped.kind, dropped.retryable, dropped.close_code) == ("connection_dropped", True, 1006)


# -- configuration ------------------------------------------------------------------------------------


def config(**overrides: Any) -> ClientConfig:
    return ClientConfig(**{"auth_url": AUTH_URL, "gateway_url": GATEWAY_URL, "api_key": API_KEY, **overrides})


def test_a_valid_config_hides_the_api_key() -> None:
    accepted = config(auth_url="https://auth.example/", gateway_url="wss://rt.example/realtime")
    assert accepted.api_key == API_KEY
    assert API_KEY not in repr(accepted)


@pytest.mark.parametrize(
    "overrides",
    [
        {"auth_url": "ftp://auth.example"},
        {"auth_url": "http://"},
        {"auth_url": "auth.example"},
        {"auth_url": "ws://auth.example"},
        {"gateway_url": "http://127.0.0.1/realtime"},
        {"gateway_url": "ws:///realtime"},
        {"api_key": ""},
        {"heartbeat_interval_ms": 0},
        {"heartbeat_timeout_ms": -1},
        {"connect_timeout_ms": -5},
        {"auth_timeout_ms": 0},
        {"shutdown_flush_ms": -1},
        {"max_message_bytes": 0},
        {"stable_connection_ms": -1},
        {"retry_limit": -1},
        {"token_refresh_fraction": 0},
        {"token_refresh_fraction": 1},
        {"ca_file": "/nonexistent/test-authority.pem"},
    ],
    ids=lambda overrides: "-".join(f"{key}={value}" for key, value in overrides.items()),
)
def test_invalid_configs_are_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as refused:
        config(**overrides)
    message = str(refused.value)
    assert "\n" not in message and API_KEY not in message
    assert isinstance(refused.value, ValueError)


# -- session state ------------------------------------------------------------------------------------


def test_session_arrivals_are_next_duplicate_or_gap() -> None:
    session = SessionState()
    assert session.arrival(1) is Arrival.NEXT
    session.delivered(1)
    assert session.arrival(1) is Arrival.DUPLICATE
    assert session.arrival(2) is Arrival.NEXT
    assert session.arrival(4) is Arrival.GAP
    session.delivered(4)
    assert session.last_seq == 4
    assert session.arrival(3) is Arrival.DUPLICATE
    session.delivered(2)  # a late one never moves the position back
    assert session.last_seq == 4


def test_a_fresh_session_has_every_subscription_unconfirmed() -> None:
    session = SessionState()
    assert session.want("prices") and session.want("orders")
    assert not session.want("prices")
    session.start_fresh("s-first")
    session.confirmed.update({"prices", "orders"})
    session.delivered(7)
    assert session.unconfirmed() == []

    session.start_fresh("s-second")
    assert session.session_id == "s-second"
    assert session.last_seq == 0
    assert session.unconfirmed() == ["prices", "orders"]  # in the order the application asked


# -- the whole client against the real services --------------------------------------------------------


@dataclass
class Observed:
    client: RealtimeClient
    events: list[ClientEvent] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # every token the auth service handed this client

    def names(self) -> list[str]:
        return [event.name for event in self.events]

    def states(self) -> list[str]:
        return [event.data["state"] for event in self.events if event.name == "state:changed"]

    def named(self, name: str) -> list[ClientEvent]:
        return [event for event in self.events if event.name == name]


@dataclass
class Services:
    auth: AuthService
    gateway: Gateway
    auth_journal: Journal
    gateway_journal: Journal
    clients: list[Observed] = field(default_factory=list)

    def client(self, api_key: str = API_KEY, **overrides: Any) -> Observed:
        settings: dict[str, Any] = {
            "heartbeat_interval_ms": 50,
            "heartbeat_timeout_ms": 500,
            "connect_timeout_ms": 1_000,
            "auth_timeout_ms": 1_000,
            "backoff": BackoffPolicy(initial_ms=10, multiplier=2, max_ms=40, jitter=0.2),
            "retry_limit": 3,
            "stable_connection_ms": 100,
            "shutdown_flush_ms": 200,
            "random_seed": 7,
            **overrides,
        }
        client = RealtimeClient(
            ClientConfig(auth_url=self.auth.url, gateway_url=self.gateway.url, api_key=api_key, **settings)
        )
        observed = Observed(client)
        client.add_listener(observed.events.append)

        async def keep_tokens(response: httpx.Response) -> None:
            await response.aread()
            if response.status_code == 200:
                body = response.json()
                observed.tokens += [body[key] for key in ("access_token", "refresh_token") if body.get(key)]

        # The client's own HTTP client, so the raw tokens it was given can be looked for in its events.
        client._http.event_hooks["response"].append(keep_tokens)
        self.clients.append(observed)
        return observed


@contextlib.asynccontextmanager
async def services(
    access_lifetime_ms: int = 60_000,
    *,
    auth_tls: ssl.SSLContext | None = None,
    gateway_tls: ssl.SSLContext | None = None,
) -> AsyncIterator[Services]:
    auth_journal, gateway_journal = Journal("auth service"), Journal("gateway")
    auth = AuthService(
        AUTHORITY,
        auth_journal,
        access_lifetime_ms=access_lifetime_ms,
        refresh_lifetime_ms=60_000,
        ssl_context=auth_tls,
    )
    gateway = Gateway(
        AUTHORITY,
        gateway_journal,
        resume_window_ms=2_000,
        rng=random.Random(1),
        is_revoked=auth.is_revoked,
        ssl_context=gateway_tls,
    )
    stack = Services(auth, gateway, auth_journal, gateway_journal)
    try:
        await auth.start()
        auth.register(API_KEY, Account(subject="client-7"))
        await gateway.start()
        yield stack
    finally:
        for observed in stack.clients:
            await observed.client.close("the test ended")
        await gateway.close()
        await auth.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}


def client_tasks() -> list[str]:
    """Tasks still running other than the caller and the gateway's session expiry timers."""
    current = asyncio.current_task()
    return [
        task.get_name()
        for task in asyncio.all_tasks()
        if task is not current and not task.done() and not task.get_name().startswith("expire:")
    ]


async def ready(observed: Observed) -> None:
    await observed.client.connect()
    await eventually(lambda: observed.client.state is ConnectionState.READY, what="the client being ready")


def test_connecting_goes_through_each_stage_once_in_order() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client()
            assert observed.client.state is ConnectionState.INITIALIZED
            await ready(observed)
            assert observed.states() == ["connecting", "authenticating", "connected", "ready"]
            session_id = observed.client.session_id
            assert session_id is not None and s.gateway.session_ids() == [session_id]
            assert [event.data["session_id"] for event in observed.named("session:started")] == [session_id]
            assert len(observed.named("token:acquired")) == 1

    run(scenario)


def test_subscribe_receive_and_publish_acked() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client()
            await ready(observed)
            await observed.client.subscribe("prices")
            await eventually(lambda: bool(observed.named("subscribed")), what="the subscription")
            assert s.gateway.subscriptions_of(observed.client.session_id or "") == {"prices"}

            for number in range(1, 4):
                await s.gateway.publish("prices", {"n": number})
            await eventually(lambda: len(observed.named("message")) == 3, what="three messages")
            assert [(e.data["seq"], e.data["data"]) for e in observed.named("message")] == [
                (n, {"n": n}) for n in range(1, 4)
            ]

            message_id = await observed.client.publish("orders", {"qty": 2})
            await eventually(lambda: observed.client.pending == 0, what="the publish being acked")
            assert [event.data["id"] for event in observed.named("publish:acked")] == [message_id]
            assert s.gateway_journal.count("publish accepted", id=message_id, channel="orders") == 1

    run(scenario)


def test_graceful_close_cleans_up_in_order_and_leaves_nothing_running() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client()
            await ready(observed)
            await observed.client.subscribe("prices")
            await observed.client.close()

            shutdown = ["disconnecting", "logger:cleanup", "session:cleanup", "auth:cleanup", "disconnected"]
            assert [name for name in observed.names() if name in shutdown] == shutdown
            assert observed.states()[-2:] == ["closing", "closed"]
            assert observed.client.state is ConnectionState.CLOSED
            (cleanup,) = observed.named("auth:cleanup")
            assert cleanup.data["tokens_cleared"] == ["access_token", "refresh_token"]
            (disconnected,) = observed.named("disconnected")
            assert disconnected.data["code"] == 1000
            assert observed.named("publish:unsent") == []
            assert observed.named("connection:lost") == []  # its own shutdown is not a lost connection

            await eventually(
                lambda: s.gateway_journal.count("connection closed", code=1000) == 1,
                what="the gateway seeing a normal close",
            )
            # What may still run is the gateway keeping the detached session for its resume window.
            await eventually(lambda: client_tasks() == [], what="the client's tasks having finished")
            assert s.gateway_journal.count("connection opened") == 1
            with pytest.raises(ClientClosedError):
                await observed.client.connect()

    run(scenario)


def test_an_invalid_api_key_fails_after_exactly_one_token_request() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client(api_key=UNKNOWN_KEY)
            await observed.client.connect()
            await eventually(
                lambda: observed.client.state is ConnectionState.FAILED, what="the client failing"
            )
            assert observed.states() == ["connecting", "authenticating", "failed"]
            assert s.auth.requests_seen == 1
            (classified,) = observed.named("error:classified")
            assert (classified.data["classification"], classified.data["retryable"]) == ("auth_401", False)
            assert [event.data["status"] for event in observed.named("auth:error")] == [401]
            assert s.gateway_journal.count("connection opened") == 0

    run(scenario)


def test_states_never_repeat_across_a_reconnect() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client()
            await ready(observed)
            assert await s.gateway.close_connections(CloseCode.SERVICE_RESTART, "restarting") == 1
            await eventually(lambda: bool(observed.named("session:resumed")), what="the session resuming")
            await eventually(lambda: observed.client.state is ConnectionState.READY, what="ready again")
            await observed.client.close()

            changes = observed.named("state:changed")
            assert observed.states().count("ready") == 2
            assert "reconnecting" in observed.states()
            previous = "initialized"
            for change in changes:
                assert change.data["previous"] == previous
                assert change.data["state"] != previous, f"{previous!r} was reported twice in a row"
                previous = change.data["state"]

    run(scenario)


def test_no_event_carries_the_api_key_or_a_token() -> None:
    async def scenario() -> None:
        async with services(access_lifetime_ms=300) as s:
            observed = s.client(token_refresh_fraction=0.3)
            refused = s.client(api_key=UNKNOWN_KEY)
            await ready(observed)
            await refused.client.connect()
            await eventually(
                lambda: refused.client.state is ConnectionState.FAILED, what="the bad key failing"
            )
            await eventually(lambda: bool(observed.named("token:refreshed")), what="a token refresh")
            await eventually(lambda: s.gateway_journal.count("token renewed") >= 1, what="the renewal")
            await observed.client.publish("orders", {"qty": 1})
            await eventually(lambda: observed.client.pending == 0, what="the publish being acked")
            await observed.client.close()
            await refused.client.close()

            assert len(observed.tokens) >= 4  # the sign-in and at least one refresh, each a pair
            assert refused.tokens == []
            first_access = observed.tokens[0]
            assert observed.named("token:acquired")[0].data["token"] == fingerprint(first_access)

            text = repr(observed.events) + repr(refused.events)
            text += repr(list(s.gateway_journal)) + repr(list(s.auth_journal))
            for secret in [API_KEY, UNKNOWN_KEY, *observed.tokens]:
                assert secret not in text

    run(scenario)


# -- TLS: trusting an extra authority, and certificates that are not trusted ------------------------------


@pytest.fixture(scope="module")
def certificates() -> Iterator[CertificateAuthority]:
    authority = CertificateAuthority()
    yield authority
    authority.close()


def untrusted_certificate_error() -> httpx.ConnectError:
    """What httpx raises for a certificate it does not trust: its own error, with OpenSSL's behind it."""
    wrapped = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    wrapped.__cause__ = ssl.SSLCertVerificationError(1, "certificate verify failed")
    return wrapped


def test_an_untrusted_certificate_behind_a_transport_error_is_classified_not_retryable() -> None:
    classification = classify(untrusted_certificate_error())
    assert (classification.kind, classification.retryable) == ("certificate_untrusted", False)
    assert "certificate is not trusted" in classification.description
    # Any other connect failure stays a retryable network error.
    assert classify(httpx.ConnectError("connection refused")).retryable is True


def test_a_sign_in_error_for_an_untrusted_certificate_is_not_retryable() -> None:
    error = AuthError(None, "certificate_untrusted", "the auth service's certificate is not trusted (x)")
    assert error.retryable is False
    classification = classify(error)
    assert (classification.kind, classification.retryable) == ("certificate_untrusted", False)
    assert classification.description == "the auth service's certificate is not trusted (x)"


def test_the_tls_context_trusts_the_extra_authority_and_always_checks(
    certificates: CertificateAuthority,
) -> None:
    context = config(ca_file=str(certificates.ca_file)).tls_context()
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    organisations = [
        value for ca in context.get_ca_certs() for rdn in ca["subject"] for key, value in rdn
        if key == "organizationName"
    ]  # fmt: skip
    assert "Realtime acceptance suite test authority" in organisations
    assert "Realtime acceptance suite test authority" not in [
        value for ca in config().tls_context().get_ca_certs() for rdn in ca["subject"] for _, value in rdn
    ]


def test_a_ca_file_that_holds_no_certificate_is_refused(tmp_path: Path) -> None:
    not_a_certificate = tmp_path / "ca.pem"
    not_a_certificate.write_text("not a certificate\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="holds no usable certificate"):
        config(ca_file=str(not_a_certificate)).tls_context()


def token_manager(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[TokenManager, list[ClientEvent]]:
    events, seen = EventEmitter(), []
    events.add_listener(seen.append)
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return TokenManager("https://auth.example", API_KEY, http, events, 0.9), seen


def test_sign_in_against_an_untrusted_certificate_is_one_not_retryable_auth_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise untrusted_certificate_error()

    async def scenario() -> None:
        manager, seen = token_manager(handler)
        with pytest.raises(AuthError) as raised:
            await manager.ensure_token()
        assert (raised.value.error, raised.value.retryable) == ("certificate_untrusted", False)
        (reported,) = [event for event in seen if event.name == "auth:error"]
        assert (reported.data["status"], reported.data["error"], reported.data["retryable"]) == (
            None,
            "certificate_untrusted",
            False,
        )
        assert "the auth service's certificate is not trusted" in reported.data["description"]
        assert API_KEY not in repr(seen)

    run(scenario)


def test_a_refresh_against_an_untrusted_certificate_keeps_the_refresh_token_and_does_not_sign_in_again() -> (
    None
):
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        grant = httpx.Request("POST", request.url, content=request.content).read().decode()
        requests.append("refresh" if "refresh_token" in grant else "api_key")
        if len(requests) > 1:
            raise untrusted_certificate_error()
        return httpx.Response(200, json={"access_token": access, "refresh_token": "r1", "expires_in": 60})

    access = AUTHORITY.issue("client-7", ("prices",), 60_000)

    async def scenario() -> None:
        manager, seen = token_manager(handler)
        manager.invalidate(await manager.ensure_token())
        with pytest.raises(AuthError) as raised:
            await manager.ensure_token()
        assert raised.value.error == "certificate_untrusted"
        assert requests == ["api_key", "refresh"]  # no sign-in with the API key behind the failed refresh
        assert [event.name for event in seen] == ["token:checked", "token:acquired", "auth:error"]
        assert manager.clear(forget_stored=False) == ["refresh_token"]

    run(scenario)


def supervisor_has_ended() -> bool:
    # The auth service's keep-alive handler may still run; what matters is that the client tried no more.
    return "client-supervisor" not in client_tasks()


def tls_handshakes(journal: Journal) -> Callable[[], None]:
    def hello() -> None:
        journal.record("tls handshake")

    return hello


def test_a_client_that_trusts_the_authority_works_over_https_and_wss(
    certificates: CertificateAuthority,
) -> None:
    async def scenario() -> None:
        auth_journal, gateway_journal = Journal("auth hellos"), Journal("gateway hellos")
        async with services(
            auth_tls=certificates.server_context(tls_handshakes(auth_journal)),
            gateway_tls=certificates.server_context(tls_handshakes(gateway_journal)),
        ) as s:
            assert s.auth.url.startswith("https://") and s.gateway.url.startswith("wss://")
            observed = s.client(ca_file=str(certificates.ca_file))
            await ready(observed)
            await observed.client.subscribe("prices")
            await eventually(lambda: bool(observed.named("subscribed")), what="the subscription")
            await s.gateway.publish("prices", {"n": 1})
            await eventually(lambda: len(observed.named("message")) == 1, what="the message")
            await observed.client.close()
            assert observed.client.state is ConnectionState.CLOSED
            assert auth_journal.count("tls handshake") >= 1
            assert gateway_journal.count("tls handshake") == 1
            assert observed.named("error:classified") == []

    run(scenario)


READER_KEY = "key-live-reader-51c0"


def test_a_refused_publish_is_reported_dropped_and_never_sent_again() -> None:
    async def scenario() -> None:
        async with services() as s:
            s.auth.register(READER_KEY, Account(subject="rita", channels=("*",), publish_channels=()))
            observed = s.client(api_key=READER_KEY)
            await ready(observed)
            message_id = await observed.client.publish("announcements", {"text": "hello"})
            await eventually(lambda: bool(observed.named("publish:refused")), what="the refusal")

            (refused,) = observed.named("publish:refused")
            assert refused.data == {
                "id": message_id,
                "channel": "announcements",
                "code": "forbidden",
                "reason": "no right to post to 'announcements'",
            }
            assert observed.client.pending == 0
            assert observed.named("server:error") == []  # reported as a refusal, not as a stray error

            # A reconnect resends whatever is pending: the refused message is not among it.
            assert await s.gateway.close_connections(CloseCode.SERVICE_RESTART, "restarting") == 1
            await eventually(lambda: bool(observed.named("session:resumed")), what="the session resuming")
            await eventually(lambda: observed.client.state is ConnectionState.READY, what="ready again")
            await observed.client.close()
            assert s.gateway_journal.count("publish refused", id=message_id) == 1
            assert observed.named("publish:resent") == []
            assert observed.named("publish:unsent") == []

    run(scenario)


def test_an_untrusted_certificate_at_sign_in_ends_the_client_after_one_attempt(
    certificates: CertificateAuthority,
) -> None:
    async def scenario() -> None:
        hellos = Journal("hellos")
        async with services(
            auth_tls=certificates.server_context(tls_handshakes(hellos)),
            gateway_tls=certificates.server_context(tls_handshakes(hellos)),
        ) as s:
            observed = s.client()  # trusts only the system's authorities
            await observed.client.connect()
            await eventually(
                lambda: observed.client.state is ConnectionState.FAILED, what="the client failing"
            )
            await eventually(supervisor_has_ended, what="the client's attempts having ended")
            assert observed.states() == ["connecting", "authenticating", "failed"]
            (reported,) = observed.named("auth:error")
            assert (reported.data["error"], reported.data["retryable"]) == ("certificate_untrusted", False)
            (classified,) = observed.named("error:classified")
            assert (classified.data["classification"], classified.data["retryable"]) == (
                "certificate_untrusted",
                False,
            )
            assert "the auth service's certificate is not trusted" in observed.client.last_error.description
            assert observed.named("reconnect:scheduled") == []
            assert hellos.count("tls handshake") == 1  # one attempt at the auth service, none at the gateway
            assert s.auth.requests_seen == 0
            assert s.gateway_journal.count("connection opened") == 0

    run(scenario)


def test_an_error_naming_a_message_the_client_does_not_hold_is_a_server_error() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client()
            await ready(observed)
            await receive(
                observed.client._link,
                observed.client._link.connection,  # type: ignore[arg-type]
                '{"type": "error", "code": "forbidden", "message": "no", "id": "not-mine"}',
            )
            assert [event.data for event in observed.named("server:error")] == [
                {"code": "forbidden", "message": "no"}
            ]
            assert observed.named("publish:refused") == []

    run(scenario)


def test_an_untrusted_certificate_at_the_gateway_ends_the_client_after_one_attempt(
    certificates: CertificateAuthority,
) -> None:
    async def scenario() -> None:
        hellos = Journal("gateway hellos")
        async with services(gateway_tls=certificates.server_context(tls_handshakes(hellos))) as s:
            observed = s.client()  # signs in over plain http, then meets a certificate it does not trust
            await observed.client.connect()
            await eventually(
                lambda: observed.client.state is ConnectionState.FAILED, what="the client failing"
            )
            await eventually(supervisor_has_ended, what="the client's attempts having ended")
            assert observed.states() == ["connecting", "authenticating", "failed"]
            assert len(observed.named("token:acquired")) == 1 and observed.named("auth:error") == []
            (classified,) = observed.named("error:classified")
            assert (classified.data["classification"], classified.data["retryable"]) == (
                "certificate_untrusted",
                False,
            )
            reason = observed.named("state:changed")[-1].data["reason"]
            assert "certificate is not trusted" in reason
            assert observed.named("reconnect:scheduled") == []
            assert hellos.count("tls handshake") == 1
            assert s.gateway_journal.count("connection opened") == 0
            assert s.gateway.session_ids() == []

    run(scenario)


def test_the_client_names_itself_to_the_auth_service_by_its_client_id() -> None:
    async def scenario() -> None:
        async with services(access_lifetime_ms=300) as s:
            seeded, same_seed = s.client(random_seed=7), s.client(random_seed=7)
            other_seed = s.client(random_seed=8)
            named = s.client(client_id="kiosk-3", token_refresh_fraction=0.3)
            assert seeded.client.client_id == same_seed.client.client_id
            assert seeded.client.client_id.startswith("rtc-")
            assert other_seed.client.client_id != seeded.client.client_id
            assert named.client.client_id == "kiosk-3"

            await ready(named)
            await eventually(lambda: bool(named.named("token:refreshed")), what="a token refresh")
            await ready(seeded)
            callers = {
                (entry.detail["grant_type"], entry.detail["caller"])
                for entry in s.auth_journal.entries("token requested")
            }
            assert {
                ("api_key", "kiosk-3"),
                ("refresh_token", "kiosk-3"),
                ("api_key", seeded.client.client_id),
            } <= callers
            assert {caller for _, caller in callers} == {"kiosk-3", seeded.client.client_id}

    run(scenario)
