"""Structured logging: the JSON line, errors, levels by environment, redaction at any depth, correlation ids
carried from the client through the auth service and the gateway, the suite's log capture, and the
benchmark's table.

Waits are conditions polled against a deadline, never fixed sleeps.
"""

from __future__ import annotations

import io
import json
import logging
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from faker import Faker

from realtime_protocol.secrets import MASK, fingerprint, is_secret_name, luhn_valid, mask_secrets, redact_data
from realtime_protocol.structured_log import (
    CORRELATION_HEADER,
    ConnectionCorrelation,
    CorrelatedLogger,
    JsonFormatter,
    LoggingSetupError,
    acceptable_correlation_id,
    configure_logging,
    correlated,
    level_for,
    new_correlation_id,
)
from reference_client import ClientConfig, ConfigError
from support.areas import structured_logging as log_lines
from support.harness.log_capture import CAPTURED_LOGGERS, LogCapture
from tests.polling import eventually
from tests.test_reference_client import ready, run, services
from tools.logging_benchmark import main as benchmark_main

ROOT = Path(__file__).resolve().parent.parent
CORRELATION_ID = "c-00000000000000ab"


class _Lines:
    """A logger of its own writing JSON lines into memory, parsed on demand."""

    def __init__(self, name: str, level: int = logging.DEBUG) -> None:
        self.stream = io.StringIO()
        self.logger = logging.getLogger(name)
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(JsonFormatter())
        self.logger.addHandler(self.handler)
        self.logger.setLevel(level)
        self.logger.propagate = False

    def parsed(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = True
        self.logger.setLevel(logging.NOTSET)


@pytest.fixture
def lines(request: pytest.FixtureRequest) -> Iterator[_Lines]:
    kept = _Lines(f"test.structured.{request.node.name}")
    yield kept
    kept.close()


# -- the line -----------------------------------------------------------------------------------------


def test_a_line_is_one_json_object_with_the_six_fields(lines: _Lines) -> None:
    lines.logger.info("Test message", extra={"userId": "user123", "sessionId": "session456"})
    (line,) = lines.stream.getvalue().splitlines()
    entry = json.loads(line)
    assert list(entry) == list(log_lines.FIELDS)
    assert entry["level"] == "INFO" and entry["message"] == "Test message"
    assert entry["component"] == lines.logger.name
    assert entry["data"] == {"userId": "user123", "sessionId": "session456"}
    assert entry["correlation_id"] is None
    assert log_lines.shape_problems(entry) == []
    moment = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
    assert entry["timestamp"].endswith("Z") and moment.utcoffset() is not None
    assert moment.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_a_line_can_name_its_component_and_its_arguments_fill_the_message(lines: _Lines) -> None:
    lines.logger.warning("retry %d of %d", 2, 5, extra={"component": "TestComponent"})
    (entry,) = lines.parsed()
    assert (entry["component"], entry["message"], entry["data"]) == ("TestComponent", "retry 2 of 5", {})


def test_levels_below_the_loggers_are_not_written(lines: _Lines) -> None:
    lines.logger.setLevel(logging.WARNING)
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
        lines.logger.log(level, "a line")
    assert [entry["level"] for entry in lines.parsed()] == ["WARNING", "ERROR"]


def test_an_error_is_written_as_its_name_message_and_stack(lines: _Lines) -> None:
    def fail() -> None:
        raise ValueError("Test error message")

    try:
        fail()
    except ValueError as error:
        lines.logger.exception("An error occurred")
        lines.logger.error("An error occurred", extra={"error": error})
    logged, as_data = lines.parsed()
    assert logged["error"]["name"] == "ValueError"
    assert logged["error"]["message"] == "Test error message"
    assert "Traceback" in logged["error"]["stack"] and "in fail" in logged["error"]["stack"]
    assert as_data["data"]["error"] == logged["error"]
    assert log_lines.shape_problems(logged) == []


def test_an_error_never_raised_has_its_name_and_message_as_its_stack(lines: _Lines) -> None:
    lines.logger.error("An error occurred", extra={"error": RuntimeError("boom")})
    (entry,) = lines.parsed()
    assert entry["data"]["error"] == {
        "name": "RuntimeError",
        "message": "boom",
        "stack": "RuntimeError: boom",
    }


def test_objects_without_text_of_their_own_are_left_out_of_the_data(lines: _Lines) -> None:
    class Opaque:
        pass

    lines.logger.info("a line", extra={"websocket": Opaque(), "path": Path("/tmp/x")})
    (entry,) = lines.parsed()
    assert entry["data"] == {"path": "/tmp/x"}


def test_shape_problems_name_what_is_wrong() -> None:
    problems = log_lines.shape_problems(
        {"timestamp": "2026-01-01 10:00:00", "level": "LOUD", "component": "", "message": "m", "x": 1}
    )
    assert problems == [
        "no correlation_id, data",
        "unexpected x",
        "timestamp '2026-01-01 10:00:00' is not ISO 8601 in UTC",
        "level 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
        "component '' is not a text",
        "data is not an object",
    ]


# -- redaction ----------------------------------------------------------------------------------------


def test_sensitive_data_is_redacted_and_normal_data_untouched(lines: _Lines) -> None:
    lines.logger.info(
        "Processing user data",
        extra={
            "apiKey": "secret-api-key-12345",
            "password": "user-password",
            "token": "bearer-token-abcdef",
            "creditCard": "4111-1111-1111-1111",
            "normalData": "this is fine",
        },
    )
    (entry,) = lines.parsed()
    assert entry["data"] == {
        "apiKey": MASK,
        "password": MASK,
        "token": MASK,
        "creditCard": MASK,
        "normalData": "this is fine",
    }


def test_redaction_reaches_any_depth_lists_and_query_strings() -> None:
    data = {
        "request": {"headers": {"Authorization": "Bearer abc", "X-Api-Key": "k1", "Accept": "text/plain"}},
        "tries": [{"n": 1, "client_secret": "s1"}, ["deeper", {"refresh_token": "r1"}]],
        "link": "https://example.test/cb?access_token=t1&lang=en",
        "note": "paid with 4111 1111 1111 1111 yesterday",
        "count": 4111111111111111,  # a number, not text: left alone
        "token": fingerprint("t1"),
        "token_type": "Bearer",
        "ordinary": "order 1234567890123 shipped",  # 13 digits that fail the card check
    }
    assert redact_data(data) == {
        "request": {"headers": {"Authorization": MASK, "X-Api-Key": MASK, "Accept": "text/plain"}},
        "tries": [{"n": 1, "client_secret": MASK}, ["deeper", {"refresh_token": MASK}]],
        "link": f"https://example.test/cb?access_token={MASK}&lang=en",
        "note": f"paid with {MASK} yesterday",
        "count": 4111111111111111,
        "token": fingerprint("t1"),
        "token_type": "Bearer",
        "ordinary": "order 1234567890123 shipped",
    }


def test_messages_and_data_follow_the_same_rules(lines: _Lines) -> None:
    lines.logger.info("charged 4111111111111111 via https://pay.test/?apiKey=k-123", extra={"n": 1})
    (entry,) = lines.parsed()
    assert entry["message"] == f"charged {MASK} via https://pay.test/?apiKey={MASK}"
    assert mask_secrets("charged 4111111111111111") == f"charged {MASK}"


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("apiKey", True),
        ("api_key", True),
        ("X-Api-Key", True),
        ("client_secret", True),
        ("csrfToken", True),
        ("creditCard", True),
        ("Authorization", True),
        ("token_type", False),
        ("tokens_cleared", False),
        ("user", False),
    ],
)
def test_secret_names_are_recognised_however_they_are_spelled(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_card_numbers_are_recognised_by_their_check_digit() -> None:
    assert luhn_valid("4111 1111 1111 1111") and luhn_valid("5500-0000-0000-0004")
    assert not luhn_valid("4111 1111 1111 1112")
    faker = Faker()
    faker.seed_instance(3)
    assert all(luhn_valid(faker.credit_card_number()) for _ in range(50))


@pytest.mark.parametrize("place", ["at the top", "two levels down", "in a list"])
def test_planted_secrets_show_as_expected_once_redacted(place: str) -> None:
    faker = Faker()
    faker.seed_instance(11)
    planted = log_lines.plant_secret("an API key", place, faker)
    assert redact_data(planted.details) == planted.shown
    assert planted.secret not in json.dumps(planted.shown)


def test_planting_a_secret_where_it_cannot_go_is_refused() -> None:
    with pytest.raises(ValueError, match="There is no way to put a password in a sentence"):
        log_lines.plant_secret("a password", "in a sentence", Faker())


# -- levels by environment ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "level", "written"),
    [
        ("test", None, ["ERROR"]),
        ("production", None, ["WARNING", "ERROR"]),
        ("development", None, ["DEBUG", "INFO", "WARNING", "ERROR"]),
        ("production", "info", ["INFO", "WARNING", "ERROR"]),
        ("test", "WARN", ["WARNING", "ERROR"]),
        ("test", logging.DEBUG, ["DEBUG", "INFO", "WARNING", "ERROR"]),
    ],
)
def test_each_environment_writes_from_its_level_unless_told_otherwise(
    environment: str, level: str | int | None, written: list[str]
) -> None:
    sink = log_lines.LogSink(environment, level, "test.structured.environment")  # type: ignore[arg-type]
    try:
        logger = logging.getLogger("test.structured.environment")
        for each in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR):
            logger.log(each, "a line")
    finally:
        sink.close()
        logging.getLogger("test.structured.environment").setLevel(logging.NOTSET)
    assert [json.loads(line)["level"] for line in sink.lines()] == written


def test_an_unknown_environment_or_level_is_refused_in_one_line() -> None:
    with pytest.raises(LoggingSetupError, match=r"^Unknown environment 'staging' for logging; known: test, "):
        level_for("staging")
    with pytest.raises(LoggingSetupError, match=r"^Unknown log level 'loud'; known: debug, info"):
        level_for("test", "loud")


def test_setting_logging_up_again_replaces_the_first_setup() -> None:
    first, second = io.StringIO(), io.StringIO()
    logger = configure_logging("development", logger="test.structured.again", stream=first)
    configure_logging("test", logger="test.structured.again", stream=second)
    try:
        logger.error("once")
        logger.info("not at all")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert first.getvalue() == ""
    assert [json.loads(line)["message"] for line in second.getvalue().splitlines()] == ["once"]


# -- correlation --------------------------------------------------------------------------------------


def test_the_correlation_id_comes_from_the_logger_or_else_the_task(lines: _Lines) -> None:
    adapter = CorrelatedLogger(lines.logger, CORRELATION_ID)
    adapter.info("from the adapter", extra={"n": 1})
    with correlated("c-task"):
        lines.logger.info("from the task")
        adapter.info("the adapter's own id wins")
    lines.logger.info("outside")
    ids = [(entry["correlation_id"], entry["data"]) for entry in lines.parsed()]
    assert ids == [(CORRELATION_ID, {"n": 1}), ("c-task", {}), (CORRELATION_ID, {}), (None, {})]


def test_a_websocket_line_outside_its_task_takes_the_id_of_the_connections_request(lines: _Lines) -> None:
    class Request:
        headers = {CORRELATION_HEADER: CORRELATION_ID}

    class Connection:
        request = Request()

        def __repr__(self) -> str:
            return "<connection>"

    lines.logger.addFilter(correlation := ConnectionCorrelation())
    try:
        lines.logger.info("connection closed", extra={"websocket": Connection()})
        lines.logger.info("not about a connection")
    finally:
        lines.logger.removeFilter(correlation)
    assert [entry["correlation_id"] for entry in lines.parsed()] == [CORRELATION_ID, None]


@pytest.mark.parametrize("value", ["", "x" * 65, "c-1\nforged line", "c 1", None])
def test_only_short_plain_correlation_ids_are_accepted(value: str | None) -> None:
    assert acceptable_correlation_id(value) is None


def test_correlation_ids_are_drawn_from_a_seeded_generator() -> None:
    assert new_correlation_id(random.Random(5)) == new_correlation_id(random.Random(5))
    assert acceptable_correlation_id(new_correlation_id(random.Random(5))) is not None


def test_the_client_refuses_a_correlation_id_it_cannot_send() -> None:
    with pytest.raises(ConfigError, match="correlation_id must be 1 to 64 letters"):
        ClientConfig(auth_url="http://a", gateway_url="ws://g", api_key="k", correlation_id="bad id")


@pytest.fixture
def capture() -> Iterator[LogCapture]:
    saved = {name: logging.getLogger(name).level for name in CAPTURED_LOGGERS}
    kept = LogCapture().install()
    yield kept
    kept.uninstall()
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def test_one_id_follows_a_client_through_the_auth_service_and_the_gateway(capture: LogCapture) -> None:
    async def scenario() -> None:
        async with services() as s:
            observed = s.client(correlation_id=CORRELATION_ID)
            other = s.client(random_seed=8)
            await ready(observed)
            await ready(other)
            await observed.client.close()
            await other.client.close()
            await eventually(
                lambda: len(log_lines.written_by(log_lines.parse(capture.json_lines()), "gateway")) >= 6,
                what="both connections' lines from the gateway",
            )
            assert other.client.correlation_id not in (None, CORRELATION_ID)

    run(scenario)
    # The gateway starting and stopping ("server listening", "server closed") belongs to no journey.
    entries = [e for e in log_lines.parse(capture.json_lines()) if not e["message"].startswith("server ")]
    for who in ("client", "auth service", "gateway"):
        ids = set(log_lines.correlation_ids(log_lines.written_by(entries, who)))
        assert CORRELATION_ID in ids and len(ids) == 2 and None not in ids, (who, ids)


def test_the_auth_service_ignores_a_correlation_id_it_cannot_trust(capture: LogCapture) -> None:
    async def scenario() -> None:
        async with services() as s, httpx.AsyncClient() as http:
            await http.get(s.auth.url + "/health", headers={CORRELATION_HEADER: "forged\tline"})
            await http.get(s.auth.url + "/health", headers={CORRELATION_HEADER: CORRELATION_ID})

    run(scenario)
    answered = log_lines.written_by(log_lines.parse(capture.json_lines()), "auth service")
    assert [(entry["message"], entry["correlation_id"]) for entry in answered] == [
        ("GET /health answered 200", None),
        ("GET /health answered 200", CORRELATION_ID),
    ]


# -- the suite's log capture --------------------------------------------------------------------------


def test_the_report_log_shows_the_correlation_id_and_redacted_data(capture: LogCapture) -> None:
    with correlated(CORRELATION_ID):
        logging.getLogger("reference_client").warning("signed in", extra={"api_key": "k-1", "user": "ann"})
    logging.getLogger("reference_client").warning("no journey")
    shown, plain = capture.lines()
    assert shown.endswith(
        f"{CORRELATION_ID} WARNING reference_client: signed in "
        + json.dumps({"api_key": MASK, "user": "ann"})
    )
    assert plain.endswith(f"{'-':<18} WARNING reference_client: no journey")
    assert log_lines.readable_correlation_ids(capture.lines(), "client") == [CORRELATION_ID, None]
    assert [json.loads(line)["correlation_id"] for line in capture.json_lines()] == [CORRELATION_ID, None]


# -- the benchmark ------------------------------------------------------------------------------------


def test_the_benchmark_prints_both_cases_side_by_side() -> None:
    out = io.StringIO()
    assert benchmark_main(["--calls", "50", "--repeats", "2"], out=out) == 0
    table = out.getvalue().splitlines()
    assert table[0].startswith("Logging cost per call: median of 2 runs of 50 calls each")
    assert table[2].split() == ["case", "plain", "logging", "structured", "ratio"]
    assert [row[:26].strip() for row in table[3:]] == ["debug call, filtered out", "line written"]
    assert all(row.rstrip().endswith("×") for row in table[3:])


def test_the_benchmark_command_refuses_a_bad_count_in_one_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tools.logging_benchmark", "--calls", "none"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert (
        done.stderr.splitlines()[-1]
        == "bin/benchmark-logging: error: argument --calls: must be a whole number, got 'none'"
    )
