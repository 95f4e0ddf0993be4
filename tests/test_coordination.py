"""The client's parts working together: start-up and shutdown order, configuration updates all or nothing,
one recovery for failures that come together; and the suite's words for them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from reference_client import ClientConfig, ConfigError, RealtimeClient
from reference_client.coordination import Coordinator, Recovery, failed_part, recovery_strategy
from reference_client.errors import classify_close
from reference_client.events import ClientEvent, EventEmitter
from reference_client.subsystems import Health, Subsystem
from support.areas.coordination import expected_recovery, parts_named

CONFIG = ClientConfig(auth_url="http://127.0.0.1:1", gateway_url="ws://127.0.0.1:2/realtime", api_key="k")


class Recorder:
    def __init__(self) -> None:
        self.events: list[ClientEvent] = []
        self.emitter = EventEmitter()
        self.emitter.add_listener(self.events.append)

    def names(self) -> list[str]:
        return [event.name for event in self.events]

    def named(self, name: str) -> list[ClientEvent]:
        return [event for event in self.events if event.name == name]


class FakePart:
    """A subsystem with one whole-number setting, ``size``, that must be positive."""

    def __init__(self, name: str, calls: list[str], emitter: EventEmitter) -> None:
        self.name = name
        self._calls = calls
        self._emitter = emitter
        self.size = 1

    async def initialize(self) -> None:
        self._calls.append(f"initialize {self.name}")

    async def cleanup(self, reason: str) -> None:
        self._calls.append(f"cleanup {self.name}")
        self._emitter.emit(f"{self.name}:cleanup", reason=reason)

    def settings(self) -> dict[str, Any]:
        return {"size": self.size}

    def problems_with(self, changes: Mapping[str, Any]) -> list[str]:
        problems = [f"{self.name} has no setting {key!r}" for key in changes if key != "size"]
        size = changes.get("size", 1)
        if not isinstance(size, int) or size <= 0:
            problems.append(f"{self.name} size must be a positive whole number, got {size!r}")
        return problems

    def apply(self, changes: Mapping[str, Any]) -> None:
        self.size = changes["size"]

    def health(self) -> tuple[Health, dict[str, Any]]:
        return "up", {}


def parts(*names: str) -> tuple[Coordinator, list[str], Recorder, list[FakePart]]:
    calls: list[str] = []
    recorder = Recorder()
    made = [FakePart(name, calls, recorder.emitter) for name in names]
    subsystems: list[Subsystem] = list(made)
    return Coordinator(subsystems, recorder.emitter), calls, recorder, made


# -- the configuration's own rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"heartbeat_interval_ms": -100}, "heartbeat_interval_ms must be positive, got -100"),
        ({"heartbeat_interval_ms": "fast"}, "heartbeat_interval_ms must be a whole number, got 'fast'"),
        ({"heartbeat_interval_ms": True}, "heartbeat_interval_ms must be a whole number, got True"),
        ({"retry_limit": 2.5}, "retry_limit must be a whole number, got 2.5"),
        ({"token_refresh_fraction": "most"}, "token_refresh_fraction must be a number, got 'most'"),
        ({"token_refresh_fraction": 1.5}, "token_refresh_fraction must be between 0 and 1, got 1.5"),
        (
            {"log_level": "chatty"},
            "log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'chatty'",
        ),
        ({"colour": "blue"}, "there is no setting 'colour'"),
    ],
)
def test_a_configuration_says_why_it_cannot_take_a_change(changes: dict[str, Any], problem: str) -> None:
    assert CONFIG.problems_with(changes) == [problem]


def test_a_configuration_takes_good_changes_and_refuses_bad_ones_at_construction_too() -> None:
    assert (
        CONFIG.problems_with({"heartbeat_interval_ms": 300, "retry_limit": None, "log_level": "DEBUG"}) == []
    )
    with pytest.raises(ConfigError, match="must be a whole number"):
        ClientConfig(auth_url="http://a", gateway_url="ws://b", api_key="k", connect_timeout_ms=1.5)  # type: ignore[arg-type]


# -- start-up, shutdown, updates -------------------------------------------------------------------------


def test_parts_start_in_order_once_and_clean_up_in_reverse_once() -> None:
    coordinator, calls, recorder, _ = parts("auth", "session", "logger", "audio")

    async def scenario() -> None:
        await coordinator.initialize()
        await coordinator.initialize()
        await coordinator.cleanup("shutdown")
        await coordinator.cleanup("shutdown")

    asyncio.run(scenario())
    order = ["auth", "session", "logger", "audio"]
    assert calls == [f"initialize {name}" for name in order] + [f"cleanup {name}" for name in reversed(order)]
    initialized = recorder.named("subsystem:initialized")
    assert [(e.data["component"], e.data["position"]) for e in initialized] == list(
        zip(order, range(1, 5), strict=True)
    )


def test_a_part_that_fails_to_clean_up_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    coordinator, calls, _, made = parts("auth", "session")

    async def broken(reason: str) -> None:
        raise OSError("disk gone")

    made[1].cleanup = broken  # type: ignore[method-assign]
    asyncio.run(coordinator.cleanup("shutdown"))
    assert calls == ["cleanup auth"]
    assert "the session subsystem failed to clean up: disk gone" in caplog.text


def test_an_update_reaches_each_named_part_in_start_up_order_and_each_reports_its_change() -> None:
    coordinator, _, recorder, made = parts("auth", "session", "logger")
    assert coordinator.update({"logging": {"size": 3}, "auth": {"size": 2}}) == {
        "auth": {"size": 2},
        "logger": {"size": 3},
    }
    assert [part.size for part in made] == [2, 1, 3]
    assert [dict(event.data) for event in recorder.named("config:updated")] == [
        {"component": "auth", "previous": {"size": 1}, "new": {"size": 2}},
        {"component": "logger", "previous": {"size": 1}, "new": {"size": 3}},
    ]


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (
            {"auth": {"size": 2}, "session": {"size": -1}},
            "session size must be a positive whole number, got -1",
        ),
        ({"auth": {"size": 2}, "audio": {"sample_rate": 24_000}}, "the client has no part called 'audio'"),
        ({"auth": {"size": 2}, "session": {"colour": "blue"}}, "session has no setting 'colour'"),
        ({"auth": {"size": 2}, "session": 5}, "the changes for 'session' must name the settings to change"),
        ({}, "an update must name at least one part of the client"),
    ],
)
def test_an_update_with_anything_wrong_changes_nothing_and_says_why_in_one_line(
    update: dict[str, Any], reason: str
) -> None:
    coordinator, _, recorder, made = parts("auth", "session", "logger")
    with pytest.raises(ConfigError) as refused:
        coordinator.update(update)
    assert reason in str(refused.value)
    assert "\n" not in str(refused.value)
    assert [part.size for part in made] == [1, 1, 1]
    assert recorder.named("config:updated") == []
    (rejected,) = recorder.named("config:rejected")
    assert reason in rejected.data["reason"]


def test_the_names_of_the_parts_must_be_their_own() -> None:
    with pytest.raises(ValueError, match="a name of its own"):
        parts("auth", "auth")


# -- recovery --------------------------------------------------------------------------------------------


def test_a_failure_of_one_part_is_one_recovery_reported_once() -> None:
    recorder = Recorder()
    recovery = Recovery(recorder.emitter)
    recovery.failed("auth", "the access token was revoked")
    recovery.failed("auth", "the auth service could not be reached")
    recovery.completed("s-1", resumed=True)
    recovery.completed("s-1", resumed=True)
    assert recorder.names() == ["error:system", "recovery:started", "recovery:completed"]
    assert recorder.events[1].data == {"source": "auth", "strategy": "reauthenticate"}
    completed = recorder.events[2].data
    assert (completed["components"], completed["strategy"], completed["resumed"]) == (
        ["auth"],
        "reauthenticate",
        True,
    )


def test_parts_failing_together_are_one_recovery_and_one_report_of_the_cascade() -> None:
    recorder = Recorder()
    recovery = Recovery(recorder.emitter)
    for part in ("auth", "connection", "auth", "session"):
        recovery.failed(part, f"{part} broke")
    recovery.completed("s-2", resumed=False)
    assert recorder.names() == [
        "error:system",
        "recovery:started",
        "error:system",
        "error:system",
        "system:failure",
        "recovery:completed",
    ]
    assert recorder.named("system:failure")[0].data == {
        "failed_components": ["auth", "connection", "session"],
        "recovery_strategy": "full_restart",
        "can_recover": True,
    }
    assert not recovery.active


def test_a_recovery_given_up_says_it_could_not_recover() -> None:
    recorder = Recorder()
    recovery = Recovery(recorder.emitter)
    recovery.gave_up("nothing to give up on")
    recovery.failed("connection", "reset")
    recovery.failed("session", "unknown")
    recovery.gave_up("gave up after 2 retries")
    assert recorder.names()[-2:] == ["system:failure", "recovery:failed"]
    assert recorder.named("system:failure")[0].data["can_recover"] is False
    assert recorder.named("recovery:failed")[0].data["strategy"] == "new_session"


def test_failures_belong_to_the_part_they_come_from() -> None:
    assert failed_part(classify_close(4001, "the access token was revoked")) == "auth"
    assert failed_part(classify_close(None)) == "connection"
    assert recovery_strategy(["connection"]) == "reconnect"


# -- the real client -------------------------------------------------------------------------------------


def test_the_client_starts_auth_first_routes_an_audio_section_to_its_audio_and_refuses_an_unknown_part() -> (
    None
):
    async def scenario() -> None:
        client = RealtimeClient(CONFIG)
        recorder = Recorder()
        client.add_listener(recorder.events.append)
        before = client.configuration()
        assert list(before) == ["auth", "session", "logger", "audio"]
        with pytest.raises(ConfigError, match="no part called 'video'"):
            await client.update_configuration(
                {"session": {"heartbeat_interval_ms": 300}, "video": {"frame_rate": 30}}
            )
        assert client.configuration() == before
        assert client.config.heartbeat_interval_ms == CONFIG.heartbeat_interval_ms
        changed = await client.update_configuration({"audio": {"sample_rate": 16_000}})
        assert changed == {"audio": {**before["audio"], "sample_rate": 16_000}}
        updated = [e.data for e in recorder.events if e.name == "config:updated"]
        assert updated == [
            {
                "component": "audio",
                "previous": {"sample_rate": before["audio"]["sample_rate"]},
                "new": {"sample_rate": 16_000},
            }
        ]
        await client.close()
        assert [e.name for e in recorder.events if e.name.endswith(":cleanup")] == [
            "audio:cleanup",
            "logger:cleanup",
            "session:cleanup",
            "auth:cleanup",
        ]

    asyncio.run(scenario())


def test_the_client_log_level_changes_at_run_time_and_is_put_back_at_shutdown() -> None:
    logger = logging.getLogger("reference_client")
    found = logger.level
    logger.setLevel(logging.WARNING)

    async def scenario() -> None:
        client = RealtimeClient(CONFIG)
        await client._coordinator.initialize()  # as the first connect does
        changed = await client.update_configuration({"logging": {"level": "debug"}})
        assert changed == {"logger": {"level": "DEBUG"}}
        assert logger.level == logging.DEBUG
        assert client.config.log_level == "DEBUG"
        await client.close()
        assert logger.level == logging.WARNING

    try:
        asyncio.run(scenario())
    finally:
        logger.setLevel(found)


def test_the_client_says_how_each_part_is() -> None:
    async def scenario() -> None:
        client = RealtimeClient(CONFIG)
        health = client.health()
        assert health["status"] == "down"  # not connected yet
        assert {part: facts["status"] for part, facts in health["subsystems"].items()} == {
            "auth": "down",
            "session": "degraded",
            "logger": "up",
            "audio": "down",
        }
        await client.close()
        assert client.health()["subsystems"]["session"]["status"] == "down"

    asyncio.run(scenario())


# -- the suite's words -----------------------------------------------------------------------------------


def test_the_story_of_one_recovery_and_the_parts_it_names() -> None:
    assert parts_named("its sign-in, its connection and its session") == ["auth", "connection", "session"]
    assert expected_recovery(["auth"]) == ["error:system auth", "recovery:started", "recovery:completed auth"]
