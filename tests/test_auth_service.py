"""The mock auth service, exercised over real loopback HTTP with httpx."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest

from realtime_protocol.secrets import fingerprint
from support.services.auth.accounts import Account, FailureLimiter
from support.services.auth.authorization_server import AuthorizationServer
from support.services.auth.programmed import ProgrammedResponse
from support.services.auth.service import AuthService
from support.services.auth.tokens import TokenAuthority
from support.services.journal import Journal

T = TypeVar("T")

API_KEY = "key-live-8f2c1d0e9b7a"
ACCOUNT = Account(subject="client-7", channels=("prices", "orders"))

# One signing key for the whole module: key generation is the only slow part of a TokenAuthority.
AUTHORITY = TokenAuthority()

Scenario = Callable[[AuthService, httpx.AsyncClient, Journal], Awaitable[T]]


def serve(
    scenario: Scenario[T],
    *,
    access_lifetime_ms: int = 60_000,
    refresh_lifetime_ms: int = 600_000,
    **limits: int,
) -> T:
    """Run one scenario against a fresh service with API_KEY registered, then tear everything down."""

    async def main() -> T:
        journal = Journal("auth")
        service = AuthService(
            AUTHORITY,
            journal,
            access_lifetime_ms=access_lifetime_ms,
            refresh_lifetime_ms=refresh_lifetime_ms,
            **limits,  # type: ignore[arg-type]
        )
        await service.start()
        try:
            service.register(API_KEY, ACCOUNT)
            async with httpx.AsyncClient(base_url=service.url, timeout=5.0) as client:
                return await scenario(service, client, journal)
        finally:
            await service.stop()

    return asyncio.run(main())


async def sign_in(
    client: httpx.AsyncClient, api_key: str = API_KEY, client_id: str | None = None
) -> httpx.Response:
    body = {"grant_type": "api_key", "api_key": api_key}
    if client_id is not None:
        body["client_id"] = client_id
    return await client.post("/oauth/token", json=body)


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/oauth/token", json={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str) and "\n" not in body["error_description"]
    return body


def test_health() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        response = await client.get("/health")
        assert response.status_code == 200
        assert response.json()["status"] == "up"
        assert response.json()["checks"]["accounts"] == 1
        assert service.url == f"http://127.0.0.1:{service.port}"
        assert service.requests_seen == 0

    serve(scenario)


def test_api_key_grant_issues_a_verifiable_access_token() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.access_lifetime_ms = 1_500
        response = await sign_in(client)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        assert body["token_type"] == "Bearer"
        assert body["expires_in"] == pytest.approx(1.5)
        assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 32
        claims = AUTHORITY.verify(body["access_token"])
        assert claims.subject == "client-7"
        assert claims.channels == ("prices", "orders")
        assert 0 < claims.seconds_left() <= 1.5
        assert service.requests_seen == 1
        assert (
            journal.count("token answered", grant_type="api_key", status=200, key=fingerprint(API_KEY)) == 1
        )
        assert (
            journal.count(
                "token issued",
                subject="client-7",
                access=fingerprint(body["access_token"]),
                refresh=fingerprint(body["refresh_token"]),
                lifetime_ms=1_500,
            )
            == 1
        )

    serve(scenario)


def test_unknown_api_key_is_refused_as_invalid_client() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        body = assert_oauth_error(await sign_in(client, "key-nobody-knows"), 401, "invalid_client")
        assert body["error_description"] == "The API key is not recognised"
        assert journal.count("request refused", status=401, error="invalid_client") == 1
        assert journal.count("token answered", status=401, key=fingerprint("key-nobody-knows")) == 1

    serve(scenario)


def test_refresh_rotates_the_refresh_token() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        first = (await sign_in(client)).json()
        response = await refresh(client, first["refresh_token"])
        assert response.status_code == 200, response.text
        second = response.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        assert AUTHORITY.verify(second["access_token"]).subject == "client-7"
        assert (
            journal.count(
                "token refreshed",
                previous_refresh=fingerprint(first["refresh_token"]),
                refresh=fingerprint(second["refresh_token"]),
            )
            == 1
        )

        # The new refresh token works in turn.
        third = await refresh(client, second["refresh_token"])
        assert third.status_code == 200, third.text

    serve(scenario)


def test_presenting_a_rotated_refresh_token_is_reuse_and_revokes_the_family() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        first = (await sign_in(client)).json()
        second = (await refresh(client, first["refresh_token"])).json()

        assert_oauth_error(await refresh(client, first["refresh_token"]), 401, "invalid_grant")
        assert journal.count("refresh token reused", refresh=fingerprint(first["refresh_token"])) == 1

        # The newest token in the family is dead too, and presenting it is not itself reuse.
        assert_oauth_error(await refresh(client, second["refresh_token"]), 401, "invalid_grant")
        assert journal.count("refresh token reused") == 1

        # A fresh sign-in starts a new, unaffected family.
        again = (await sign_in(client)).json()
        assert (await refresh(client, again["refresh_token"])).status_code == 200

    serve(scenario)


def test_unknown_and_expired_refresh_tokens_are_invalid_grant() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        assert_oauth_error(await refresh(client, "not-a-refresh-token"), 401, "invalid_grant")
        # refresh_lifetime_ms=0: the refresh token is expired the moment it is issued.
        issued = (await sign_in(client)).json()
        body = assert_oauth_error(await refresh(client, issued["refresh_token"]), 401, "invalid_grant")
        assert "expired" in body["error_description"]

    serve(scenario, refresh_lifetime_ms=0)


def test_revoke_endpoint() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        tokens = (await sign_in(client)).json()

        response = await client.post("/oauth/revoke", json={"token": tokens["refresh_token"]})
        assert response.status_code == 200
        assert response.json() == {}
        assert_oauth_error(await refresh(client, tokens["refresh_token"]), 401, "invalid_grant")

        token_id = AUTHORITY.verify(tokens["access_token"]).token_id
        assert not service.is_revoked(token_id)
        response = await client.post("/oauth/revoke", json={"token": tokens["access_token"]})
        assert response.status_code == 200
        assert service.is_revoked(token_id)
        assert journal.count("token revoked", token_type="refresh") == 1
        assert journal.count("token revoked", token_type="access") == 1

        # Unknown tokens are acknowledged (RFC 7009); a missing token is a bad request.
        assert (await client.post("/oauth/revoke", json={"token": "whatever"})).status_code == 200
        assert_oauth_error(await client.post("/oauth/revoke", json={}), 400, "invalid_request")

    serve(scenario)


def test_programmed_429_carries_retry_after() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.program(ProgrammedResponse(429, "rate_limited", "Slow down", retry_after_s=0.25))
        response = await sign_in(client)
        body = assert_oauth_error(response, 429, "rate_limited")
        assert body["error_description"] == "Slow down"
        assert response.headers["Retry-After"] == "0.25"
        assert journal.count("programmed response", status=429, error="rate_limited", delay_ms=0) == 1
        assert journal.count("token answered", status=429) == 1
        assert (await sign_in(client)).status_code == 200

    serve(scenario)


def test_programmed_500_then_normal() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.program(ProgrammedResponse(500))
        failed = await sign_in(client)
        assert_oauth_error(failed, 500, "server_error")
        assert "Retry-After" not in failed.headers
        assert (await sign_in(client)).status_code == 200
        assert service.requests_seen == 2

    serve(scenario)


def test_programmed_responses_are_used_in_order() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.program(
            ProgrammedResponse(503, "server_error", retry_after_s=2),
            ProgrammedResponse(401, "invalid_client"),
        )
        first = await sign_in(client)
        assert_oauth_error(first, 503, "server_error")
        assert first.headers["Retry-After"] == "2"
        assert_oauth_error(await sign_in(client), 401, "invalid_client")
        assert (await sign_in(client)).status_code == 200
        assert service.programmed_pending == 0

    serve(scenario)


def test_programmed_delay_answers_normally_but_late() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.program(ProgrammedResponse(200, delay_ms=150))
        started = time.monotonic()
        response = await sign_in(client)
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        assert AUTHORITY.verify(response.json()["access_token"]).subject == "client-7"
        assert elapsed >= 0.15
        assert journal.count("programmed response", status=200, delay_ms=150) == 1

    serve(scenario)


@pytest.mark.parametrize(
    "request_body",
    [
        {"content": b"not json"},
        {"content": b"[1, 2]"},
        {"json": {}},
        {"json": {"grant_type": "password"}},
        {"json": {"grant_type": "api_key"}},
        {"json": {"grant_type": "refresh_token", "refresh_token": 7}},
    ],
    ids=[
        "not-json",
        "not-an-object",
        "no-grant-type",
        "unknown-grant-type",
        "no-api-key",
        "bad-refresh-token",
    ],
)
def test_bad_requests_are_invalid_request(request_body: dict[str, Any]) -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        response = await client.post(
            "/oauth/token", headers={"content-type": "application/json"}, **request_body
        )
        assert_oauth_error(response, 400, "invalid_request")
        assert journal.count("request refused", status=400, error="invalid_request") == 1

    serve(scenario)


def test_stop_then_start_rebinds_the_same_port() -> None:
    async def main() -> None:
        service = AuthService(AUTHORITY, Journal("auth"), access_lifetime_ms=1_000, refresh_lifetime_ms=1_000)
        await service.start()
        port = service.port
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                assert (await client.get(f"{service.url}/health")).status_code == 200
            await service.stop()
            await service.stop()  # idempotent
            assert not service.running
            async with httpx.AsyncClient(timeout=5.0) as client:
                with pytest.raises(httpx.ConnectError):
                    await client.get(f"http://127.0.0.1:{port}/health")
            await service.start()
            assert service.port == port
            async with httpx.AsyncClient(timeout=5.0) as client:
                assert (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200
        finally:
            await service.stop()

    asyncio.run(main())


def test_reset_forgets_keys_tokens_programs_and_journal() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        tokens = (await sign_in(client)).json()
        service.access_lifetime_ms = 5_000
        service.program(ProgrammedResponse(503))

        service.reset()
        assert service.requests_seen == 0
        assert service.programmed_pending == 0
        assert service.access_lifetime_ms == 60_000
        assert list(journal) == []

        assert_oauth_error(await sign_in(client), 401, "invalid_client")
        assert_oauth_error(await refresh(client, tokens["refresh_token"]), 401, "invalid_grant")
        assert service.requests_seen == 2

        service.register(API_KEY, ACCOUNT)
        assert (await sign_in(client)).status_code == 200

    serve(scenario)


def test_no_secret_reaches_the_journal() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> list[str]:
        secrets_seen = [API_KEY, "key-nobody-knows", "refresh-nobody-knows"]
        service.program(ProgrammedResponse(429, retry_after_s=1), ProgrammedResponse(200, delay_ms=1))
        await sign_in(client)
        first = (await sign_in(client)).json()
        second = (await refresh(client, first["refresh_token"])).json()
        await refresh(client, first["refresh_token"])  # reuse
        third = (await sign_in(client)).json()
        await client.post("/oauth/revoke", json={"token": third["access_token"]})
        await client.post("/oauth/revoke", json={"token": third["refresh_token"]})
        await client.post("/oauth/revoke", json={"token": "refresh-nobody-knows"})
        await sign_in(client, "key-nobody-knows")
        await refresh(client, "refresh-nobody-knows")
        await client.post("/oauth/token", json={"grant_type": "password", "api_key": API_KEY})
        for tokens in (first, second, third):
            secrets_seen += [tokens["access_token"], tokens["refresh_token"]]

        entries = list(journal)
        text = repr(entries) + "\n".join(entry.describe() for entry in entries) + repr(service)
        for secret in secrets_seen:
            assert secret not in text
        # The secrets are referred to, just by fingerprint.
        assert fingerprint(API_KEY) in text
        assert fingerprint(second["refresh_token"]) in text
        return [entry.kind for entry in entries]

    kinds = set(serve(scenario))
    assert {
        "token requested",
        "token issued",
        "token refreshed",
        "request refused",
        "programmed response",
        "token revoked",
        "refresh token reused",
    } <= kinds


def test_stop_does_not_wait_out_a_long_programmed_delay() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> float:
        service.program(ProgrammedResponse(200, delay_ms=30_000))
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/oauth/token", json={"grant_type": "api_key", "api_key": API_KEY}, timeout=0.1)
        started = time.monotonic()
        await service.stop()
        return time.monotonic() - started

    assert serve(scenario) < 5.0


# -- throttling a caller whose sign-ins keep failing -----------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_limiter_lets_a_caller_fail_up_to_the_limit_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(limit=3, window_ms=1_000, clock=clock)
    for _ in range(2):
        limiter.record_failure("mallory")
        clock.now += 0.1
    assert limiter.wait_s("mallory") is None
    limiter.record_failure("mallory")  # the third, at 100.2
    assert limiter.failures("mallory") == 3
    assert limiter.wait_s("mallory") == pytest.approx(0.8)  # until the first, at 100.0, leaves the window
    clock.now = 100.9
    assert limiter.wait_s("mallory") == pytest.approx(0.1)
    clock.now = 101.0
    assert limiter.wait_s("mallory") is None
    assert limiter.failures("mallory") == 2


def test_the_limiter_counts_each_caller_apart() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(limit=2, window_ms=500, clock=clock)
    limiter.record_failure("mallory")
    limiter.record_failure("mallory")
    limiter.record_failure("alice")
    assert limiter.wait_s("mallory") == pytest.approx(0.5)
    assert limiter.wait_s("alice") is None
    assert limiter.wait_s("bob") is None
    limiter.reset()
    assert limiter.wait_s("mallory") is None and limiter.failures("mallory") == 0


def test_a_caller_over_the_limit_waits_until_enough_failures_have_aged_out() -> None:
    # Failures that slipped in together (say, answered after a programmed delay) can take a caller over
    # the limit; it is heard again only once it is back under.
    clock = FakeClock()
    limiter = FailureLimiter(limit=2, window_ms=1_000, clock=clock)
    for _ in range(4):
        limiter.record_failure("mallory")
        clock.now += 0.1
    # Now 100.4: the third failure, at 100.2, must age out before only one is left.
    assert limiter.wait_s("mallory") == pytest.approx(0.8)


@pytest.mark.parametrize(("limit", "window_ms"), [(0, 1_000), (3, 0)])
def test_the_limiter_refuses_a_limit_or_window_that_means_nothing(limit: int, window_ms: int) -> None:
    with pytest.raises(ValueError, match="at least"):
        FailureLimiter(limit=limit, window_ms=window_ms)


def test_failed_sign_ins_beyond_the_limit_are_throttled_for_that_caller_only() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        answers = [await sign_in(client, "key-wrong", client_id="mallory") for _ in range(5)]
        assert [answer.status_code for answer in answers] == [401, 401, 401, 429, 429]
        throttled = assert_oauth_error(answers[3], 429, "rate_limited")
        assert throttled["error_description"] == "Too many failed sign-ins; wait before trying again"
        assert 0 < float(answers[3].headers["Retry-After"]) <= 60
        assert answers[3].headers["Cache-Control"] == "no-store"

        # Even a right key is refused while the caller is throttled; everyone else signs in as usual.
        assert_oauth_error(await sign_in(client, client_id="mallory"), 429, "rate_limited")
        assert (await sign_in(client, client_id="alice")).status_code == 200
        assert (await sign_in(client, "key-wrong", client_id="alice")).status_code == 401

        assert journal.count("sign-in throttled", caller="mallory") == 3
        assert journal.count("sign-in throttled") == 3
        assert journal.count("token requested", caller="alice") == 2
        assert journal.count("request refused", status=429, error="rate_limited") == 3
        assert service.limiter is not None and service.limiter.failures("mallory") == 3

    serve(scenario, failure_limit=3, failure_window_ms=60_000)


def test_a_throttled_caller_is_heard_again_once_its_pause_has_passed() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        assert (await sign_in(client, "key-wrong", client_id="mallory")).status_code == 401
        throttled = await sign_in(client, client_id="mallory")
        assert throttled.status_code == 429
        pause_s = float(throttled.headers["Retry-After"])
        assert 0 < pause_s <= 0.3
        # Waiting exactly as long as asked is the behaviour under test, so this sleep is the scenario.
        await asyncio.sleep(pause_s)
        assert (await sign_in(client, client_id="mallory")).status_code == 200

    serve(scenario, failure_limit=1, failure_window_ms=300)


def test_callers_without_a_client_id_are_told_apart_by_address() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        assert (await sign_in(client, "key-wrong")).status_code == 401
        assert (await sign_in(client, "key-wrong", client_id="  ")).status_code == 429
        assert (await sign_in(client, client_id="alice")).status_code == 200
        assert journal.count("sign-in throttled", caller="address 127.0.0.1") == 1

    serve(scenario, failure_limit=1, failure_window_ms=60_000)


def test_refused_refresh_tokens_count_but_programmed_refusals_do_not() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.program(*[ProgrammedResponse(401, "invalid_client")] * 3)
        for _ in range(3):
            assert (await sign_in(client, client_id="kiosk")).status_code == 401
        assert (await sign_in(client, client_id="kiosk")).status_code == 200
        body = {"grant_type": "refresh_token", "refresh_token": "refresh-nobody-knows", "client_id": "kiosk"}
        for _ in range(2):
            assert (await client.post("/oauth/token", json=body)).status_code == 401
        assert (await sign_in(client, client_id="kiosk")).status_code == 429

    serve(scenario, failure_limit=2, failure_window_ms=60_000)


def test_without_a_limit_nobody_is_throttled() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        for _ in range(20):
            assert (await sign_in(client, "key-wrong", client_id="mallory")).status_code == 401
        assert service.limiter is None

    serve(scenario)


def test_reset_forgets_the_failures_it_counted() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        assert (await sign_in(client, "key-wrong", client_id="mallory")).status_code == 401
        assert (await sign_in(client, client_id="mallory")).status_code == 429
        service.reset()
        service.register(API_KEY, ACCOUNT)
        assert (await sign_in(client, client_id="mallory")).status_code == 200

    serve(scenario, failure_limit=1, failure_window_ms=60_000)


def test_an_account_s_publish_rights_are_signed_into_its_access_token() -> None:
    async def scenario(service: AuthService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.register("key-reader", Account(subject="rita", channels=("*",), publish_channels=()))
        reader = AUTHORITY.verify((await sign_in(client, "key-reader")).json()["access_token"])
        member = AUTHORITY.verify((await sign_in(client)).json()["access_token"])
        assert reader.allows("news") and not reader.may_publish("news")
        # An account without publish rights of its own posts wherever it reads, as before.
        assert member.publish_channels is None and member.may_publish("prices")
        assert not member.may_publish("news")

    serve(scenario)


# -- the rules without HTTP --------------------------------------------------------------------------------


def test_the_rules_answer_a_token_request_given_as_bytes_without_any_socket() -> None:
    rules = AuthorizationServer(
        AUTHORITY, Journal("auth"), access_lifetime_ms=2_000, refresh_lifetime_ms=2_000
    )
    rules.register(API_KEY, ACCOUNT)
    rules.program(ProgrammedResponse(200, delay_ms=40))
    request = rules.receive_token_request(
        b'{"grant_type": "api_key", "api_key": "%s"}' % API_KEY.encode(), None
    )
    # The delay is the network code's to wait out; the rules only say how long.
    assert (request.delay_ms, request.caller, request.answer) == (40, "address unknown", None)
    answer = rules.answer_token_request(request)
    assert (answer.status, answer.headers) == (200, {"Cache-Control": "no-store"})
    assert AUTHORITY.verify(answer.body["access_token"]).subject == ACCOUNT.subject
    assert rules.requests_seen == 1 and rules.programmed_pending == 0


def test_the_rules_answer_a_throttled_caller_on_arrival() -> None:
    rules = AuthorizationServer(
        AUTHORITY,
        Journal("auth"),
        access_lifetime_ms=2_000,
        refresh_lifetime_ms=2_000,
        failure_limit=1,
        failure_window_ms=60_000,
    )
    wrong = b'{"grant_type": "api_key", "api_key": "key-wrong", "client_id": "mallory"}'
    refused = rules.answer_token_request(rules.receive_token_request(wrong, "10.0.0.7"))
    assert (refused.status, refused.body["error"]) == (401, "invalid_client")
    rules.program(ProgrammedResponse(503))  # not taken: a throttled caller is answered before any program
    throttled = rules.receive_token_request(wrong, "10.0.0.7")
    assert throttled.answer is not None and throttled.programmed is None
    assert throttled.answer.status == 429
    assert 59 < float(throttled.answer.headers["Retry-After"]) <= 60
    assert rules.answer_token_request(throttled) is throttled.answer
    assert rules.programmed_pending == 1


def test_an_unknown_token_flaw_is_refused_with_the_known_ones() -> None:
    rules = AuthorizationServer(
        AUTHORITY, Journal("auth"), access_lifetime_ms=2_000, refresh_lifetime_ms=2_000
    )
    with pytest.raises(ValueError, match=r"unknown token flaw 'rusty' \(known: tampered, .*, malformed\)"):
        rules.hand_out_flawed_tokens("rusty")
    assert rules.token_flaw is None
