"""Error classification: the client's verdict on each failure and the pause it recommends, the gateway's
programmed troubles, the dead-end addresses, and the scenario vocabulary that arranges them.

Waits are conditions polled against a deadline, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.http11 import Response

from realtime_protocol import CloseCode, MessageType, decode, encode
from reference_client import classify, classify_close
from reference_client.errors import retry_after_seconds
from support.areas.error_classification import (
    OPENING_TROUBLES,
    SESSION_TROUBLES,
    arrange_trouble,
    attempts_and_retries,
    earliest_retry_ms,
    far_end_attempts,
    next_attempt,
    worth_retrying,
)
from support.drivers.base import ObservedEvent
from support.services.auth.tokens import TokenAuthority
from support.services.dead_ends import UNRESOLVABLE_HOST, RefusingPort, SilentHost
from support.services.gateway import Gateway, GatewayTrouble
from support.services.journal import Journal, JournalEntry
from tests.polling import eventually

AUTHORITY = TokenAuthority()
LONGEST_BACKOFF_MS = 400


def refused_upgrade(status: int, retry_after: str | None = None) -> InvalidStatus:
    headers = Headers({"Retry-After": retry_after} if retry_after is not None else {})
    return InvalidStatus(Response(status, "refused", headers))


# -- the client's verdict and pause ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "retryable", "pause_ms"),
    [
        (401, None, False, 0),
        (403, "5", False, 0),  # a pause asked for does not make refused credentials worth retrying
        (429, "0.8", True, 800),
        (429, None, True, LONGEST_BACKOFF_MS),
        (500, None, True, 0),
        (502, None, True, 0),
        (503, None, True, LONGEST_BACKOFF_MS),
        (503, "2", True, 2000),
        (503, "0", True, 0),  # the gateway's own word wins, even "now"
    ],
)
def test_a_refused_upgrade_is_classified_with_the_pause_it_deserves(
    status: int, retry_after: str | None, retryable: bool, pause_ms: float
) -> None:
    classification = classify(refused_upgrade(status, retry_after)).with_pause_for(LONGEST_BACKOFF_MS)
    assert (classification.kind, classification.retryable) == (f"handshake_{status}", retryable)
    if retryable:
        assert classification.recommended_delay_ms == pause_ms


@pytest.mark.parametrize(
    ("code", "retryable", "pause_ms"),
    [
        (1001, True, 0),
        (1002, False, 0),
        (1008, False, 0),
        (1009, True, 0),
        (1011, True, 0),
        (1012, True, 0),
        (1013, True, LONGEST_BACKOFF_MS),
        (4001, True, 0),
    ],
)
def test_close_codes_get_a_verdict_and_a_pause(code: int, retryable: bool, pause_ms: float) -> None:
    classification = classify_close(code).with_pause_for(LONGEST_BACKOFF_MS)
    assert classification.retryable is retryable
    assert classification.recommended_delay_ms == pause_ms


def test_a_name_that_does_not_resolve_is_retried_after_a_longer_pause() -> None:
    classification = classify(socket.gaierror(-2, "Name or service not known"))
    assert (classification.kind, classification.retryable) == ("name_not_resolved", True)
    assert classification.recommended_delay_ms == 0
    assert classification.with_pause_for(LONGEST_BACKOFF_MS).recommended_delay_ms == LONGEST_BACKOFF_MS


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), (" 0.25 ", 0.25), ("0", 0.0), (None, None), ("soon", None), ("-1", None), ("nan", None),
     ("inf", None), ("Wed, 21 Oct 2015 07:28:00 GMT", None)],
)  # fmt: skip
def test_retry_after_is_read_as_seconds_or_ignored(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


# -- the gateway's programmed troubles -------------------------------------------------------------------


async def started_gateway() -> tuple[Gateway, Journal]:
    journal = Journal("gateway")
    gateway = Gateway(AUTHORITY, journal, resume_window_ms=1_000, rng=random.Random(1))
    await gateway.start()
    return gateway, journal


async def open_session(gateway: Gateway) -> Any:
    ws = await connect(
        gateway.url,
        additional_headers={"Authorization": f"Bearer {AUTHORITY.issue('alice', ('*',), 60_000)}"},
        ping_interval=None,
        open_timeout=2,
        close_timeout=1,
    )
    await ws.send(encode({"type": MessageType.HELLO}))
    assert decode(await asyncio.wait_for(ws.recv(), 2))["type"] == MessageType.WELCOME
    return ws


def test_the_gateway_refuses_the_next_upgrade_with_the_programmed_status_then_behaves() -> None:
    async def scenario() -> None:
        gateway, journal = await started_gateway()
        try:
            gateway.misbehaviour.program(GatewayTrouble(status=429, retry_after_s=0.75))
            with pytest.raises(InvalidStatus) as refused:
                await open_session(gateway)
            assert refused.value.response.status_code == 429
            assert refused.value.response.headers["Retry-After"] == "0.75"
            assert journal.count("upgrade refused", status=429, retry_after_s=0.75) == 1
            ws = await open_session(gateway)  # only the next one
            await ws.close()
        finally:
            await gateway.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("code", [1008, 1013, 4009, 1006])
def test_the_gateway_ends_the_next_session_with_the_programmed_close_code(code: int) -> None:
    async def scenario() -> None:
        gateway, journal = await started_gateway()
        try:
            gateway.misbehaviour.program(GatewayTrouble(close_code=code, reason="on purpose"))
            ws = await open_session(gateway)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 2)
            received = closed.value.rcvd
            if code == CloseCode.ABNORMAL:
                assert received is None  # no close frame at all
            else:
                assert received is not None and (received.code, received.reason) == (code, "on purpose")
            await eventually(lambda: journal.count("connection closed", code=code) == 1)
            assert journal.count("session ended by the gateway", code=code) == 1
        finally:
            await gateway.close()

    asyncio.run(scenario())


def test_a_reset_forgets_troubles_not_yet_played() -> None:
    async def scenario() -> None:
        gateway, journal = await started_gateway()
        try:
            gateway.misbehaviour.program(GatewayTrouble(status=503))
            await gateway.reset()
            ws = await open_session(gateway)
            await ws.close()
            assert journal.count("upgrade refused") == 0
        finally:
            await gateway.close()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "trouble",
    [{}, {"status": 503, "close_code": 1013}, {"status": 200}, {"status": 599}, {"close_code": 1000}],
    ids=str,
)
def test_a_trouble_that_makes_no_sense_is_refused_in_one_line(trouble: dict[str, int]) -> None:
    with pytest.raises(ValueError) as refused:
        GatewayTrouble(**trouble)
    assert "\n" not in str(refused.value)


# -- dead ends -------------------------------------------------------------------------------------------


def test_a_refusing_port_refuses_and_a_silent_host_accepts_and_never_answers() -> None:
    async def scenario() -> None:
        refusing = RefusingPort()
        try:
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", refusing.port)
        finally:
            refusing.close()

        journal = Journal("network")
        silent = SilentHost(journal)
        await silent.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", silent.port)
        writer.write(b"GET /realtime HTTP/1.1\r\n\r\n")
        await eventually(lambda: journal.count("connection left unanswered") == 1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(1), 0.2)  # a bounded wait for something that must not come
        await silent.close()
        assert await reader.read() == b""  # closing the host hangs up on what it held
        writer.close()
        assert silent.accepted == 1

    asyncio.run(scenario())


def test_the_unresolvable_name_is_reserved_never_to_resolve() -> None:
    assert UNRESOLVABLE_HOST.endswith(".invalid")
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo(UNRESOLVABLE_HOST, 443)


# -- the scenario vocabulary ---------------------------------------------------------------------------


class FakeSettings:
    backoff_max_ms = 400


def test_unknown_words_are_refused_in_one_line_naming_what_is_known() -> None:
    with pytest.raises(ValueError, match=r"Known: .*the gateway is restarting"):
        arrange_trouble("session", "the moon is full", None, FakeSettings())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="worth retrying"):
        worth_retrying("maybe")
    with pytest.raises(ValueError, match='Known: "never"; "at once"'):
        earliest_retry_ms("eventually", FakeSettings(), 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="never had the gateway ask for a pause"):
        earliest_retry_ms("after the pause it was asked for", FakeSettings(), 0)  # type: ignore[arg-type]


def test_the_earliest_retry_in_words_is_a_pause_in_milliseconds() -> None:
    settings: Any = FakeSettings()
    assert earliest_retry_ms("never", settings, 0) is None
    assert earliest_retry_ms("at once", settings, 0) == 0
    assert earliest_retry_ms("after a longer pause", settings, 0) == 400
    assert earliest_retry_ms("after the pause it was asked for", settings, 800) == 800


def test_attempts_and_the_next_one_are_read_from_the_client_events() -> None:
    events = [
        ObservedEvent("state:changed", {"state": "connecting"}, at=1.0),
        ObservedEvent("error:classified", {"retryable": True}, at=2.0),
        ObservedEvent("reconnect:scheduled", {"delay_ms": 0}, at=2.0),
        ObservedEvent("state:changed", {"state": "reconnecting"}, at=2.0),
        ObservedEvent("state:changed", {"state": "connecting"}, at=3.0),
    ]
    assert attempts_and_retries(events) == (2, 1)
    attempt = next_attempt(events, 2.0)
    assert attempt is not None and attempt.at == 3.0
    assert next_attempt(events, 3.5) is None


def test_every_trouble_has_plain_words() -> None:
    for name in [*OPENING_TROUBLES, *SESSION_TROUBLES]:
        assert name == name.lower() and not any(ch.isdigit() for ch in name), name


def test_attempts_at_the_far_end_count_once_each_over_tls_or_not() -> None:
    def seen(*kinds: tuple[str, str]) -> list[JournalEntry]:
        return [JournalEntry(at=float(n), source=source, kind=kind) for n, (source, kind) in enumerate(kinds)]

    handshake, opened = ("gateway", "tls handshake"), ("gateway", "connection opened")
    assert far_end_attempts(seen(opened, ("gateway", "session started"))) == 1
    assert far_end_attempts(seen(handshake, opened, handshake, ("gateway", "upgrade refused"))) == 2
    assert far_end_attempts(seen(handshake)) == 1  # a certificate refused: the handshake is all there is
    assert (
        far_end_attempts(seen(("network", "connection left unanswered"), ("auth service", "token requested")))
        == 1
    )
    assert far_end_attempts(seen(("network", "address refuses connections"))) == 0
