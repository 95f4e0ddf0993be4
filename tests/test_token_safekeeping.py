"""The client's care of its tokens: the encrypted token store, the shape check before a token is used, and
the token manager against the real mock auth service and gateway on loopback (one request at a time, a
request once sent seen through, a refused refresh ending in one sign-in, logout giving everything back).

Waits are conditions polled against a deadline, never fixed sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from realtime_protocol import fingerprint
from reference_client import AuthError
from reference_client.auth import check_token_format
from reference_client.errors import ClientClosedError
from reference_client.token_store import StoredTokens, TokenStore, TokenStoreError
from support.harness.secret_scan import scan, scan_bytes
from support.services.auth.authorization_server import ANSWER_FLAWS
from support.services.auth.programmed import ProgrammedResponse
from tests.polling import eventually
from tests.test_reference_client import AUTHORITY, Observed, Services, ready, run, services

SUBJECT = "client-7"  # whom services() registers its API key for
ACCESS = AUTHORITY.issue(SUBJECT, ("prices",), 60_000)
REFRESH = "rt-Jx0v9lqkQd2m8sW1aZ7cYtP3nR5uE6bF4gH2jK9oL0i"


def stored(access: str = ACCESS, refresh: str | None = REFRESH) -> StoredTokens:
    return StoredTokens(
        access_token=access, refresh_token=refresh, expires_at=time.time() + 60, lifetime_s=60
    )


def one_line_without_secrets(message: str, *secrets: str) -> None:
    assert message and "\n" not in message
    assert scan({"message": message}, secrets) == []


# -- the token store ----------------------------------------------------------------------------------


@pytest.mark.parametrize("refresh", [REFRESH, None], ids=["with-refresh-token", "access-only"])
def test_token_store_round_trip(tmp_path: Path, refresh: str | None) -> None:
    key = TokenStore.new_key()
    tokens = stored(refresh=refresh)
    TokenStore(tmp_path / "tokens", key).save(tokens)
    # Another store object with the same key (the next run) reads it back.
    assert TokenStore(tmp_path / "tokens", key).load() == tokens


def test_token_store_file_gives_nothing_away(tmp_path: Path) -> None:
    key = TokenStore.new_key()
    store = TokenStore(tmp_path / "tokens", key)
    store.save(stored())
    sealed = (tmp_path / "tokens").read_bytes()
    for secret in (ACCESS, REFRESH):
        assert secret.encode() not in sealed
        assert base64.b64encode(secret.encode()).rstrip(b"=") not in sealed
        assert base64.urlsafe_b64encode(secret.encode()).rstrip(b"=") not in sealed
    assert scan_bytes(sealed, [ACCESS, REFRESH], "tokens") == []
    assert key not in sealed
    assert REFRESH not in repr(store) and key.decode() not in repr(store)


def test_token_store_file_is_owner_only_and_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    store = TokenStore(path, TokenStore.new_key())
    store.save(stored())
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    newer = stored(access=AUTHORITY.issue(SUBJECT, ("orders",), 60_000), refresh="rt-newer-" + "x" * 30)
    store.save(newer)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert store.load() == newer
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["tokens"]  # no partial file left behind


def test_a_store_written_with_another_key_is_refused_plainly(tmp_path: Path) -> None:
    TokenStore(tmp_path / "tokens", TokenStore.new_key()).save(stored())
    with pytest.raises(TokenStoreError) as refused:
        TokenStore(tmp_path / "tokens", TokenStore.new_key()).load()
    assert "another key or has been tampered with" in str(refused.value)
    one_line_without_secrets(str(refused.value), ACCESS, REFRESH)


def test_a_tampered_store_is_refused_plainly(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    store = TokenStore(path, TokenStore.new_key())
    store.save(stored())
    sealed = bytearray(path.read_bytes())
    middle = len(sealed) // 2
    sealed[middle] = ord("A") if sealed[middle] != ord("A") else ord("B")
    path.write_bytes(bytes(sealed))
    with pytest.raises(TokenStoreError) as refused:
        store.load()
    assert "tampered" in str(refused.value)
    one_line_without_secrets(str(refused.value), ACCESS, REFRESH)


def test_a_store_holding_something_else_is_refused_plainly(tmp_path: Path) -> None:
    key = TokenStore.new_key()
    path = tmp_path / "tokens"
    store = TokenStore(path, key)
    path.write_bytes(b"not a sealed file at all")
    with pytest.raises(TokenStoreError) as garbage:
        store.load()
    one_line_without_secrets(str(garbage.value))

    # Sealed with the right key, but not tokens.
    path.write_bytes(store._fernet.encrypt(json.dumps({"access_token": ACCESS}).encode()))
    with pytest.raises(TokenStoreError) as incomplete:
        store.load()
    assert "does not hold tokens" in str(incomplete.value)
    one_line_without_secrets(str(incomplete.value), ACCESS)

    # A path that can't be read as a file.
    with pytest.raises(TokenStoreError) as unreadable:
        TokenStore(tmp_path, key).load()
    one_line_without_secrets(str(unreadable.value))


def test_a_missing_store_holds_nothing_and_clear_says_whether_it_did(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    store = TokenStore(path, TokenStore.new_key())
    assert store.load() is None
    assert store.clear() is False
    store.save(stored())
    assert store.clear() is True
    assert not path.exists()
    assert store.load() is None
    assert store.clear() is False


@pytest.mark.parametrize(
    "key",
    [b"", b"too-short", b"x" * 44, "not base64 at all!", None],
    ids=["empty", "short", "wrong-length", "not-base64", "none"],
)
def test_a_bad_store_key_is_refused_plainly(tmp_path: Path, key: object) -> None:
    with pytest.raises(TokenStoreError) as refused:
        TokenStore(tmp_path / "tokens", key)  # type: ignore[arg-type]
    message = str(refused.value)
    assert message and "\n" not in message
    if isinstance(key, bytes) and key:
        assert key.decode() not in message


# -- the shape check ----------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


LIST_HEADER = _b64(b"[1, 2]")
NO_ALG_HEADER = _b64(b"{}")
HS256_HEADER = _b64(b'{"alg":"HS256"}')
UNSIGNED_HEADER = _b64(b'{"alg":"none"}')


@pytest.mark.parametrize(
    ("token", "valid", "reason"),
    [
        (None, False, "missing_token"),
        ("", False, "empty_token"),
        ("abc", False, "malformed_token"),
        ("a.b", False, "malformed_token"),
        ("a.b.c", False, "malformed_token"),  # three parts, but the header is not JSON
        ("a.b.c.d", False, "malformed_token"),
        (f"{LIST_HEADER}.e30.c2ln", False, "malformed_token"),  # JSON, but not an object
        (f"{NO_ALG_HEADER}.e30.c2ln", False, "malformed_token"),  # names no algorithm
        (f"{UNSIGNED_HEADER}.e30.", True, "valid_format"),  # unsigned: well-formed, for the gateway to refuse
        ("not a token.at.all", False, "malformed_token"),
        (12345, False, "malformed_token"),
        (ACCESS, True, "valid_format"),
        (f"{HS256_HEADER}.e30.c2ln", True, "valid_format"),  # shape only; genuineness is not checked
    ],
    ids=[
        "none",
        "empty",
        "one-part",
        "two-parts",
        "header-not-json",
        "four-parts",
        "header-not-object",
        "header-without-alg",
        "unsigned",
        "spaces",
        "not-text",
        "real-jwt",
        "any-signed-shape",
    ],
)
def test_check_token_format(token: object, valid: bool, reason: str) -> None:
    shape = check_token_format(token)
    assert (shape.valid, shape.reason) == (valid, reason)
    assert shape.detail and "\n" not in shape.detail
    if isinstance(token, str) and token:
        assert token not in shape.detail


# -- the token manager against the real services ------------------------------------------------------


def client(s: Services, **overrides: Any) -> Observed:
    """A client of the services, without the hook that keeps the tokens it was handed: it expects every
    answer to carry a token pair, and revocation answers and broken token answers do not. The tokens are
    read from the auth service's own record (``issued_tokens``) instead."""
    observed = s.client(**overrides)
    observed.client._http.event_hooks["response"].clear()
    return observed


def refresh_requests(s: Services) -> int:
    return s.auth_journal.count("token requested", grant_type="refresh_token")


def sign_ins(s: Services) -> int:
    return s.auth_journal.count("token requested", grant_type="api_key")


def latest_issued(s: Services, kind: str = "access") -> str:
    return [issued.value for issued in s.auth.issued_tokens(SUBJECT) if issued.kind == kind][-1]


def no_secret_in_events(observed: Observed, s: Services) -> None:
    issued = [issued.value for issued in s.auth.issued_tokens()]
    assert scan({"events": repr(observed.events)}, [*issued, observed.client.config.api_key]) == []


def test_every_token_is_checked_before_it_is_used() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = client(s)
            token = await observed.client.access_token()
            assert token == latest_issued(s)
            (checked,) = observed.named("token:checked")
            assert (checked.data["valid"], checked.data["reason"]) == (True, "valid_format")
            assert observed.names().index("token:checked") < observed.names().index("token:acquired")
            no_secret_in_events(observed, s)

    run(scenario)


def test_twenty_callers_refused_at_once_share_one_refresh() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = client(s)
            current = await observed.client.access_token()
            # A slow answer keeps the refresh in flight while every caller arrives.
            s.auth.program(ProgrammedResponse(200, delay_ms=100))
            tokens = await asyncio.gather(*(observed.client.access_token(refused=current) for _ in range(20)))

            assert refresh_requests(s) == 1
            assert sign_ins(s) == 1
            assert set(tokens) == {latest_issued(s)}
            assert tokens[0] != current
            (refreshed,) = observed.named("token:refreshed")
            assert refreshed.data["token"] == fingerprint(tokens[0])
            assert s.auth_journal.count("refresh token reused") == 0

            # A caller still holding the old token does not throw the new one away.
            assert await observed.client.access_token(refused=current) == tokens[0]
            assert refresh_requests(s) == 1
            no_secret_in_events(observed, s)

    run(scenario)


def test_a_caller_that_stops_waiting_does_not_cancel_the_refresh() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = client(s)
            current = await observed.client.access_token()
            s.auth.program(ProgrammedResponse(200, delay_ms=300))
            impatient = asyncio.create_task(observed.client.access_token(refused=current))
            await eventually(
                lambda: s.auth_journal.count("programmed response") == 1,
                what="the refresh reaching the auth service",
            )
            impatient.cancel()
            with pytest.raises(asyncio.CancelledError):
                await impatient

            # The request is still in flight: a later caller joins it instead of asking again.
            renewed = await observed.client.access_token()
            assert refresh_requests(s) == 1
            assert s.auth_journal.count("token refreshed") == 1  # the service did rotate the refresh token
            assert renewed == latest_issued(s) != current
            assert len(observed.named("token:refreshed")) == 1

            # The client holds the rotated refresh token: the next refresh is accepted, not taken for reuse.
            again = await observed.client.access_token(refused=renewed)
            assert again == latest_issued(s) != renewed
            assert refresh_requests(s) == 2
            assert s.auth_journal.count("token answered", grant_type="refresh_token", status=200) == 2
            assert s.auth_journal.count("refresh token reused") == 0
            assert observed.named("token:expired") == []
            assert sign_ins(s) == 1

    run(scenario)


def test_a_refused_refresh_ends_in_one_sign_in_with_the_key() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = client(s)
            current = await observed.client.access_token()
            s.auth.program(ProgrammedResponse(401, "invalid_grant", "The refresh token has expired"))
            renewed = await observed.client.access_token(refused=current)

            assert renewed == latest_issued(s) != current
            (expired,) = observed.named("token:expired")
            assert expired.data["requires_reauth"] is True
            assert expired.data["error"] == "invalid_grant"
            assert len(observed.named("token:acquired")) == 2
            names = observed.names()
            assert names.index("token:expired") < len(names) - 1 - names[::-1].index("token:acquired")
            assert observed.named("token:refreshed") == []
            assert (refresh_requests(s), sign_ins(s)) == (1, 2)

            # The new token family is used from now on; nothing asks again.
            assert await observed.client.access_token() == renewed
            assert (refresh_requests(s), sign_ins(s)) == (1, 2)
            no_secret_in_events(observed, s)

    run(scenario)


def test_a_refresh_token_revoked_at_the_service_ends_in_one_sign_in() -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = client(s)
            current = await observed.client.access_token()
            async with httpx.AsyncClient(base_url=s.auth.url, timeout=5) as http:
                response = await http.post(
                    "/oauth/revoke", json={"token": latest_issued(s, "refresh"), "token_type_hint": "refresh"}
                )
                assert response.status_code == 200
            renewed = await observed.client.access_token(refused=current)

            assert renewed == latest_issued(s) != current
            (expired,) = observed.named("token:expired")
            assert (expired.data["requires_reauth"], expired.data["error"]) == (True, "invalid_grant")
            assert (refresh_requests(s), sign_ins(s)) == (1, 2)

    run(scenario)


def test_renewal_events_name_the_refused_token() -> None:
    # A caller refused for its token asks for a newer one: the events about the renewal still say, by
    # fingerprint, which token was replaced (token:refreshed) or whose renewal was refused (token:expired).
    async def scenario() -> None:
        async with services() as s:
            observed = client(s)
            first = await observed.client.access_token()
            second = await observed.client.access_token(refused=first)
            (refreshed,) = observed.named("token:refreshed")
            assert (refreshed.data["previous"], refreshed.data["token"]) == (
                fingerprint(first),
                fingerprint(second),
            )

            s.auth.program(ProgrammedResponse(401, "invalid_grant", "The refresh token has expired"))
            await observed.client.access_token(refused=second)
            (expired,) = observed.named("token:expired")
            assert expired.data["token"] == fingerprint(second)

    run(scenario)


@pytest.mark.parametrize(
    ("flaw", "reason"),
    list(zip(ANSWER_FLAWS, ["missing_token", "empty_token", "malformed_token"], strict=True)),
)
def test_an_unusable_token_answer_is_refused_and_never_stored(tmp_path: Path, flaw: str, reason: str) -> None:
    async def scenario() -> None:
        async with services() as s:
            s.auth.token_flaw = flaw
            path = tmp_path / "tokens"
            observed = client(s, token_store_path=str(path), token_store_key=TokenStore.new_key())
            with pytest.raises(AuthError) as refused:
                await observed.client.access_token()
            assert refused.value.error == reason
            assert not refused.value.retryable
            (checked,) = observed.named("token:checked")
            assert (checked.data["valid"], checked.data["reason"]) == (False, reason)
            assert [event.data["error"] for event in observed.named("auth:error")] == [reason]
            assert observed.named("token:acquired") == []
            assert not path.exists()

    run(scenario)


def test_logout_revokes_clears_and_forgets_the_stored_tokens(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with services() as s:
            path, key = tmp_path / "tokens", TokenStore.new_key()
            observed = client(s, token_store_path=str(path), token_store_key=key)
            await ready(observed)
            kept = TokenStore(path, key).load()
            assert kept is not None and kept.refresh_token == latest_issued(s, "refresh")
            assert kept.access_token == latest_issued(s)

            await observed.client.logout()

            (revoked,) = observed.named("token:revoked")
            assert revoked.data == {"revoked": ["refresh_token", "access_token"], "failed": []}
            (cleanup,) = observed.named("auth:cleanup")
            assert cleanup.data["reason"] == "user_logout"
            assert cleanup.data["tokens_cleared"] == ["access_token", "refresh_token", "stored_tokens"]
            names = observed.names()
            assert names.index("token:revoked") < names.index("auth:cleanup")
            assert not path.exists()

            await refused_at_the_service(s, kept)
            with pytest.raises(ClientClosedError):
                await observed.client.access_token()
            no_secret_in_events(observed, s)

    run(scenario)


async def refused_at_the_service(s: Services, kept: StoredTokens) -> None:
    """The auth service no longer honours ``kept``: its refresh token is revoked, its access token too."""
    assert kept.refresh_token is not None
    async with httpx.AsyncClient(base_url=s.auth.url, timeout=5) as http:
        response = await http.post(
            "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": kept.refresh_token}
        )
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_grant"
    assert "has been revoked" in response.json()["error_description"]
    assert s.auth.is_revoked(AUTHORITY.verify(kept.access_token).token_id)


def test_a_restarted_client_takes_up_its_stored_tokens(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with services() as s:
            path, key = tmp_path / "tokens", TokenStore.new_key()
            first = client(s, token_store_path=str(path), token_store_key=key)
            token = await first.client.access_token()
            await first.client.close()
            (cleanup,) = first.named("auth:cleanup")
            assert (cleanup.data["reason"], cleanup.data["tokens_cleared"]) == (
                "shutdown",
                ["access_token", "refresh_token"],
            )
            assert first.named("token:revoked") == []
            assert path.exists()

            second = client(s, token_store_path=str(path), token_store_key=key)
            await ready(second)
            assert await second.client.access_token() == token
            (restored,) = second.named("token:restored")
            assert restored.data["token"] == fingerprint(token)
            assert restored.data["refresh_token"] is True
            assert 0 < restored.data["expires_in_ms"] <= 60_000
            assert second.named("token:acquired") == []
            assert (sign_ins(s), refresh_requests(s)) == (1, 0)
            # The gateway accepted the restored token.
            assert s.gateway_journal.count("connection opened") == 1

            # Its refresh token is taken up too: the next renewal is a refresh, not a sign-in.
            renewed = await second.client.access_token(refused=token)
            assert renewed == latest_issued(s) != token
            assert (sign_ins(s), refresh_requests(s)) == (1, 1)
            no_secret_in_events(second, s)

    run(scenario)


def test_a_restarted_client_that_logs_out_revokes_its_stored_tokens(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with services() as s:
            path, key = tmp_path / "tokens", TokenStore.new_key()
            first = client(s, token_store_path=str(path), token_store_key=key)
            await first.client.access_token()
            await first.client.close()
            kept = TokenStore(path, key).load()
            assert kept is not None

            # The next run only logs out (a "sign out" command): the stored sign-in must end with it.
            second = client(s, token_store_path=str(path), token_store_key=key)
            await second.client.logout()

            assert not path.exists()
            (revoked,) = second.named("token:revoked")
            assert revoked.data == {"revoked": ["refresh_token", "access_token"], "failed": []}
            await refused_at_the_service(s, kept)

    run(scenario)


def test_an_unreadable_store_is_reported_and_the_client_signs_in_with_its_key(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with services() as s:
            path = tmp_path / "tokens"
            first = client(s, token_store_path=str(path), token_store_key=TokenStore.new_key())
            old = await first.client.access_token()
            await first.client.close()

            other_key = TokenStore.new_key()
            second = client(s, token_store_path=str(path), token_store_key=other_key)
            await ready(second)
            (unreadable,) = second.named("token:store_unreadable")
            assert "another key or has been tampered with" in unreadable.data["reason"]
            one_line_without_secrets(unreadable.data["reason"], old, latest_issued(s, "refresh"))
            assert second.named("token:restored") == []
            assert len(second.named("token:acquired")) == 1
            assert sign_ins(s) == 2
            token = await second.client.access_token()
            assert token == latest_issued(s) != old

            # The store now holds the new sign-in, readable with the key in use.
            kept = TokenStore(path, other_key).load()
            assert kept is not None and kept.access_token == token
            no_secret_in_events(second, s)

    run(scenario)
