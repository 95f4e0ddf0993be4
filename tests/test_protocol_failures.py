"""Protocol failures: how frames are judged and closed over, how the client classifies what it closed itself,
and the whole client against the real gateway when messages are too big, frames unusable, kinds unknown,
versions or compression not shared. Plus the plain helpers the scenarios use.

Waits are conditions polled against a deadline, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.frames import Close
from websockets.http11 import Response

from realtime_protocol import (
    CloseCode,
    ProtocolError,
    UnknownMessageTypeError,
    decode,
    describe_close_code,
    encode,
)
from reference_client import (
    BackoffPolicy,
    ClientConfig,
    ClientEvent,
    ConfigError,
    ConnectionState,
    RealtimeClient,
)
from reference_client.errors import classify
from support.areas import protocol_failures as protocol
from support.drivers.base import ObservedEvent
from support.services.auth.accounts import Account
from support.services.auth.service import AuthService
from support.services.auth.tokens import TokenAuthority
from support.services.gateway import Gateway
from support.services.journal import Journal
from tests.polling import eventually

API_KEY = "key-live-protocol-0b4e"
AUTHORITY = TokenAuthority()
GATEWAY_LIMIT = 4096


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


# -- frames and close codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x00\x01", CloseCode.UNSUPPORTED_DATA),
        ("not json", CloseCode.INVALID_PAYLOAD),
        ("[1, 2]", CloseCode.INVALID_PAYLOAD),
        ('{"channel": "prices"}', CloseCode.PROTOCOL_ERROR),
        ('{"type": "message", "channel": "prices"}', CloseCode.PROTOCOL_ERROR),
    ],
)
def test_each_unusable_frame_names_the_close_code_rfc_6455_gives_it(frame: str | bytes, code: int) -> None:
    with pytest.raises(ProtocolError) as raised:
        decode(frame)
    assert raised.value.close_code == code


def test_the_new_close_codes_are_described_in_words() -> None:
    assert describe_close_code(1003) == "1003 (a kind of data that cannot be accepted)"
    assert describe_close_code(1007) == "1007 (a message whose data did not fit its kind)"


def test_an_unknown_type_stays_ignorable() -> None:
    with pytest.raises(UnknownMessageTypeError):
        decode(protocol.UNKNOWN_FRAME)


# -- classification -----------------------------------------------------------------------------------------


def test_a_close_the_client_started_is_its_own_and_worth_retrying() -> None:
    own = classify(ConnectionClosedError(None, Close(1009, "frame exceeds limit of 10 bytes")))
    assert (own.kind, own.retryable, own.close_code) == ("client_closed_1009", True, 1009)
    assert own.description.startswith("the client closed the connection: 1009 (a message was too big)")
    answered = classify(ConnectionClosedError(Close(1009, "too big"), Close(1009, "too big"), True))
    assert (answered.kind, answered.retryable) == ("closed_1009", True)


def test_a_400_on_the_upgrade_is_not_worth_retrying_and_says_why() -> None:
    body = b"Failed to open a WebSocket connection: no protocol version in common: the gateway speaks v9.\n"
    refused = classify(InvalidStatus(Response(400, "Bad Request", Headers(), body)))
    assert (refused.kind, refused.retryable) == ("handshake_400", False)
    assert refused.description == (
        "the gateway refused the request (HTTP 400): no protocol version in common: the gateway speaks v9"
    )


def test_a_400_never_repeats_a_secret_from_its_body() -> None:
    body = b"Failed to open a WebSocket connection: bad header Authorization: Bearer abc.def.ghi"
    refused = classify(InvalidStatus(Response(400, "Bad Request", Headers(), body)))
    assert "abc.def.ghi" not in refused.description


@pytest.mark.parametrize("names", [("realtime v2",), ("",), ("a,b",)])
def test_subprotocol_names_must_be_tokens(names: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError, match="subprotocols"):
        ClientConfig("http://127.0.0.1:1", "ws://127.0.0.1:2", "key", subprotocols=names)


# -- the whole client against the real gateway --------------------------------------------------------------


@dataclass
class Rig:
    auth: AuthService
    gateway: Gateway
    journal: Journal
    clients: list[RealtimeClient] = field(default_factory=list)
    events: list[ClientEvent] = field(default_factory=list)

    def client(self, **overrides: Any) -> RealtimeClient:
        settings: dict[str, Any] = {
            "heartbeat_interval_ms": 50,
            "heartbeat_timeout_ms": 500,
            "backoff": BackoffPolicy(initial_ms=10, multiplier=2, max_ms=40, jitter=0.2),
            "retry_limit": 3,
            "random_seed": 11,
            **overrides,
        }
        client = RealtimeClient(ClientConfig(self.auth.url, self.gateway.url, API_KEY, **settings))
        client.add_listener(self.events.append)
        self.clients.append(client)
        return client

    def named(self, name: str) -> list[ClientEvent]:
        return [event for event in self.events if event.name == name]


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    auth = AuthService(
        AUTHORITY, Journal("auth service"), access_lifetime_ms=60_000, refresh_lifetime_ms=60_000
    )
    journal = Journal("gateway")
    gateway = Gateway(
        AUTHORITY, journal, resume_window_ms=2_000, rng=random.Random(5), max_frame_bytes=GATEWAY_LIMIT
    )
    setup = Rig(auth, gateway, journal)
    try:
        await auth.start()
        auth.register(API_KEY, Account(subject="pat"))
        await gateway.start()
        yield setup
    finally:
        for client in setup.clients:
            await client.close("the test ended")
        await gateway.close()
        await auth.stop()
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def ready(setup: Rig, client: RealtimeClient, channel: str = "prices") -> None:
    await client.connect()
    await client.subscribe(channel)
    await eventually(lambda: client.state is ConnectionState.READY, what="the client being ready")
    await eventually(lambda: bool(setup.named("subscribed")), what="the subscription")


def test_a_frame_that_is_not_json_is_closed_over_with_1007_and_the_session_resumes() -> None:
    async def scenario() -> None:
        async with rig() as s:
            client = s.client()
            await ready(s, client)
            await s.gateway.publish("prices", {"n": 1})
            assert (
                await s.gateway.misbehaviour.send_to_clients("not json", "a text frame that is not JSON") == 1
            )
            await s.gateway.publish("prices", {"n": 2})
            await eventually(lambda: bool(s.named("session:resumed")), what="the session resuming")
            await eventually(lambda: len(s.named("message")) == 2, what="both messages")

            (error,) = s.named("protocol:error")
            assert error.data["code"] == CloseCode.INVALID_PAYLOAD
            assert "not valid JSON" in error.data["reason"]
            classified = s.named("error:classified")[0].data
            assert (classified["classification"], classified["retryable"]) == ("unusable_frame", True)
            assert s.journal.count("connection closed", code=int(CloseCode.INVALID_PAYLOAD)) == 1
            assert [event.data["data"] for event in s.named("message")] == [{"n": 1}, {"n": 2}]

    run(scenario)


def test_unknown_kinds_are_ignored_with_one_warning_and_the_connection_stays(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        async with rig() as s:
            client = s.client()
            await ready(s, client)
            for _ in range(3):
                await s.gateway.misbehaviour.send_to_clients(
                    protocol.UNKNOWN_FRAME, "a message of an unknown kind"
                )
            await s.gateway.publish("prices", {"n": 1})
            await eventually(lambda: bool(s.named("message")), what="the message after them")
            assert len(s.named("protocol:ignored")) == 3
            assert s.named("connection:lost") == []

    with caplog.at_level(logging.DEBUG, logger="reference_client"):
        run(scenario)
    ignored = [record for record in caplog.records if "ignored a frame" in record.getMessage()]
    assert [record.levelno for record in ignored] == [logging.WARNING, logging.DEBUG, logging.DEBUG]


def test_a_publish_too_big_for_the_gateway_is_refused_by_id_and_the_others_go_through() -> None:
    async def scenario() -> None:
        async with rig() as s:
            client = s.client()
            await ready(s, client)
            before = await client.publish("orders", {"text": "small"})
            big = await client.publish("orders", protocol.oversized(random.Random(1), GATEWAY_LIMIT))
            after = await client.publish("orders", {"text": "also small"})
            await eventually(lambda: client.pending == 0, what="nothing pending")
            await eventually(lambda: client.state is ConnectionState.READY, what="ready again")

            (refused,) = s.named("publish:refused")
            assert (refused.data["id"], refused.data["code"]) == (big, "too_big")
            accepted = [
                s.journal.count("publish accepted", id=message_id) for message_id in (before, big, after)
            ]
            assert accepted == [1, 0, 1]
            # Whatever the gateway had not acknowledged when it hung up is sent again, except the big one.
            resent = [event.data["id"] for event in s.named("publish:resent")]
            assert after in resent and big not in resent
            assert len(s.named("session:resumed")) == 1

    run(scenario)


def test_a_message_too_big_for_the_client_is_dropped_by_the_gateway_on_resume_and_reported_as_a_gap() -> None:
    async def scenario() -> None:
        async with rig() as s:
            client = s.client(max_message_bytes=2048)
            await ready(s, client)
            await s.gateway.publish("prices", {"n": 1})
            await s.gateway.publish("prices", protocol.oversized(random.Random(2), 2048))
            await s.gateway.publish("prices", {"n": 3})
            await eventually(lambda: len(s.named("message")) == 2, what="the two small messages")

            assert [event.data["seq"] for event in s.named("message")] == [1, 3]
            assert [(e.data["expected"], e.data["received"]) for e in s.named("message:gap")] == [(2, 3)]
            assert s.named("error:classified")[0].data["classification"] == "client_closed_1009"
            assert [entry.detail["seq"] for entry in s.journal.entries("message dropped")] == [2]

    run(scenario)


@pytest.mark.parametrize(
    ("speaks", "offers", "agreed"),
    [
        (("realtime.v2", "realtime.v1"), ("realtime.v2", "realtime.v1"), "realtime.v2"),
        (("realtime.v1",), ("realtime.v2", "realtime.v1"), "realtime.v1"),
        (("realtime.v2", "realtime.v1"), (), None),  # a client from before versions: served as before
    ],
)
def test_the_newest_version_both_speak_is_agreed(
    speaks: tuple[str, ...], offers: tuple[str, ...], agreed: str | None
) -> None:
    async def scenario() -> None:
        async with rig() as s:
            s.gateway.subprotocols = speaks
            client = s.client(subprotocols=offers)
            await ready(s, client)
            assert [event.data["subprotocol"] for event in s.named("protocol:negotiated")] == [agreed]
            assert [entry.detail["subprotocol"] for entry in s.journal.entries("protocol agreed")] == [agreed]

    run(scenario)


def test_no_version_in_common_fails_once_with_the_gateways_reason() -> None:
    async def scenario() -> None:
        async with rig() as s:
            s.gateway.subprotocols = ("realtime.v3",)
            client = s.client()
            await client.connect()
            await eventually(lambda: client.state is ConnectionState.FAILED, what="the client giving up")
            assert s.journal.count("handshake refused", status=400) == 1
            assert client.last_error is not None and not client.last_error.retryable
            assert "no protocol version in common" in client.last_error.description
            assert s.named("reconnect:scheduled") == []

    run(scenario)


@pytest.mark.parametrize(
    ("gateway_compresses", "client_offers", "agreed"),
    [(True, True, "permessage-deflate"), (True, False, None), (False, True, None)],
)
def test_compression_is_used_only_when_both_want_it_and_loses_nothing(
    gateway_compresses: bool, client_offers: bool, agreed: str | None
) -> None:
    async def scenario() -> None:
        async with rig() as s:
            s.gateway.compression = gateway_compresses
            client = s.client(compression=client_offers)
            await ready(s, client)
            payloads = protocol.mixed_payloads(random.Random(3), 6, 1024)
            for payload in payloads:
                await s.gateway.publish("prices", payload)
            await eventually(lambda: len(s.named("message")) == 6, what="every message")
            assert [event.data["data"] for event in s.named("message")] == payloads
            assert [event.data["compression"] for event in s.named("protocol:negotiated")] == [agreed]

    run(scenario)


# -- the scenarios' helpers ---------------------------------------------------------------------------------


def test_versions_are_read_from_words() -> None:
    assert protocol.protocol_versions("version 2 and version 1") == ("realtime.v2", "realtime.v1")
    assert protocol.protocol_versions("only version 3") == ("realtime.v3",)
    assert protocol.version_in_words("realtime.v1") == "version 1"
    assert protocol.version_in_words(None) == "no version"
    with pytest.raises(ValueError, match="No protocol version"):
        protocol.protocol_versions("the latest one")


def test_mixed_payloads_alternate_and_are_reproducible() -> None:
    first = protocol.mixed_payloads(random.Random(9), 4, 256)
    assert first == protocol.mixed_payloads(random.Random(9), 4, 256)
    assert [payload["kind"] for payload in first] == ["compressible", "incompressible"] * 2
    assert all(len(payload["body"]) == 256 for payload in first)
    assert len(encode({"data": protocol.oversized(random.Random(9), 1000)})) > 1000


def test_digests_tell_payloads_apart_without_showing_them() -> None:
    payloads = protocol.mixed_payloads(random.Random(9), 2, 64)
    shown = protocol.digests(payloads)
    assert shown[0].startswith("#1 compressible 64 chars ")
    assert shown != protocol.digests(list(reversed(payloads)))
    assert all(payload["body"] not in line for payload, line in zip(payloads, shown, strict=True))


def test_own_hang_ups_are_told_from_closes_the_gateway_started() -> None:
    def classified(kind: str, at: float) -> ObservedEvent:
        return ObservedEvent(
            "error:classified", {"classification": kind, "close_code": 1, "retryable": True}, at
        )

    events = [
        classified("unusable_frame", 1.0),
        classified("closed_1009", 2.0),
        classified("client_closed_1009", 3.0),
    ]
    assert [hang_up.classification for hang_up in protocol.own_hang_ups(events, since=0.5)] == [
        "unusable_frame",
        "client_closed_1009",
    ]
    assert protocol.own_hang_ups(events, since=2.5)[0].classification == "client_closed_1009"
