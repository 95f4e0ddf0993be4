"""The gateway's protocol core, without sockets or an event loop: sessions and the resume window, replay
from a sequence number, acknowledgements, de-duplication by message id, and reading and posting rights.
Time is passed in, so the window is crossed without waiting."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from realtime_protocol import CloseCode, MessageType, decode, encode
from support.services.auth.tokens import AccessClaims, InvalidTokenError, TokenAuthority
from support.services.gateway.actions import Close, Deliver, Reply
from support.services.gateway.protocol import GatewayProtocol, Opening
from support.services.gateway.sessions import GatewaySession, ResumeWindow, SessionStore

AUTHORITY = TokenAuthority()  # key generation is the slow part: one for the module
FIRST, SECOND = object(), object()  # stand-ins for the network layer's connections


def claims(
    subject: str = "alice", channels: tuple[str, ...] = ("*",), publish: tuple[str, ...] | None = None
) -> AccessClaims:
    return AccessClaims(subject, channels, time.time() + 60, f"t-{subject}", publish)


def core(window_ms: float = 1_000, max_outbox: int = 10_000) -> GatewayProtocol:
    return GatewayProtocol(
        SessionStore(),
        AUTHORITY,
        ResumeWindow(window_ms, max_outbox),
        random.Random(7),
        is_revoked=lambda token_id: token_id == "t-revoked",
    )


def hello(session_id: str | None = None, last_seq: int = 0) -> str:
    message: dict[str, Any] = {"type": MessageType.HELLO}
    if session_id is not None:
        message["resume"] = {"session_id": session_id, "last_seq": last_seq}
    return encode(message)


def opened(
    protocol: GatewayProtocol, frame: str, link: object = FIRST, now: float = 0.0, **who: Any
) -> Opening:
    opening = protocol.open(frame, claims(**who), link, 1, now)
    assert opening.session is not None, opening.reply.actions
    return opening


def numbered(session: GatewaySession, count: int) -> None:
    """``count`` messages on "prices" for the session, as the gateway's deliveries number them."""
    for n in range(1, count + 1):
        session.replay.number("prices", {"n": n})


def gone(protocol: GatewayProtocol, session: GatewaySession, at: float, link: object = FIRST) -> None:
    assert protocol.detach(session, link, at, refused_too_big=False)


def poster_and_reader(
    protocol: GatewayProtocol, poster: str, channel: str
) -> tuple[GatewaySession, GatewaySession]:
    """Two users' sessions: ``poster``'s on the first connection, and bob's, reading ``channel``, on the
    second."""
    posting = opened(protocol, hello(), subject=poster).session
    reading = opened(protocol, hello(), link=SECOND, subject="bob").session
    assert posting is not None and reading is not None
    reading.subscriptions.add(channel)
    return posting, reading


def kinds(reply: Reply) -> list[str]:
    return [note.kind for note in reply.notes()]


def frame(message: dict[str, Any]) -> str:
    return encode(message)


# -- sessions and the resume window --------------------------------------------------------------


def test_a_hello_without_resume_starts_a_session_for_the_user() -> None:
    protocol = core()
    opening = opened(protocol, hello())
    session = opening.session
    assert session is not None and session.subject == "alice" and session.link is FIRST
    assert opening.reply.sent() == [
        {"type": MessageType.WELCOME, "session_id": session.id, "resumed": False, "reason": None}
    ]
    assert kinds(opening.reply) == ["session started"]
    assert protocol.store.ids() == [session.id]


def test_the_first_frame_must_be_a_hello() -> None:
    opening = core().open(frame({"type": "subscribe", "channel": "prices"}), claims(), FIRST, 1, 0.0)
    assert opening.session is None
    assert opening.reply.actions == [Close(CloseCode.BAD_MESSAGE, "expected a hello message first")]


def test_resume_within_the_window_replays_what_was_not_acknowledged_in_order() -> None:
    protocol = core(window_ms=1_000)
    session = opened(protocol, hello()).session
    assert session is not None
    numbered(session, 5)
    gone(protocol, session, at=10.0)

    opening = opened(protocol, hello(session.id, last_seq=2), link=SECOND, now=10.999)
    assert opening.session is session and opening.resumed and session.link is SECOND
    welcome, *replay = opening.reply.sent()
    assert welcome == {"type": MessageType.WELCOME, "session_id": session.id, "resumed": True, "replay": 3}
    assert [(m["seq"], m["data"]) for m in replay] == [(3, {"n": 3}), (4, {"n": 4}), (5, {"n": 5})]
    assert opening.reply.notes()[-1].facts == {
        "session": session.id,
        "connection": 1,
        "last_seq": 2,
        "replayed": 3,
    }
    assert session.detached_at is None


def test_resume_after_the_window_starts_a_new_session_and_says_why() -> None:
    protocol = core(window_ms=1_000)
    session = opened(protocol, hello()).session
    assert session is not None
    gone(protocol, session, at=10.0)

    opening = opened(protocol, hello(session.id), link=SECOND, now=11.001)
    assert opening.session is not session and not opening.resumed
    assert opening.reply.sent()[0]["reason"] == "the resume window has passed"
    assert kinds(opening.reply) == ["session expired", "session started"]
    assert session.id not in protocol.store.ids()

    again = opened(protocol, hello(session.id), now=11.002)  # told the same later, from the expired ids
    assert again.reply.sent()[0]["reason"] == "the resume window has passed"


def test_the_timer_expires_a_session_only_if_it_waited_the_whole_window() -> None:
    protocol = core(window_ms=1_000)
    session = opened(protocol, hello()).session
    assert session is not None
    gone(protocol, session, at=10.0)
    opened(protocol, hello(session.id), link=SECOND, now=10.5)  # resumed in between
    assert protocol.expire_after_window(session, detached_at=10.0, now=11.5) is None
    assert protocol.store.ids() == [session.id]

    gone(protocol, session, at=12.0, link=SECOND)
    assert protocol.expire_after_window(session, detached_at=12.0, now=12.9) is None  # not yet
    note = protocol.expire_after_window(session, detached_at=12.0, now=13.1)
    assert note is not None and note.kind == "session expired" and protocol.store.ids() == []


def test_a_session_holding_more_than_max_outbox_messages_expires() -> None:
    protocol = core(max_outbox=3)
    session = opened(protocol, hello()).session
    assert session is not None
    numbered(session, 3)
    assert protocol.expire_if_stale(session, now=0.0) is None
    numbered(session, 1)
    assert protocol.expire_if_stale(session, now=0.0) is not None
    assert protocol.store.ids() == []


def test_another_users_session_is_unknown_to_them() -> None:
    protocol = core()
    session = opened(protocol, hello(), subject="alice").session
    assert session is not None
    opening = opened(protocol, hello(session.id), link=SECOND, subject="mallory")
    assert opening.session is not session
    assert opening.reply.sent()[0]["reason"] == "the session is unknown to the server"


def test_a_newer_connection_takes_a_live_session_over() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    opening = opened(protocol, hello(session.id), link=SECOND)
    assert opening.replaced is FIRST and session.link is SECOND
    # The old connection closing later leaves the session with the new one.
    assert not protocol.detach(session, FIRST, 5.0, refused_too_big=False)
    assert session.link is SECOND and session.detached_at is None


def test_the_message_a_client_closed_with_1009_over_is_not_replayed() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    numbered(session, 3)
    assert protocol.detach(session, FIRST, 1.0, refused_too_big=True)
    opening = opened(protocol, hello(session.id, last_seq=1), link=SECOND, now=1.1)
    assert [m["seq"] for m in opening.reply.sent()[1:]] == [3]
    dropped = opening.reply.notes()[0]
    assert (dropped.kind, dropped.facts["seq"], dropped.facts["reason"]) == (
        "message dropped",
        2,
        "too big for the client",
    )


# -- acknowledgements ------------------------------------------------------------------------------


def test_an_ack_lets_go_of_every_message_up_to_its_sequence_number() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    numbered(session, 5)
    reply = protocol.receive(frame({"type": "ack", "seq": 3}), session, claims())
    assert reply.actions == []
    assert [decode(f)["seq"] for f in session.replay.frames()] == [4, 5]
    assert protocol.store.messages_sent(session.id) == 5  # numbering goes on regardless


def test_an_ack_without_a_sequence_number_is_refused_and_changes_nothing() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    numbered(session, 2)
    reply = protocol.receive(frame({"type": "ack", "id": "m-1"}), session, claims())
    assert reply.sent() == [
        {"type": "error", "code": "bad_message", "message": "a 'ack' message is not expected from a client"}
    ]
    assert kinds(reply) == ["bad frame"] and len(session.replay) == 2


# -- channels, rights and de-duplication --------------------------------------------------------


def test_subscribing_outside_the_tokens_channels_is_forbidden() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    who = claims(channels=("prices",))
    refused = protocol.receive(frame({"type": "subscribe", "channel": "orders"}), session, who)
    assert refused.sent() == [{"type": "error", "code": "forbidden", "message": "no access to 'orders'"}]
    assert kinds(refused) == ["subscribe refused"] and session.subscriptions == set()

    allowed = protocol.receive(frame({"type": "subscribe", "channel": "prices"}), session, who)
    assert allowed.sent() == [{"type": "subscribed", "channel": "prices"}]
    assert protocol.store.subscriptions_of(session.id) == {"prices"}
    protocol.receive(frame({"type": "unsubscribe", "channel": "prices"}), session, who)
    assert session.subscriptions == set()


def test_a_post_is_delivered_to_other_readers_once_and_acknowledged_every_time() -> None:
    protocol = core()
    poster, reader = poster_and_reader(protocol, "alice", "chat")
    poster.subscriptions.add("chat")  # a poster does not hear its own post
    post = frame({"type": "publish", "id": "m-1", "channel": "chat", "data": {"text": "hi"}})

    first = protocol.receive(post, poster, claims("alice"))
    assert [a for a in first.actions if isinstance(a, Deliver)] == [Deliver(reader, "chat", {"text": "hi"})]
    assert first.sent() == [{"type": "ack", "id": "m-1"}]
    assert kinds(first) == ["publish accepted"]

    resent = protocol.receive(post, poster, claims("alice"))
    assert not any(isinstance(a, Deliver) for a in resent.actions)
    assert resent.sent() == [{"type": "ack", "id": "m-1"}]
    assert kinds(resent) == ["publish duplicate"]

    # The same id from another user is a message of its own.
    other = protocol.receive(post, reader, claims("bob"))
    assert kinds(other) == ["publish accepted"]


def test_a_post_the_token_may_not_make_is_refused_by_id_and_delivered_to_no_one() -> None:
    protocol = core()
    poster, _ = poster_and_reader(protocol, "rita", "announcements")
    post = frame({"type": "publish", "id": "m-1", "channel": "announcements", "data": 1})

    refused = protocol.receive(post, poster, claims("rita", publish=()))
    assert refused.sent() == [
        {"type": "error", "code": "forbidden", "message": "no right to post to 'announcements'", "id": "m-1"}
    ]
    assert not any(isinstance(a, Deliver) for a in refused.actions)
    assert refused.notes()[0].facts == {
        "session": poster.id,
        "subject": "rita",
        "id": "m-1",
        "channel": "announcements",
    }
    # A refused post is not remembered as posted: with the right to post, the same id goes through.
    allowed = protocol.receive(post, poster, claims("rita", publish=("announcements",)))
    assert kinds(allowed) == ["publish accepted"]


def test_recipients_are_the_readers_of_a_channel_and_stale_sessions_expire_on_the_way() -> None:
    protocol = core(window_ms=1_000)
    live = opened(protocol, hello(), subject="alice").session
    stale = opened(protocol, hello(), link=SECOND, subject="bob").session
    assert live is not None and stale is not None
    live.subscriptions.add("prices")
    stale.subscriptions.add("prices")
    gone(protocol, stale, at=0.0, link=SECOND)

    reached, reply = protocol.recipients("prices", now=2.0)
    assert reached == [live] and kinds(reply) == ["session expired"]
    assert protocol.recipients("other", now=2.0)[0] == []


# -- frames and tokens ---------------------------------------------------------------------------


def test_a_frame_that_cannot_be_decoded_is_answered_and_the_connection_carries_on() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    reply = protocol.receive("{not json", session, claims())
    (error,) = reply.sent()
    assert error["code"] == "bad_message" and "not valid JSON" in error["message"]
    assert not any(isinstance(a, Close) for a in reply.actions)


def test_a_renewal_keeps_the_user_and_a_bad_or_foreign_token_changes_nothing() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    held = claims("alice")

    bad = protocol.receive(frame({"type": "auth", "token": "not-a-token"}), session, held)
    assert bad.claims is held and bad.sent()[0]["code"] == "bad_token"
    assert kinds(bad) == ["token renewal refused"]

    foreign = protocol.receive(
        frame({"type": "auth", "token": AUTHORITY.issue("mallory", ("*",), 60_000)}), session, held
    )
    assert foreign.claims is held
    assert foreign.actions == [Close(CloseCode.FORBIDDEN, "the new token is for a different user")]

    fresh = AUTHORITY.issue("alice", ("prices",), 60_000)
    renewed = protocol.receive(frame({"type": "auth", "token": fresh}), session, held)
    assert renewed.claims is not None and renewed.claims.channels == ("prices",)
    assert kinds(renewed) == ["token renewed"]


def test_the_handshake_token_check_refuses_missing_and_revoked_tokens() -> None:
    protocol = core()
    with pytest.raises(InvalidTokenError, match="no token"):
        protocol.check_token(None)
    good = AUTHORITY.issue("alice", ("*",), 60_000)
    assert protocol.check_token(good).subject == "alice"
    revoked = AUTHORITY.issue("alice", ("*",), 60_000, jti="t-revoked")
    with pytest.raises(InvalidTokenError, match="revoked"):
        protocol.check_token(revoked)


def test_forgetting_keeps_nothing_to_resume() -> None:
    protocol = core()
    session = opened(protocol, hello()).session
    assert session is not None
    assert protocol.store.forget() == 1
    opening = opened(protocol, hello(session.id), link=SECOND)
    assert opening.reply.sent()[0]["reason"] == "the session is unknown to the server"
