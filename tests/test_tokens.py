"""The token authority: tokens it issues pass its own checks; each kind of flawed token fails them with a
reason a person can read."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from support.services.auth.tokens import FLAWS, InvalidTokenError, TokenAuthority

# One signing key for the whole module: key generation is the only slow part of a TokenAuthority.
AUTHORITY = TokenAuthority()
REASONS = {
    "tampered": "the token's signature does not match",
    "expired": "the token has expired",
    "unsigned": "the token uses the algorithm 'none', which is not accepted",
    "other_issuer": "the token comes from an unknown issuer",
    "other_audience": "the token is for a different audience",
    "other_key": "the token's signature does not match",
}


def claims_of(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_token_it_issued_passes_its_checks() -> None:
    claims = AUTHORITY.verify(AUTHORITY.issue("alice", ("news",), 60_000))
    assert (claims.subject, claims.channels) == ("alice", ("news",))


def test_every_flaw_has_a_reason() -> None:
    assert set(REASONS) == set(FLAWS)


@pytest.mark.parametrize("flaw", FLAWS)
def test_each_flawed_token_is_refused_for_its_own_reason(flaw: str) -> None:
    token = AUTHORITY.issue_flawed(flaw, "alice", ("news",), 60_000)
    with pytest.raises(InvalidTokenError) as refused:
        AUTHORITY.verify(token)
    assert refused.value.reason == REASONS[flaw]


@pytest.mark.parametrize("flaw", FLAWS)
def test_a_flawed_token_still_looks_like_a_token_for_the_same_person(flaw: str) -> None:
    token = AUTHORITY.issue_flawed(flaw, "alice", ("news",), 60_000)
    assert len(token.split(".")) == 3
    assert claims_of(token)["sub"] == "alice"


def test_the_tampered_token_grants_more_than_was_signed_and_keeps_the_real_signature() -> None:
    token = AUTHORITY.issue_flawed("tampered", "alice", ("news",), 60_000)
    assert claims_of(token)["channels"] == ["*"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and token.split(".")[2]


def test_the_unsigned_token_has_no_signature() -> None:
    token = AUTHORITY.issue_flawed("unsigned", "alice", ("news",), 60_000)
    assert jwt.get_unverified_header(token)["alg"] == "none"
    assert token.endswith(".")


def test_an_unknown_flaw_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"unknown token flaw 'rusty' \(known: tampered, expired"):
        AUTHORITY.issue_flawed("rusty", "alice", ("news",), 60_000)


# -- reading and posting rights ------------------------------------------------------------------------


def test_a_token_without_a_publish_claim_may_post_wherever_it_may_read() -> None:
    # Tokens issued before reading and posting were told apart keep their meaning.
    token = AUTHORITY.issue("alice", ("news", "prices"), 60_000)
    assert "publish" not in claims_of(token)
    claims = AUTHORITY.verify(token)
    assert claims.publish_channels is None
    assert claims.may_publish("news") and claims.may_publish("prices")
    assert not claims.may_publish("orders")


def test_publish_rights_are_signed_into_the_token_apart_from_reading_rights() -> None:
    token = AUTHORITY.issue("alice", ("*",), 60_000, publish=("orders",))
    assert claims_of(token)["publish"] == ["orders"]
    claims = AUTHORITY.verify(token)
    assert claims.allows("news") and claims.allows("orders")
    assert claims.may_publish("orders")
    assert not claims.may_publish("news")


def test_a_reader_token_may_read_but_post_nowhere() -> None:
    claims = AUTHORITY.verify(AUTHORITY.issue("alice", ("*",), 60_000, publish=()))
    assert claims.publish_channels == ()
    assert claims.allows("announcements")
    assert not claims.may_publish("announcements")


def test_a_publish_grant_of_every_channel() -> None:
    claims = AUTHORITY.verify(AUTHORITY.issue("alice", ("news",), 60_000, publish=("*",)))
    assert claims.may_publish("anything")
    assert not claims.allows("anything")


def test_a_publish_claim_that_is_not_a_list_is_refused() -> None:
    # Signed with the real key, so only the shape of the claim is wrong.
    genuine = AUTHORITY.issue("alice", ("*",), 60_000)
    broken = jwt.encode(
        {**jwt.decode(genuine, options={"verify_signature": False}), "publish": "news"},
        AUTHORITY._private_key,
        "ES256",
    )
    with pytest.raises(InvalidTokenError) as refused:
        AUTHORITY.verify(broken)
    assert refused.value.reason == "the token's publish grant is not a list of channels"
