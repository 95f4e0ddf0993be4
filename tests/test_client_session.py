"""The client's session core without I/O: frames in, events and frames out, no socket anywhere."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_protocol import CloseCode, encode
from reference_client.errors import ProtocolViolationError
from reference_client.session_core import CONTINUITY_LOST, RESUMED, STARTED, ClientSession, Reaction


def frame(**message: Any) -> str:
    return encode(message)


def sent(reaction: Reaction) -> list[dict[str, Any]]:
    """The frames a reaction sends, decoded."""
    return [json.loads(text) for text in reaction.frames]


def emitted(reaction: Reaction) -> list[tuple[str, dict[str, Any]]]:
    return [(event.name, event.data) for event in reaction.events]


def message(seq: int, channel: str = "prices", data: Any = None) -> str:
    return frame(type="message", seq=seq, channel=channel, data=data if data is not None else {"n": seq})


def opened(session_id: str = "s-1") -> ClientSession:
    """A session the gateway has just started."""
    session = ClientSession()
    session.hello()
    assert session.welcome(frame(type="welcome", session_id=session_id, resumed=False)).how == STARTED
    return session


# -- delivery by sequence number ----------------------------------------------------------------------


def test_messages_in_order_are_delivered_and_each_is_acknowledged_by_its_seq() -> None:
    session = opened()
    first = session.receive(message(1, data={"price": 10}))
    second = session.receive(message(2, data={"price": 11}))
    assert emitted(first) == [("message", {"channel": "prices", "seq": 1, "data": {"price": 10}})]
    assert emitted(second) == [("message", {"channel": "prices", "seq": 2, "data": {"price": 11}})]
    assert sent(first) == [{"type": "ack", "seq": 1}]
    assert sent(second) == [{"type": "ack", "seq": 2}]
    assert session.state.last_seq == 2
    assert first.hang_up is None and second.hang_up is None


def test_a_message_already_delivered_is_dropped_as_a_duplicate_and_not_acknowledged_again() -> None:
    session = opened()
    session.receive(message(1))
    session.receive(message(2))
    again = session.receive(message(2))
    assert emitted(again) == [("message:duplicate", {"seq": 2, "channel": "prices"})]
    assert again.frames == []
    older = session.receive(message(1))
    assert [name for name, _ in emitted(older)] == ["message:duplicate"]
    assert session.state.last_seq == 2


def test_a_message_later_than_the_next_is_delivered_after_a_gap_is_reported() -> None:
    session = opened()
    session.receive(message(1))
    later = session.receive(message(4))
    assert emitted(later) == [
        ("message:gap", {"expected": 2, "received": 4}),
        ("message", {"channel": "prices", "seq": 4, "data": {"n": 4}}),
    ]
    assert sent(later) == [{"type": "ack", "seq": 4}]
    # What the gap skipped, arriving late, is older than what was delivered: a duplicate now.
    assert [name for name, _ in emitted(session.receive(message(3)))] == ["message:duplicate"]


# -- the outbox ---------------------------------------------------------------------------------------


def test_the_gateways_ack_takes_a_publish_out_of_the_outbox() -> None:
    session = opened()
    pending = session.publish("p-1", "orders", {"qty": 3})
    assert sent(session.send_publish(pending)) == [
        {"type": "publish", "id": "p-1", "channel": "orders", "data": {"qty": 3}}
    ]
    assert (session.pending, session.drained) == (1, False)

    acked = session.receive(frame(type="ack", id="p-1"))
    assert emitted(acked) == [("publish:acked", {"id": "p-1"})]
    assert (session.pending, session.drained, session.unacked_ids()) == (0, True, [])
    # Acknowledged means done: a second ack says nothing, and a reconnect sends nothing again.
    assert session.receive(frame(type="ack", id="p-1")).events == []
    session.hello()
    session.welcome(frame(type="welcome", session_id="s-1", resumed=True))
    assert session.catch_up().frames == []


def test_after_a_resume_every_unacknowledged_publish_is_sent_again_in_the_order_published() -> None:
    session = opened("s-7")
    session.receive(message(1))
    session.receive(message(2))
    first = session.publish("p-1", "orders", "a")
    session.send_publish(first)
    session.publish("p-2", "orders", "b")  # published while the link was down: never sent
    acked = session.publish("p-3", "orders", "c")
    session.send_publish(acked)
    session.receive(frame(type="ack", id="p-3"))

    # A new connection: the hello asks to resume where delivery stopped.
    session.connecting()
    assert json.loads(session.hello()) == {"type": "hello", "resume": {"session_id": "s-7", "last_seq": 2}}
    opening = session.welcome(frame(type="welcome", session_id="s-7", resumed=True, replay=0))
    assert (opening.how, opening.resumed, opening.continuity_lost) == (RESUMED, True, None)
    assert [(event.name, event.data) for event in opening.events] == [
        ("session:resumed", {"session_id": "s-7", "replay": 0})
    ]

    catching_up = session.catch_up()
    assert [(m["type"], m["id"], m["data"]) for m in sent(catching_up)] == [
        ("publish", "p-1", "a"),
        ("publish", "p-2", "b"),
    ]
    # Only the one the gateway may already have seen is a resend.
    assert emitted(catching_up) == [("publish:resent", {"id": "p-1", "channel": "orders"})]
    assert session.unacked_ids() == ["p-1", "p-2"]


def test_a_publish_the_gateway_refuses_leaves_the_outbox_and_an_error_about_another_is_the_servers() -> None:
    session = opened()
    session.send_publish(session.publish("p-1", "orders", "x"))
    refused = session.receive(frame(type="error", code="forbidden", message="not yours", id="p-1"))
    assert emitted(refused) == [
        ("publish:refused", {"id": "p-1", "channel": "orders", "code": "forbidden", "reason": "not yours"})
    ]
    assert session.drained
    other = session.receive(frame(type="error", code="forbidden", message="no", id="not-mine"))
    assert emitted(other) == [("server:error", {"code": "forbidden", "message": "no"})]


def test_after_a_too_big_close_the_biggest_unacknowledged_publish_sent_is_refused() -> None:
    session = opened()
    session.connecting()
    session.send_publish(session.publish("small", "orders", "x"))
    session.send_publish(session.publish("big", "orders", "x" * 500))
    session.send_publish(session.publish("bigger-but-acked", "orders", "x" * 900))
    session.receive(frame(type="ack", id="bigger-but-acked"))
    session.publish("never-sent", "orders", "x" * 5000)

    refused = session.refuse_oversized()
    ((name, data),) = emitted(refused)
    assert (name, data["id"], data["code"]) == ("publish:refused", "big", "too_big")
    assert session.unacked_ids() == ["small", "never-sent"]
    session.connecting()  # a new connection: nothing has been sent on it, so nothing is to blame
    assert session.refuse_oversized().events == []


# -- opening the session ------------------------------------------------------------------------------


def test_a_session_the_gateway_did_not_resume_starts_afresh_and_asks_again_for_every_subscription() -> None:
    session = opened("s-old")
    session.subscribe("prices")
    session.subscribe("news")
    session.receive(frame(type="subscribed", channel="prices"))
    session.receive(message(5))

    session.hello()
    opening = session.welcome(frame(type="welcome", session_id="s-new", resumed=False, reason="expired"))
    assert (opening.how, opening.continuity_lost) == (CONTINUITY_LOST, "expired")
    assert [event.data for event in opening.events] == [
        {"previous_session_id": "s-old", "session_id": "s-new", "reason": "expired"}
    ]
    assert (session.session_id, session.state.last_seq) == ("s-new", 0)
    assert sent(session.catch_up()) == [
        {"type": "subscribe", "channel": "prices"},
        {"type": "subscribe", "channel": "news"},
    ]
    # Numbering started again with the new session: seq 1 is new, not a duplicate.
    assert [name for name, _ in emitted(session.receive(message(1)))] == ["message"]


def test_a_subscription_is_sent_once_and_a_first_frame_that_is_no_welcome_is_a_protocol_violation() -> None:
    session = ClientSession()
    assert sent(session.subscribe("prices")) == [{"type": "subscribe", "channel": "prices"}]
    assert session.subscribe("prices").frames == []
    assert json.loads(session.hello()) == {"type": "hello"}
    with pytest.raises(ProtocolViolationError, match="expected a welcome, got a 'message' message"):
        session.welcome(message(1))
    with pytest.raises(ProtocolViolationError, match="the first frame was unusable"):
        session.welcome("not json")


# -- frames the client cannot use, and renewal ----------------------------------------------------------


def test_an_unusable_frame_hangs_up_with_the_code_for_what_was_wrong() -> None:
    session = opened()
    reaction = session.receive("{not json")
    assert reaction.hang_up is not None
    assert reaction.hang_up.code == CloseCode.INVALID_PAYLOAD
    assert reaction.hang_up.classification.kind == "unusable_frame"
    assert reaction.hang_up.classification.retryable
    assert [name for name, _ in emitted(reaction)] == ["protocol:error"]
    binary = session.receive(b"\x00\x01")
    assert binary.hang_up is not None and binary.hang_up.code == CloseCode.UNSUPPORTED_DATA


def test_a_frame_of_an_unknown_type_is_ignored_without_hanging_up() -> None:
    session = opened()
    reaction = session.receive(frame(type="presence", who="someone"))
    assert reaction.hang_up is None and reaction.frames == []
    assert [name for name, _ in emitted(reaction)] == ["protocol:ignored"]
    unexpected = session.receive(frame(type="welcome", session_id="s-1", resumed=True))
    assert emitted(unexpected) == [
        ("protocol:ignored", {"reason": "a 'welcome' message was not expected now"})
    ]


def test_a_renewed_token_is_handed_to_the_connection_only_when_it_is_new() -> None:
    session = ClientSession()
    session.presented("token-a")
    assert session.renewal("token-a") is None
    renewal = session.renewal("token-b")
    assert renewal is not None and json.loads(renewal) == {"type": "auth", "token": "token-b"}
    assert session.token_in_use == "token-a"  # until the frame has gone out
    session.presented("token-b")
    assert session.renewal("token-b") is None
