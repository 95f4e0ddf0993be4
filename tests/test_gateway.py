"""The mock gateway, driven over real loopback WebSockets by a raw client speaking the protocol by hand.

Waits are conditions polled against a deadline, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from realtime_protocol import CloseCode, MessageType, decode, encode
from support.services.auth.tokens import InvalidTokenError, TokenAuthority
from support.services.gateway import Gateway
from support.services.journal import Journal
from tests.polling import eventually

# One signing key for the whole module: key generation is the only slow part of a TokenAuthority.
AUTHORITY = TokenAuthority()


def token(subject: str = "alice", channels: tuple[str, ...] = ("*",), lifetime_ms: int = 60_000) -> str:
    return AUTHORITY.issue(subject, channels, lifetime_ms)


def is_expired(presented: str) -> bool:
    try:
        AUTHORITY.verify(presented)
    except InvalidTokenError:
        return True
    return False


async def receive(ws: ClientConnection, within: float = 2.0) -> dict[str, Any]:
    return decode(await asyncio.wait_for(ws.recv(), within))


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(encode(message))


async def closure(ws: ClientConnection, within: float = 2.0) -> ConnectionClosed:
    """How the connection ended; fails if a frame arrives instead or it stays open."""
    try:
        frame = await asyncio.wait_for(ws.recv(), within)
    except ConnectionClosed as closed:
        return closed
    pytest.fail(f"expected the connection to close, got the frame {frame!r}")


@dataclass
class Rig:
    gateway: Gateway
    journal: Journal
    sockets: list[ClientConnection] = field(default_factory=list)

    async def open(self, presented: str | None) -> ClientConnection:
        headers = {"Authorization": f"Bearer {presented}"} if presented else {}
        ws = await connect(
            self.gateway.url, additional_headers=headers, ping_interval=None, open_timeout=2, close_timeout=1
        )
        self.sockets.append(ws)
        return ws

    async def session(
        self, presented: str | None = None, resume: dict[str, Any] | None = None
    ) -> tuple[ClientConnection, dict[str, Any]]:
        """A connection that has said hello, and the welcome it got."""
        ws = await self.open(presented or token())
        hello: dict[str, Any] = {"type": MessageType.HELLO}
        if resume is not None:
            hello["resume"] = resume
        await send(ws, hello)
        welcome = await receive(ws)
        assert welcome["type"] == MessageType.WELCOME, welcome
        return ws, welcome

    async def subscribe(self, ws: ClientConnection, channel: str) -> None:
        await send(ws, {"type": MessageType.SUBSCRIBE, "channel": channel})
        assert await receive(ws) == {"type": MessageType.SUBSCRIBED, "channel": channel}

    async def hang_up(self, ws: ClientConnection) -> None:
        """Close normally and wait until the gateway has let go of the connection."""
        closed_before = self.journal.count("connection closed")
        await ws.close()
        await eventually(
            lambda: self.journal.count("connection closed") > closed_before,
            what="the gateway seeing the close",
        )


@contextlib.asynccontextmanager
async def rig(resume_window_ms: int = 5_000) -> AsyncIterator[Rig]:
    journal = Journal("gateway")
    gateway = Gateway(AUTHORITY, journal, resume_window_ms=resume_window_ms, rng=random.Random(3))
    setup = Rig(gateway, journal)
    try:
        await gateway.start()
        yield setup
    finally:
        for ws in setup.sockets:
            await ws.close()
        await gateway.close()
    assert asyncio.all_tasks() == {asyncio.current_task()}


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_port_is_unknown_before_start() -> None:
    gateway = Gateway(AUTHORITY, Journal("gateway"), resume_window_ms=1, rng=random.Random(0))
    assert not gateway.running
    with pytest.raises(RuntimeError, match="not been started"):
        _ = gateway.port


def test_handshake_without_a_token_is_refused_with_401() -> None:
    async def scenario() -> None:
        async with rig() as r:
            with pytest.raises(InvalidStatus) as refused:
                await r.open(None)
            assert refused.value.response.status_code == 401
            assert r.journal.count("handshake refused", status=401, reason="no token was presented") == 1
            assert r.journal.count("connection opened") == 0
            assert r.gateway.session_ids() == []

    run(scenario)


def test_handshake_with_an_expired_token_is_refused_with_401() -> None:
    async def scenario() -> None:
        async with rig() as r:
            expired = token(lifetime_ms=1)
            await eventually(lambda: is_expired(expired), what="the token expiring")
            with pytest.raises(InvalidStatus) as refused:
                await r.open(expired)
            assert refused.value.response.status_code == 401
            assert r.journal.count("handshake refused", status=401, reason="the token has expired") == 1

    run(scenario)


def test_handshake_with_a_token_signed_by_someone_else_is_refused_with_401() -> None:
    async def scenario() -> None:
        async with rig() as r:
            forged = TokenAuthority().issue("alice", ("*",), 60_000)
            with pytest.raises(InvalidStatus) as refused:
                await r.open(forged)
            assert refused.value.response.status_code == 401
            assert r.journal.count("handshake refused", reason="the token's signature does not match") == 1

    run(scenario)


def test_a_valid_token_gets_a_welcome_with_a_new_session() -> None:
    async def scenario() -> None:
        async with rig() as r:
            _, welcome = await r.session(token("alice"))
            session_id = welcome["session_id"]
            assert session_id.startswith("s-") and len(session_id) == 12
            assert welcome["resumed"] is False
            assert welcome["reason"] is None
            assert r.gateway.session_ids() == [session_id]
            assert r.journal.count("connection opened", connection=1, subject="alice") == 1
            assert r.journal.count("session started", session=session_id, resume_refused=None) == 1

            _, other = await r.session(token("bob"))
            assert other["session_id"] != session_id
            assert sorted(r.gateway.session_ids()) == sorted([session_id, other["session_id"]])

    run(scenario)


def test_the_first_frame_must_be_hello() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws = await r.open(token())
            await send(ws, {"type": MessageType.SUBSCRIBE, "channel": "prices"})
            closed = await closure(ws)
            assert closed.rcvd is not None and closed.rcvd.code == CloseCode.BAD_MESSAGE
            await eventually(lambda: r.journal.count("connection closed", code=4000, session=None) == 1)
            assert r.gateway.session_ids() == []

    run(scenario)


def test_subscribed_session_receives_numbered_messages_in_order() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, welcome = await r.session()
            await r.subscribe(ws, "prices")
            assert r.gateway.subscriptions_of(welcome["session_id"]) == {"prices"}
            assert r.journal.count("subscribed", session=welcome["session_id"], channel="prices") == 1

            assert await r.gateway.publish("other", {"ignored": True}) == 0
            for number in range(1, 6):
                assert await r.gateway.publish("prices", {"n": number}) == 1
            received = [await receive(ws) for _ in range(5)]
            assert [(m["type"], m["seq"], m["channel"], m["data"]) for m in received] == [
                (MessageType.MESSAGE, n, "prices", {"n": n}) for n in range(1, 6)
            ]

    run(scenario)


def test_subscribing_outside_the_token_channels_is_refused() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, welcome = await r.session(token(channels=("prices",)))
            await send(ws, {"type": MessageType.SUBSCRIBE, "channel": "orders"})
            error = await receive(ws)
            assert error["type"] == MessageType.ERROR and error["code"] == "forbidden"
            assert r.journal.count("subscribe refused", channel="orders") == 1
            await r.subscribe(ws, "prices")  # the connection carries on
            assert r.gateway.subscriptions_of(welcome["session_id"]) == {"prices"}

    run(scenario)


def test_client_publish_is_acked_and_deduplicated_by_id() -> None:
    async def scenario() -> None:
        async with rig() as r:
            publisher, sent_from = await r.session(token("alice"))
            listener, _ = await r.session(token("bob"))
            await r.subscribe(listener, "chat")
            publish = {"type": MessageType.PUBLISH, "id": "m-1", "channel": "chat", "data": {"text": "hi"}}

            await send(publisher, publish)
            assert await receive(publisher) == {"type": MessageType.ACK, "id": "m-1"}
            assert r.journal.count("publish accepted", session=sent_from["session_id"], id="m-1") == 1

            await send(publisher, publish)  # a resend, as after a reconnect
            assert await receive(publisher) == {"type": MessageType.ACK, "id": "m-1"}
            assert r.journal.count("publish duplicate", session=sent_from["session_id"], id="m-1") == 1
            assert r.journal.count("publish accepted") == 1

            # The duplicate was handled before its ack, so a marker published now is the very next
            # thing the listener gets: the message arrived once.
            await r.gateway.publish("chat", {"marker": True})
            first, second = await receive(listener), await receive(listener)
            assert (first["seq"], first["data"]) == (1, {"text": "hi"})
            assert (second["seq"], second["data"]) == (2, {"marker": True})

    run(scenario)


def test_a_post_to_a_channel_the_token_may_only_read_is_refused_and_delivered_to_no_one() -> None:
    async def scenario() -> None:
        async with rig() as r:
            reader, sent_from = await r.session(AUTHORITY.issue("rita", ("*",), 60_000, publish=()))
            listener, heard_by = await r.session(token("bob"))
            await r.subscribe(listener, "announcements")
            await r.subscribe(reader, "announcements")  # reading is still allowed
            publish = {"type": MessageType.PUBLISH, "id": "m-1", "channel": "announcements", "data": {"x": 1}}

            await send(reader, publish)
            refusal = await receive(reader)
            assert refusal == {
                "type": MessageType.ERROR,
                "code": "forbidden",
                "message": "no right to post to 'announcements'",
                "id": "m-1",
            }
            assert (
                r.journal.count("publish refused", session=sent_from["session_id"], subject="rita", id="m-1")
                == 1
            )
            assert r.journal.count("publish accepted") == 0
            assert r.gateway.messages_sent(heard_by["session_id"]) == 0

            await send(reader, publish)  # sent again: refused again, never remembered as accepted
            assert (await receive(reader))["code"] == "forbidden"
            assert r.journal.count("publish refused", id="m-1") == 2

            # The refusals came before this marker, so it is the first and only thing the listener gets.
            await r.gateway.publish("announcements", {"marker": True})
            first = await receive(listener)
            assert (first["seq"], first["data"]) == (1, {"marker": True})
            assert r.gateway.messages_sent(heard_by["session_id"]) == 1
            assert r.gateway.messages_sent("s-unknown") == 0

    run(scenario)


def test_publish_rights_are_checked_per_channel() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, _ = await r.session(AUTHORITY.issue("alice", ("*",), 60_000, publish=("orders",)))
            await send(ws, {"type": MessageType.PUBLISH, "id": "a", "channel": "orders", "data": 1})
            assert await receive(ws) == {"type": MessageType.ACK, "id": "a"}
            await send(ws, {"type": MessageType.PUBLISH, "id": "b", "channel": "prices", "data": 2})
            assert (await receive(ws))["id"] == "b"
            assert [entry.kind for entry in r.journal.entries() if entry.kind.startswith("publish")] == [
                "publish accepted",
                "publish refused",
            ]

    run(scenario)


def test_resume_within_the_window_replays_missed_messages_in_order() -> None:
    async def scenario() -> None:
        async with rig(resume_window_ms=5_000) as r:
            ws, welcome = await r.session()
            session_id = welcome["session_id"]
            await r.subscribe(ws, "prices")
            for number in range(1, 4):
                await r.gateway.publish("prices", {"n": number})
            assert [(await receive(ws))["seq"] for _ in range(3)] == [1, 2, 3]
            await r.hang_up(ws)

            for number in range(4, 7):
                assert await r.gateway.publish("prices", {"n": number}) == 1  # detached, still reached

            resumed, again = await r.session(resume={"session_id": session_id, "last_seq": 3})
            assert again == {
                "type": MessageType.WELCOME,
                "session_id": session_id,
                "resumed": True,
                "replay": 3,
            }
            replayed = [await receive(resumed) for _ in range(3)]
            assert [(m["seq"], m["data"]) for m in replayed] == [(n, {"n": n}) for n in range(4, 7)]
            assert r.journal.count("session resumed", session=session_id, last_seq=3, replayed=3) == 1

            # Live delivery carries on with the numbering.
            await r.gateway.publish("prices", {"n": 7})
            assert (await receive(resumed))["seq"] == 7
            assert r.gateway.session_ids() == [session_id]

    run(scenario)


def test_acknowledged_messages_are_not_replayed() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, welcome = await r.session()
            await r.subscribe(ws, "prices")
            for number in range(1, 4):
                await r.gateway.publish("prices", {"n": number})
            assert [(await receive(ws))["seq"] for _ in range(3)] == [1, 2, 3]
            await send(ws, {"type": MessageType.ACK, "seq": 2})
            await r.hang_up(ws)

            resume = {"session_id": welcome["session_id"], "last_seq": 0}
            resumed, again = await r.session(resume=resume)
            assert again["resumed"] is True and again["replay"] == 1
            assert (await receive(resumed))["seq"] == 3

    run(scenario)


def test_resume_after_the_window_starts_a_new_session() -> None:
    async def scenario() -> None:
        async with rig(resume_window_ms=30) as r:
            ws, welcome = await r.session()
            session_id = welcome["session_id"]
            await r.hang_up(ws)
            await eventually(
                lambda: r.journal.count("session expired", session=session_id) == 1,
                what="the session expiring",
            )
            assert r.gateway.session_ids() == []

            _, again = await r.session(resume={"session_id": session_id, "last_seq": 0})
            assert again["resumed"] is False
            assert again["session_id"] != session_id
            assert "resume window" in again["reason"]
            assert r.journal.count("session started", resume_refused=again["reason"]) == 1

    run(scenario)


def test_graceful_stop_closes_connections_with_1001() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, _ = await r.session()
            port = r.gateway.port
            await r.gateway.stop(mode="graceful", code=CloseCode.GOING_AWAY)
            closed = await closure(ws)
            assert closed.rcvd is not None and closed.rcvd.code == 1001
            assert ws.close_code == 1001
            assert not r.gateway.running
            assert r.journal.count("gateway stopped", mode="graceful", code=1001, kept_sessions=True) == 1
            assert r.journal.count("connection closed", code=1001) == 1
            with pytest.raises(OSError):
                await r.open(token())
            assert r.gateway.port == port

    run(scenario)


def test_crash_stop_drops_connections_without_a_close_frame() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, _ = await r.session()
            await r.gateway.stop(mode="crash")
            closed = await closure(ws)
            assert closed.rcvd is None
            assert ws.close_code == CloseCode.ABNORMAL
            assert r.journal.count("gateway stopped", mode="crash", code=None) == 1
            assert r.journal.count("connection closed", code=1006) == 1

    run(scenario)


@pytest.mark.parametrize("keep_sessions", [True, False], ids=["keeping-sessions", "losing-sessions"])
def test_restart_on_the_same_port(keep_sessions: bool) -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, welcome = await r.session()
            session_id = welcome["session_id"]
            await r.subscribe(ws, "prices")
            port = r.gateway.port

            await r.gateway.restart(mode="crash", keep_sessions=keep_sessions)
            await closure(ws)
            assert r.gateway.running and r.gateway.port == port
            assert r.gateway.session_ids() == ([session_id] if keep_sessions else [])
            await r.gateway.publish("prices", {"n": 1})  # while the client is away

            resumed, again = await r.session(resume={"session_id": session_id, "last_seq": 0})
            if keep_sessions:
                assert again["resumed"] is True and again["session_id"] == session_id
                assert (await receive(resumed))["data"] == {"n": 1}
                assert r.gateway.subscriptions_of(session_id) == {"prices"}
            else:
                assert again["resumed"] is False and again["session_id"] != session_id
                assert again["reason"] == "the session is unknown to the server"

    run(scenario)


def test_a_malformed_frame_gets_an_error_and_the_connection_stays_usable() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, _ = await r.session()
            await ws.send("{this is not json")
            error = await receive(ws)
            assert error["type"] == MessageType.ERROR and error["code"] == "bad_message"
            assert "not valid JSON" in error["message"]
            await send(ws, {"type": "teleport"})
            assert (await receive(ws))["code"] == "bad_message"
            assert r.journal.count("bad frame") == 2

            await r.subscribe(ws, "prices")
            await r.gateway.publish("prices", {"n": 1})
            assert (await receive(ws))["seq"] == 1

    run(scenario)


def test_frames_with_badly_typed_fields_are_refused_without_ending_the_connection() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, _ = await r.session()
            await send(ws, {"type": "ack", "seq": "x"})
            error = await receive(ws)
            assert error["code"] == "bad_message" and "'seq' as a whole number" in error["message"]

            await r.subscribe(ws, "prices")
            await r.gateway.publish("prices", {"n": 1})
            assert (await receive(ws))["seq"] == 1

    run(scenario)


def test_a_hello_with_a_broken_resume_is_refused_clearly() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws = await r.open(token("alice"))
            await send(ws, {"type": "hello", "resume": "yesterday"})
            error = await receive(ws)
            assert error["code"] == "bad_message" and "'resume' as an object or null" in error["message"]
            closed = await closure(ws)
            assert closed.rcvd is not None and closed.rcvd.code == CloseCode.BAD_MESSAGE
            assert r.journal.count("bad frame") == 1

    run(scenario)


def test_token_expiry_closes_a_live_connection_with_4001() -> None:
    async def scenario() -> None:
        async with rig() as r:
            short = token("alice", lifetime_ms=150)
            expires_at = AUTHORITY.verify(short).expires_at
            ws, welcome = await r.session(short)
            closed = await closure(ws)
            assert closed.rcvd is not None and closed.rcvd.code == CloseCode.TOKEN_EXPIRED
            assert time.time() >= expires_at
            assert r.journal.count("token expired", subject="alice") == 1
            await eventually(
                lambda: r.journal.count("connection closed", code=4001, session=welcome["session_id"]) == 1
            )

    run(scenario)


def test_an_auth_frame_with_a_fresh_token_postpones_expiry() -> None:
    async def scenario() -> None:
        async with rig() as r:
            short = token("alice", lifetime_ms=150)
            original_expiry = AUTHORITY.verify(short).expires_at
            ws, _ = await r.session(short)

            await send(ws, {"type": MessageType.AUTH, "token": "not-a-token"})
            refused = await receive(ws)
            assert refused["type"] == MessageType.ERROR and refused["code"] == "bad_token"
            assert r.journal.count("token renewal refused", reason="the token is malformed") == 1

            fresh = token("alice", lifetime_ms=450)
            renewed_expiry = AUTHORITY.verify(fresh).expires_at
            await send(ws, {"type": MessageType.AUTH, "token": fresh})
            await eventually(lambda: r.journal.count("token renewed") == 1, what="the renewal")

            closed = await closure(ws)
            assert closed.rcvd is not None and closed.rcvd.code == CloseCode.TOKEN_EXPIRED
            assert time.time() >= renewed_expiry > original_expiry
            assert r.journal.count("token expired") == 1

    run(scenario)


def test_an_auth_frame_for_another_user_closes_with_4003() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, _ = await r.session(token("alice"))
            await send(ws, {"type": MessageType.AUTH, "token": token("mallory")})
            closed = await closure(ws)
            assert closed.rcvd is not None and closed.rcvd.code == CloseCode.FORBIDDEN
            assert r.journal.count("token renewed") == 0

    run(scenario)


def test_reset_clears_sessions_and_journal() -> None:
    async def scenario() -> None:
        async with rig() as r:
            ws, welcome = await r.session()
            await r.subscribe(ws, "prices")
            await r.gateway.publish("prices", {"n": 1})
            assert (await receive(ws))["seq"] == 1
            assert list(r.journal) != []

            await r.gateway.reset()
            assert r.gateway.session_ids() == []
            assert list(r.journal) == []
            assert r.gateway.running
            await closure(ws)

            _, again = await r.session(resume={"session_id": welcome["session_id"], "last_seq": 0})
            assert again["resumed"] is False
            assert again["reason"] == "the session is unknown to the server"

    run(scenario)


def test_connections_can_be_cut_a_while_after_their_session_is_ready_live_ones_too() -> None:
    async def scenario() -> None:
        async with rig() as r:
            live, _ = await r.session()
            loop = asyncio.get_running_loop()
            r.gateway.misbehaviour.cut_connections_after(50)
            armed_at = loop.time()
            closed = await closure(live)
            assert closed.rcvd is None  # dropped as a failing network would, without a close frame
            assert loop.time() - armed_at >= 0.05
            fresh, _ = await r.session()
            opened_at = loop.time()
            await closure(fresh)
            assert loop.time() - opened_at >= 0.05 - 0.01  # counted from the welcome, just before
            assert [entry.detail["after_ms"] for entry in r.journal.entries("connection cut")] == [50, 50]

            r.gateway.misbehaviour.cut_connections_after(None)
            kept, _ = await r.session()
            with pytest.raises(
                TimeoutError
            ):  # nothing arrives, and above all no closing, for thrice the lifetime
                await asyncio.wait_for(kept.recv(), 0.15)
            assert r.journal.count("connection cut") == 2

            r.gateway.misbehaviour.cut_connections_after(50)
            await r.gateway.reset()
            assert r.gateway.misbehaviour.connection_lifetime_ms is None

    run(scenario)
