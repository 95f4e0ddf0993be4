"""Refresh-token families on their own, without HTTP: rotation, reuse detection and expiry, on a clock the
test moves."""

from __future__ import annotations

import itertools

import pytest

from support.services.auth.accounts import Account
from support.services.auth.refresh_tokens import RefreshRefused, RefreshTokenFamilies

ANN = Account(subject="ann", channels=("prices",))
BOB = Account(subject="bob")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def families(lifetime_ms: int = 1_000, clock: FakeClock | None = None) -> RefreshTokenFamilies:
    """Families whose tokens and family ids are numbered, so a test can tell them apart at a glance."""
    tokens = (f"rt-{number}" for number in itertools.count(1))
    ids = (f"family-{number}" for number in itertools.count(1))
    return RefreshTokenFamilies(
        lifetime_ms,
        clock=clock or FakeClock(),
        new_token=lambda: next(tokens),
        new_family_id=lambda: next(ids),
    )


def refused(store: RefreshTokenFamilies, token: str) -> RefreshRefused:
    with pytest.raises(RefreshRefused) as refusal:
        store.rotate(token)
    return refusal.value


def test_a_sign_in_starts_a_family_of_one_token_for_its_account() -> None:
    store = families()
    first = store.start(ANN, "fp-ann")
    assert first.token == "rt-1"
    assert (first.record.account, first.record.family, first.record.key_fingerprint) == (
        ANN,
        "family-1",
        "fp-ann",
    )
    assert not first.record.used and not first.record.revoked
    assert store.record("rt-1") is first.record
    assert len(store) == 1
    # Each sign-in is a family of its own.
    assert store.start(ANN, "fp-ann").record.family == "family-2"


def test_rotation_spends_the_presented_token_and_issues_its_successor_in_the_same_family() -> None:
    store = families()
    first = store.start(ANN, "fp-ann")
    second = store.rotate(first.token)
    assert second.token == "rt-2" and second.token != first.token
    assert (second.record.account, second.record.family, second.record.key_fingerprint) == (
        ANN,
        "family-1",
        "fp-ann",
    )
    assert first.record.used and not second.record.used
    # The successor rotates in turn.
    assert store.rotate(second.token).record.family == "family-1"
    assert len(store) == 3


def test_presenting_a_spent_token_again_is_reuse_and_revokes_the_whole_family() -> None:
    store = families()
    first = store.start(ANN, "fp-ann")
    second = store.rotate(first.token)
    third = store.rotate(second.token)
    other = store.start(ANN, "fp-ann")  # another sign-in of the same account: a family of its own

    reuse = refused(store, first.token)
    assert reuse.reused
    assert reuse.description == "The refresh token has already been used"
    assert reuse.record is first.record
    assert all(record.revoked for record in (first.record, second.record, third.record))

    # The newest token of the family, never spent, is dead too, and presenting it is not itself reuse.
    newest = refused(store, third.token)
    assert (newest.reused, newest.description) == (False, "The refresh token has been revoked")
    assert not third.record.used
    # The other family is untouched.
    assert not other.record.revoked
    assert store.rotate(other.token).record.family == other.record.family


def test_a_spent_token_presented_once_more_is_still_reuse() -> None:
    store = families()
    first = store.start(ANN, "fp-ann")
    store.rotate(first.token)
    assert refused(store, first.token).reused
    assert refused(store, first.token).reused


def test_a_token_expires_once_its_lifetime_has_passed_and_its_successor_lives_from_its_rotation() -> None:
    clock = FakeClock()  # 100.0 s; every time below is exact in binary
    store = families(lifetime_ms=250, clock=clock)
    first = store.start(ANN, "fp-ann")
    kept = store.start(BOB, "fp-bob")
    assert first.record.expires_at == 100.25
    clock.now = 100.125
    successor = store.rotate(kept.token)  # in time; its successor lives 250 ms from now
    assert successor.record.expires_at == 100.375
    clock.now = 100.25  # the first token's last moment is over
    expired = refused(store, first.token)
    assert (expired.reused, expired.description) == (False, "The refresh token has expired")
    # An expired token is not spent by being refused, and its family is not revoked.
    assert not first.record.used and not first.record.revoked
    assert store.rotate(successor.token).record.family == kept.record.family


def test_a_lifetime_of_zero_means_expired_as_soon_as_issued() -> None:
    store = families(lifetime_ms=0)
    assert refused(store, store.start(ANN, "fp-ann").token).description == "The refresh token has expired"


def test_reuse_is_told_before_expiry() -> None:
    clock = FakeClock()
    store = families(lifetime_ms=100, clock=clock)
    first = store.start(ANN, "fp-ann")
    second = store.rotate(first.token)
    clock.now += 1
    assert refused(store, first.token).reused
    assert second.record.revoked


def test_an_unknown_token_is_refused_without_a_record() -> None:
    store = families()
    store.start(ANN, "fp-ann")
    unknown = refused(store, "rt-nobody-issued")
    assert (unknown.description, unknown.record, unknown.reused) == (
        "The refresh token is not recognised",
        None,
        False,
    )
    assert store.record("rt-nobody-issued") is None


def test_revoking_the_families_an_account_holds_leaves_the_others() -> None:
    store = families()
    ann_one = store.start(ANN, "fp-ann")
    ann_two = store.rotate(store.start(ANN, "fp-ann").token)
    bob = store.start(BOB, "fp-bob")
    assert store.revoke_held_by(lambda account: account.subject == "ann") == 2
    assert refused(store, ann_one.token).description == "The refresh token has been revoked"
    assert refused(store, ann_two.token).description == "The refresh token has been revoked"
    assert store.rotate(bob.token).record.account == BOB
    assert store.revoke_held_by(lambda account: account.subject == "carol") == 0


def test_revoking_one_family_by_name() -> None:
    store = families()
    first = store.start(ANN, "fp-ann")
    store.revoke_family("family-404")  # unknown: nothing happens
    assert not first.record.revoked
    store.revoke_family(first.record.family)
    assert refused(store, first.token).description == "The refresh token has been revoked"


def test_reset_forgets_every_family() -> None:
    store = families()
    first = store.start(ANN, "fp-ann")
    store.reset()
    assert len(store) == 0 and store.record(first.token) is None
    assert refused(store, first.token).description == "The refresh token is not recognised"


def test_a_token_never_shows_in_a_repr() -> None:
    store = families()
    issued = store.start(ANN, "fp-ann")
    assert issued.token not in repr(issued) + repr(store)


def test_a_negative_lifetime_is_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        RefreshTokenFamilies(-1)
