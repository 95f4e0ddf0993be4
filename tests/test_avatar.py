"""The avatar service over real loopback HTTP, the client's audio and avatar parts against it, and the
health every service and the client report."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from realtime_protocol.secrets import fingerprint
from reference_client import ClientConfig, ClientEvent, RealtimeClient
from reference_client.audio import AudioSubsystem
from reference_client.avatar import AvatarSubsystem
from reference_client.events import EventEmitter
from support.harness.settings import Settings, read_ini_defaults
from support.services.avatar.service import AvatarService
from support.services.journal import Journal
from support.services.stack import ServiceStack
from tests.polling import eventually

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
SETTINGS = Settings.load(read_ini_defaults(ROOT / "behave.ini"), {}, {"seed": "7"})
KEY = "avk_test_0123456789abcdef"
TIMEOUT_MS = 200


def serve(scenario: Callable[[AvatarService, httpx.AsyncClient, Journal], Awaitable[T]]) -> T:
    """Run one scenario against a fresh avatar service that knows KEY, then tear everything down."""

    async def main() -> T:
        journal = Journal("avatar service")
        service = AvatarService(journal, random.Random(3))
        await service.start()
        try:
            service.register_key(KEY)
            async with httpx.AsyncClient(base_url=service.url, timeout=5.0) as client:
                return await scenario(service, client, journal)
        finally:
            await service.stop()

    return asyncio.run(main())


def with_avatar(
    scenario: Callable[[AvatarService, AvatarSubsystem, list[ClientEvent]], Awaitable[None]],
) -> None:
    """Run one scenario with the client's avatar part talking to a fresh avatar service."""

    async def main(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        seen: list[ClientEvent] = []
        events = EventEmitter()
        events.add_listener(seen.append)
        avatar = AvatarSubsystem(service.url, KEY, events, timeout_ms=TIMEOUT_MS)
        try:
            await avatar.initialize()
            await scenario(service, avatar, seen)
        finally:
            await avatar.cleanup("the test ended")

    serve(main)


def named(seen: list[ClientEvent], name: str) -> list[dict[str, Any]]:
    return [dict(event.data) for event in seen if event.name == name]


# -- the service ------------------------------------------------------------------------------------------


def test_a_session_is_created_updated_and_closed_with_the_api_key() -> None:
    async def scenario(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        headers = {"X-Api-Key": KEY}
        body = {"avatar_id": "Anna", "quality": "high", "background": "office"}
        created = (await client.post("/v1/streaming.new", json=body, headers=headers)).json()
        assert created["status"] == "active" and created["avatar_id"] == "Anna"
        assert created["stream_url"].startswith("ws://127.0.0.1:")
        session_id = created["session_id"]
        update = {"session_id": session_id, "speaking": True, "voice_sync": True, "voice_id": "v1"}
        assert (await client.post("/v1/streaming.update", json=update, headers=headers)).json()["speaking"]
        status = await client.get("/v1/streaming.status", params={"session_id": session_id}, headers=headers)
        assert status.json()["voice_id"] == "v1"
        stop = {"session_id": session_id, "reason": "done"}
        closed = (await client.post("/v1/streaming.stop", json=stop, headers=headers)).json()
        assert (closed["status"], closed["close_reason"]) == ("closed", "done")
        again = await client.post("/v1/streaming.update", json=update, headers=headers)
        assert again.status_code == 409
        kinds = [entry.kind for entry in journal]
        assert "avatar session created" in kinds and "avatar session closed" in kinds

    serve(scenario)


def test_a_call_without_the_right_key_is_refused_and_the_key_never_journaled() -> None:
    async def scenario(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        wrong = "avk_wrong_key_never_to_be_seen"
        answer = await client.post("/v1/streaming.new", json={"avatar_id": "A"}, headers={"X-Api-Key": wrong})
        assert answer.status_code == 401
        assert (await client.post("/v1/streaming.new", json={"avatar_id": "A"})).status_code == 401
        written = " ".join(entry.describe() for entry in journal)
        assert wrong not in written and fingerprint(wrong) in written

    serve(scenario)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({}, "avatar_id"),
        ({"avatar_id": "A", "quality": "ultra"}, "quality"),
        ({"avatar_id": ""}, "avatar_id"),
    ],
)
def test_a_bad_request_gets_a_400_saying_what_is_wrong(body: dict[str, Any], problem: str) -> None:
    async def scenario(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        answer = await client.post("/v1/streaming.new", json=body, headers={"X-Api-Key": KEY})
        assert answer.status_code == 400
        assert problem in answer.json()["message"]

    serve(scenario)


def test_health_follows_unavailability_and_slowness() -> None:
    async def scenario(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        assert (await client.get("/health")).json()["status"] == "up"
        service.become_unavailable()
        down = await client.get("/health")
        assert (down.status_code, down.json()["status"]) == (503, "down")
        refused = await client.post("/v1/streaming.new", json={"avatar_id": "A"}, headers={"X-Api-Key": KEY})
        assert refused.status_code == 503
        service.recover()
        service.become_slow(50)
        assert (await client.get("/health")).json()["status"] == "degraded"
        service.recover()
        assert (await client.get("/health")).json()["status"] == "up"

    serve(scenario)


def test_a_slow_answer_begun_before_a_reset_leaves_the_next_scenario_untouched() -> None:
    async def scenario(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        service.become_slow(100)
        slow = asyncio.create_task(
            client.post("/v1/streaming.new", json={"avatar_id": "A"}, headers={"X-Api-Key": KEY})
        )
        await eventually(lambda: bool(journal.entries("request received")), what="the request to arrive")
        service.reset()
        service.register_key(KEY)
        assert (await slow).status_code == 503
        assert service.sessions() == []
        assert list(journal) == []

    serve(scenario)


# -- the client's audio -----------------------------------------------------------------------------------


def test_audio_settings_are_checked_before_they_are_taken() -> None:
    audio = AudioSubsystem(EventEmitter())
    assert audio.problems_with({"sample_rate": 48_000, "buffer_size": 1024}) == []
    problems = audio.problems_with({"sample_rate": 12_345, "buffer_size": 1000, "volume": 3})
    assert len(problems) == 3
    assert "sample_rate" in problems[0] and "buffer_size" in problems[1] and "volume" in problems[2]
    assert audio.problems_with({"sample_rate": True}) != []
    audio.apply({"sample_rate": 16_000})
    assert audio.settings() == {"sample_rate": 16_000, "buffer_size": 4096}
    with pytest.raises(ValueError, match="buffer_size"):
        AudioSubsystem(EventEmitter(), buffer_size=3)


def test_the_voice_tells_whoever_follows_it_when_it_speaks_and_stops() -> None:
    async def main() -> None:
        seen: list[ClientEvent] = []
        events = EventEmitter()
        events.add_listener(seen.append)
        audio = AudioSubsystem(events)
        heard: list[tuple[str | None, bool]] = []

        async def follower(voice_id: str | None, speaking: bool) -> None:
            heard.append((voice_id, speaking))

        audio.on_speaking(follower)
        assert audio.health()[0] == "down"
        await audio.initialize()
        await audio.start_speaking("v1")
        await audio.stop_speaking()
        await audio.stop_speaking()  # not speaking: nothing to say
        assert heard == [("v1", True), ("v1", False)]
        assert [event["speaking"] for event in named(seen, "voice:speaking")] == [True, False]
        assert audio.health()[0] == "up"
        await audio.cleanup("done")
        await audio.cleanup("done")
        assert len(named(seen, "audio:cleanup")) == 1
        assert audio.health()[0] == "down"

    asyncio.run(main())


# -- the client's avatar ----------------------------------------------------------------------------------


def test_the_avatar_starts_follows_the_voice_and_is_closed_at_cleanup() -> None:
    async def scenario(service: AvatarService, avatar: AvatarSubsystem, seen: list[ClientEvent]) -> None:
        created = await avatar.start("Anna", "high", "office")
        assert created is not None and created["status"] == "active"
        assert named(seen, "session:created")[0]["component"] == "avatar"
        await avatar.follow_voice("v1", True)
        assert named(seen, "voice:coordination") == [
            {
                "component": "avatar",
                "avatar_session_id": created["session_id"],
                "voice_id": "v1",
                "sync_required": True,
                "speaking": True,
            }
        ]
        assert service.sessions()[0].speaking
        assert avatar.health()[0] == "up"
        await avatar.cleanup("the user left")
        await avatar.cleanup("again")
        assert [(s.status, s.close_reason) for s in service.sessions()] == [("closed", "the user left")]
        cleanups = named(seen, "session:cleanup")
        assert len(cleanups) == 1 and cleanups[0]["closed_at_service"] is True
        assert avatar.health()[0] == "down"
        assert avatar._http.is_closed

    with_avatar(scenario)


@pytest.mark.parametrize("trouble", ["unavailable", "slow"])
def test_an_avatar_service_in_trouble_means_voice_only_until_it_starts_again(trouble: str) -> None:
    async def scenario(service: AvatarService, avatar: AvatarSubsystem, seen: list[ClientEvent]) -> None:
        if trouble == "unavailable":
            service.become_unavailable()
        else:
            service.become_slow(TIMEOUT_MS * 3)
        assert await avatar.start("Anna") is None
        error = named(seen, "session:error")[0]
        assert (error["recoverable"], error["fallback"], error["operation"]) == (True, "voice_only", "start")
        assert ("503" if trouble == "unavailable" else f"{TIMEOUT_MS} ms") in error["error"]
        assert avatar.health()[0] == "degraded"
        await avatar.follow_voice("v1", True)  # voice only: nothing is sent, nothing is said
        assert named(seen, "voice:coordination") == []
        service.recover()
        assert await avatar.start("Anna") is not None
        assert avatar.health()[0] == "up"

    with_avatar(scenario)


def test_a_refused_key_is_not_worth_retrying() -> None:
    async def main(service: AvatarService, client: httpx.AsyncClient, journal: Journal) -> None:
        seen: list[ClientEvent] = []
        events = EventEmitter()
        events.add_listener(seen.append)
        avatar = AvatarSubsystem(service.url, "avk_not_known", events, timeout_ms=TIMEOUT_MS)
        try:
            assert await avatar.start("Anna") is None
        finally:
            await avatar.cleanup("done")
        error = named(seen, "session:error")[0]
        assert (error["status"], error["recoverable"]) == (401, False)
        assert "avk_not_known" not in str(seen)

    serve(main)


def test_avatar_settings_are_checked_before_they_are_taken() -> None:
    async def main() -> None:
        avatar = AvatarSubsystem("http://127.0.0.1:9", KEY, EventEmitter(), timeout_ms=100)
        try:
            assert avatar.problems_with({"timeout_ms": 50, "quality": "low"}) == []
            assert len(avatar.problems_with({"timeout_ms": 0, "quality": "8k", "colour": "red"})) == 3
            avatar.apply({"timeout_ms": 50})
            assert avatar.settings()["timeout_ms"] == 50
        finally:
            await avatar.cleanup("done")

    asyncio.run(main())


def test_an_avatar_needs_both_its_address_and_its_key() -> None:
    with pytest.raises(ValueError, match="avatar_url and avatar_api_key go together"):
        ClientConfig(auth_url="http://a", gateway_url="ws://g", api_key="k", avatar_url="http://v")
    with pytest.raises(ValueError, match="avatar_url must be"):
        ClientConfig(
            auth_url="http://a", gateway_url="ws://g", api_key="k", avatar_url="ftp://v", avatar_api_key="x"
        )


def test_a_client_not_yet_connected_is_down_and_names_its_parts() -> None:
    async def main() -> dict[str, Any]:
        client = RealtimeClient(
            ClientConfig(auth_url="http://127.0.0.1:9", gateway_url="ws://127.0.0.1:9", api_key="k")
        )
        try:
            return client.health()
        finally:
            await client.close()

    health = asyncio.run(main())
    assert (health["status"], health["state"], health["session_id"]) == ("down", "initialized", None)
    assert list(health["subsystems"]) == ["auth", "session", "logger", "audio"]


# -- every service's health, as a monitor asks ------------------------------------------------------------


@pytest.fixture(scope="module")
def stack() -> Iterator[ServiceStack]:
    services = ServiceStack(SETTINGS)
    services.start()
    try:
        yield services
    finally:
        assert services.stop() == []


def test_every_service_is_up_and_the_gateway_degraded_without_the_auth_service(stack: ServiceStack) -> None:
    stack.reset(seed=5)
    assert [stack.health_of(name).status for name in ("auth service", "gateway", "avatar service")] == [
        "up",
        "up",
        "up",
    ]
    stack.auth.stop()
    try:
        assert stack.health_of("auth service").status == "down"
        gateway = stack.health_of("gateway")
        assert gateway.status == "degraded"
        assert "revocation list" in gateway.describe()
    finally:
        stack.auth.start()
    assert stack.health_of("gateway").status == "up"
    with pytest.raises(ValueError, match="no service is called"):
        stack.health_of("mail server")
