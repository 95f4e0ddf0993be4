"""The wire protocol: frame encoding and checking, close codes and secret fingerprints."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_protocol import (
    CloseCode,
    MessageType,
    ProtocolError,
    UnknownMessageTypeError,
    decode,
    describe_close_code,
    encode,
    fingerprint,
)

TOKEN = "eyJhbGciOiJFUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl"

VALID_FRAMES: list[dict[str, Any]] = [
    {"type": "hello"},
    {"type": "hello", "session_id": "s-1", "last_seq": 41},
    {"type": "welcome", "session_id": "s-1", "resumed": False},
    {"type": "subscribe", "channel": "prices"},
    {"type": "subscribed", "channel": "prices"},
    {"type": "unsubscribe", "channel": "prices"},
    {"type": "publish", "id": "p-1", "channel": "orders", "data": {"qty": 3}},
    {"type": "message", "seq": 7, "channel": "prices", "data": {"n": 7}},
    {"type": "ack", "seq": 7},
    {"type": "ack", "id": "p-1"},
    {"type": "error", "code": "not_allowed", "message": "You may not publish on prices"},
    {"type": "error", "code": "forbidden", "message": "no right to post to 'prices'", "id": "p-1"},
    {"type": "auth", "token": TOKEN},
]


def protocol_error(frame: str | bytes, kind: type[ProtocolError] = ProtocolError) -> str:
    with pytest.raises(kind) as caught:
        decode(frame)
    message = str(caught.value)
    assert message and "\n" not in message, message
    return message


@pytest.mark.parametrize("message", VALID_FRAMES, ids=lambda message: message["type"])
def test_encode_then_decode_gives_the_message_back(message: dict[str, Any]) -> None:
    frame = encode(message)
    assert isinstance(frame, str)
    assert decode(frame) == message


def test_encoding_is_compact_and_stable() -> None:
    assert encode({"type": "ack", "seq": 1}) == '{"seq":1,"type":"ack"}'
    assert encode({"seq": 1, "type": "ack"}) == encode({"type": "ack", "seq": 1})
    assert encode({"type": "message", "seq": 1, "channel": "c", "data": "naïve"}) == (
        '{"channel":"c","data":"na\\u00efve","seq":1,"type":"message"}'
    )


def test_every_message_type_is_covered() -> None:
    assert {MessageType(message["type"]) for message in VALID_FRAMES} == set(MessageType)


def test_a_frame_that_is_not_json_is_refused() -> None:
    message = protocol_error("{not json")
    assert message.startswith("the frame is not valid JSON (")
    assert "at character 1" in message


def test_an_empty_frame_is_not_json() -> None:
    assert protocol_error("").startswith("the frame is not valid JSON")


@pytest.mark.parametrize(("frame", "kind"), [("[1, 2]", "list"), ('"hello"', "str"), ("42", "int")])
def test_json_that_is_not_an_object_is_refused(frame: str, kind: str) -> None:
    assert protocol_error(frame) == f"the frame is JSON but not an object (it is a {kind})"


def test_an_unknown_type_is_its_own_ignorable_error() -> None:
    assert issubclass(UnknownMessageTypeError, ProtocolError)
    message = protocol_error('{"type": "presence", "channel": "x"}', UnknownMessageTypeError)
    assert message == "the frame has an unknown message type 'presence'"


@pytest.mark.parametrize("frame", ['{"channel": "x"}', '{"type": ["hello"]}', '{"type": 3}'])
def test_a_frame_without_a_usable_type_is_refused(frame: str) -> None:
    with pytest.raises(ProtocolError) as raised:
        decode(frame)
    # Not "unknown type" (which a client may ignore): a frame without a type is broken.
    assert type(raised.value) is ProtocolError
    assert str(raised.value) == "the frame has no message type"


def test_a_missing_required_field_is_named() -> None:
    assert protocol_error('{"type": "subscribe"}') == (
        "a 'subscribe' frame needs 'channel' as a string, got None"
    )


def test_a_wrong_typed_required_field_is_named() -> None:
    assert protocol_error('{"type": "message", "seq": "7", "channel": "prices"}') == (
        "a 'message' frame needs 'seq' as a whole number, got '7'"
    )
    assert protocol_error('{"type": "message", "seq": 7.5, "channel": "prices"}') == (
        "a 'message' frame needs 'seq' as a whole number, got 7.5"
    )
    assert protocol_error('{"type": "welcome", "session_id": "s-1", "resumed": 1}') == (
        "a 'welcome' frame needs 'resumed' as true or false, got 1"
    )


def test_a_boolean_is_not_a_sequence_number() -> None:
    assert protocol_error('{"type": "message", "seq": true, "channel": "prices"}') == (
        "a 'message' frame needs 'seq' as a whole number, got True"
    )


def test_an_error_about_a_publish_names_it_by_its_id_as_a_string() -> None:
    assert protocol_error('{"type": "error", "code": "forbidden", "message": "no", "id": 7}') == (
        "a 'error' frame needs 'id' as a string, got 7"
    )


def test_an_ack_needs_a_seq_or_an_id() -> None:
    assert protocol_error('{"type": "ack"}') == "an 'ack' frame needs a 'seq' or an 'id'"


def test_a_binary_frame_is_refused() -> None:
    assert protocol_error(b'{"type": "hello"}') == ("expected a text frame, got 17 bytes of binary data")


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "auth", "token": 12345},
        {"type": "auth", "token": [TOKEN]},
        {"type": "auth", "token": {"value": TOKEN}},
        {"type": "auth", "access_token": TOKEN},
    ],
    ids=["number", "list", "object", "misnamed"],
)
def test_a_bad_auth_frame_never_repeats_the_token(frame: dict[str, Any]) -> None:
    message = protocol_error(encode(frame))
    assert message == "a 'auth' frame needs 'token' as a string, got a hidden value"
    assert TOKEN not in message and "12345" not in message


def test_a_broken_auth_frame_never_repeats_the_token() -> None:
    message = protocol_error('{"type": "auth", "token": "' + TOKEN)
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (1000, "1000 (closed normally)"),
        (CloseCode.GOING_AWAY, "1001 (the server is going away)"),
        (1006, "1006 (the connection dropped without a close frame)"),
        (4001, "4001 (the access token expired)"),
        (4009, "4009 (the session was taken over by a newer connection)"),
    ],
)
def test_known_close_codes_are_described_in_words(code: int, words: str) -> None:
    assert describe_close_code(code) == words


def test_every_close_code_has_words() -> None:
    for code in CloseCode:
        assert "unrecognised" not in describe_close_code(code)


@pytest.mark.parametrize("code", [1005, 3000, 4999])
def test_unknown_close_codes_are_said_to_be_unrecognised(code: int) -> None:
    assert describe_close_code(code) == f"{code} (an unrecognised close code)"


def test_no_close_code() -> None:
    assert describe_close_code(None) == "no close code"


def test_a_fingerprint_is_stable_short_and_does_not_contain_the_secret() -> None:
    first = fingerprint(TOKEN)
    assert first == fingerprint(TOKEN)
    assert first.startswith("fp:") and len(first) == 15
    assert all(character in "0123456789abcdef" for character in first[3:])
    assert TOKEN not in first
    for part in TOKEN.split("."):
        assert part not in first
    assert fingerprint(TOKEN + "x") != first
    assert fingerprint("key_abc") != fingerprint("key_abd")


def test_no_secret_has_a_fingerprint_of_its_own() -> None:
    assert fingerprint(None) == "none"
    assert fingerprint("") == "none"
