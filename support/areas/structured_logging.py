"""Reading structured log lines for the logging scenarios: their shape, whose they are, the journey they
belong to, and the details with secrets planted in them that the redaction scenarios log.

Plain Python, so the self-tests can exercise it; the lines come from ``LogCapture.json_lines()``.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faker import Faker

from realtime_protocol.secrets import MASK
from realtime_protocol.structured_log import configure_logging
from support.harness.written_wrong import ScenarioWrittenWrong

# The fields of every line, in the order they are written; "error" is added when an error was logged.
FIELDS = ("timestamp", "level", "component", "message", "correlation_id", "data")
OPTIONAL_FIELDS = ("error",)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# ISO 8601 in UTC, to the millisecond, as JsonFormatter writes it.
ISO_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")

# Whose lines are whose, by the names scenarios use: a logger and the loggers under it.
COMPONENTS = {
    "client": "reference_client",
    "auth service": "support.services.auth",
    "gateway": "support.services.gateway",
}


def parse(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Each line as the JSON object it must be; a line that is not one fails with where and why."""
    parsed: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            value = json.loads(line)
        except ValueError as error:
            raise AssertionError(f"Log line {number} is not JSON ({error}): {line[:200]}") from None
        if not isinstance(value, dict):
            raise AssertionError(f"Log line {number} is JSON but not an object: {line[:200]}")
        parsed.append(value)
    return parsed


def shape_problems(entry: Mapping[str, Any]) -> list[str]:
    """What is wrong with one parsed line's shape, in words; empty when nothing is."""
    problems = []
    missing = [name for name in FIELDS if name not in entry]
    extra = [name for name in entry if name not in FIELDS + OPTIONAL_FIELDS]
    if missing:
        problems.append(f"no {', '.join(missing)}")
    if extra:
        problems.append(f"unexpected {', '.join(extra)}")
    timestamp = entry.get("timestamp")
    if not (isinstance(timestamp, str) and ISO_UTC.fullmatch(timestamp) and _parses(timestamp)):
        problems.append(f"timestamp {timestamp!r} is not ISO 8601 in UTC")
    if entry.get("level") not in LEVELS:
        problems.append(f"level {entry.get('level')!r} is not one of {', '.join(LEVELS)}")
    for name in ("component", "message"):
        if not isinstance(entry.get(name), str) or not entry.get(name):
            problems.append(f"{name} {entry.get(name)!r} is not a text")
    if not isinstance(entry.get("data"), dict):
        problems.append("data is not an object")
    return problems


def _parses(timestamp: str) -> bool:
    try:
        datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def logger_of(component: str) -> str:
    """The logger name of a component named in plain words ("client", "auth service", "gateway")."""
    try:
        return COMPONENTS[component]
    except KeyError:
        raise ScenarioWrittenWrong("component", component, COMPONENTS) from None


def written_by(entries: Iterable[Mapping[str, Any]], component: str) -> list[Mapping[str, Any]]:
    """The lines a component (named in plain words) wrote: its logger's and those of loggers under it."""
    name = logger_of(component)
    return [
        entry for entry in entries if entry["component"] == name or entry["component"].startswith(name + ".")
    ]


def correlation_ids(entries: Iterable[Mapping[str, Any]]) -> list[str | None]:
    """The correlation id of each line, in order (None for a line without one)."""
    return [entry.get("correlation_id") for entry in entries]


def level_names(words: str) -> set[str]:
    """``"warning and error"`` or ``"info, warning and error"`` as the level names they list."""
    names = {word.strip().upper() for word in re.split(r",|\band\b", words) if word.strip()}
    unknown = names - set(LEVELS)
    if unknown:
        raise ScenarioWrittenWrong(
            "log level", ", ".join(sorted(unknown)).lower(), [level.lower() for level in LEVELS]
        )
    return names


def chosen_level(words: str) -> str | None:
    """``"its default level"`` as None (the environment decides), ``"the info level"`` as ``"info"``."""
    if words == "its default level":
        return None
    match = re.fullmatch(r"the (\w+) level", words)
    if match is None:
        raise ValueError(f"Say 'its default level' or 'the <name> level', not {words!r}")
    return match[1]


class LogSink:
    """A logger set up as an application would with ``configure_logging``, writing into memory, until
    closed (which takes its handler away again)."""

    def __init__(self, environment: str, level: str | None, logger: str) -> None:
        self._stream = io.StringIO()
        self._logger = configure_logging(environment, level, logger=logger, stream=self._stream)
        self._handler = self._logger.handlers[-1]

    def lines(self) -> list[str]:
        return [line for line in self._stream.getvalue().splitlines() if line]

    def close(self) -> None:
        self._logger.removeHandler(self._handler)


# -- secrets planted in logged details -------------------------------------------------------------------


@dataclass(frozen=True)
class PlantedSecret:
    """Details to log with a secret somewhere in them, and how they must show in the line."""

    details: dict[str, Any]
    secret: str
    shown: dict[str, Any]  # the same details, the secret masked and nothing else changed


# Each kind of secret: the field name it goes by, the name it has in a query string, and its value.
_KINDS = {
    "an API key": ("apiKey", "api_key"),
    "a password": ("password", "password"),
    "a token": ("token", "access_token"),
    "an authorization header": ("Authorization", None),
    "a client secret": ("client_secret", "client_secret"),
    "a card number": ("creditCard", None),
}
PLACES = ("at the top", "two levels down", "in a list", "in a link's query string", "in a sentence")


def plant_secret(kind: str, place: str, faker: Faker) -> PlantedSecret:
    """Details of the given kind of secret placed where the scenario says, among ordinary details that must
    show exactly as they are (an id, a count, a link, a list)."""
    if kind not in _KINDS:
        raise ScenarioWrittenWrong("kind of secret", kind, _KINDS)
    field_name, query_name = _KINDS[kind]
    secret = _secret_value(kind, faker)
    value = f"Bearer {secret}" if kind == "an authorization header" else secret
    ordinary = {"user": faker.user_name(), "attempt": 3, "page": "https://example.test/help?page=2"}
    if place == "at the top":
        return PlantedSecret({**ordinary, field_name: value}, secret, {**ordinary, field_name: MASK})
    if place == "two levels down":
        return PlantedSecret(
            {**ordinary, "request": {"headers": {field_name: value, "Accept": "application/json"}}},
            secret,
            {**ordinary, "request": {"headers": {field_name: MASK, "Accept": "application/json"}}},
        )
    if place == "in a list":
        return PlantedSecret(
            {**ordinary, "tries": [{"n": 1}, {"n": 2, field_name: value}]},
            secret,
            {**ordinary, "tries": [{"n": 1}, {"n": 2, field_name: MASK}]},
        )
    if place == "in a link's query string" and query_name is not None:
        link = "https://example.test/callback?{}={}&lang=en"
        return PlantedSecret(
            {**ordinary, "link": link.format(query_name, secret)},
            secret,
            {**ordinary, "link": link.format(query_name, MASK)},
        )
    if place == "in a sentence" and kind == "a card number":
        return PlantedSecret(
            {**ordinary, "note": f"paid with {secret} yesterday"},
            secret,
            {**ordinary, "note": f"paid with {MASK} yesterday"},
        )
    raise ValueError(f"There is no way to put {kind} {place}; places: {', '.join(PLACES)}")


def _secret_value(kind: str, faker: Faker) -> str:
    if kind == "a card number":
        return faker.credit_card_number(card_type="visa16")
    if kind == "a password":
        return faker.password(length=16)
    return faker.pystr(min_chars=24, max_chars=24)


def lines_with_message(entries: Sequence[Mapping[str, Any]], message: str) -> list[Mapping[str, Any]]:
    return [entry for entry in entries if entry.get("message") == message]


def log_caught_error(logger: str, message: str, error_message: str) -> None:
    """Log one ERROR line about an error raised and caught here, as a component does with ``exception()``."""
    try:
        raise ConnectionError(error_message)
    except ConnectionError:
        logging.getLogger(logger).exception(message)


def log_details(logger: str, message: str, details: Mapping[str, Any]) -> None:
    """Log one INFO line with ``details`` as its data, as a component would."""
    logging.getLogger(logger).info(message, extra=dict(details))


# A line of the report's log: time, correlation id (or "-"), level, logger, then the message.
_READABLE = re.compile(r"^\S+ (?P<correlation_id>\S+)\s+(?P<level>[A-Z]+)\s+(?P<logger>[^\s:]+): ")


def readable_correlation_ids(lines: Iterable[str], component: str) -> list[str | None]:
    """The correlation id each of a component's lines shows in the report's log (None where it shows none)."""
    name = logger_of(component)
    ids: list[str | None] = []
    for line in lines:
        match = _READABLE.match(line)
        if match and (match["logger"] == name or match["logger"].startswith(name + ".")):
            ids.append(None if match["correlation_id"] == "-" else match["correlation_id"])
    return ids
