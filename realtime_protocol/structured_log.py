"""Structured logging: one JSON object per line, secrets redacted, one correlation id per journey.

Built on the standard ``logging`` module rather than beside it, so levels, handlers and run-time level
changes work as for any logger: a ``JsonFormatter`` renders each record as

    {"timestamp": "2026-11-21T09:43:58.123Z", "level": "INFO", "component": "reference_client",
     "message": "signed in", "correlation_id": "c-5f1e…", "data": {"grant_type": "api_key"}}

``component`` is the logger's name (or ``extra={"component": …}``), ``data`` is everything passed with
``extra=``, and ``correlation_id`` is the record's own (``CorrelatedLogger``) or else the one set for the
current task (``correlated``). Errors, logged with ``exc_info`` or as values in ``data``, become
``{"name", "message", "stack"}``. Message and data pass through ``realtime_protocol.secrets``, so text
and structured masking follow the same rules.
"""

from __future__ import annotations

import json
import logging
import random
import re
import sys
import traceback
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

from realtime_protocol.secrets import mask_secrets, redact_data

# The HTTP header a correlation id travels in, with a sign-in request and with the WebSocket upgrade.
CORRELATION_HEADER = "X-Correlation-ID"
# What a service accepts as a correlation id from outside; anything else is ignored, so a caller cannot
# write arbitrary text (or another journey's lines) into the log.
_ACCEPTABLE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_current: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# The environments an application can run in, and the least severe level each writes by default.
ENVIRONMENT_LEVELS: dict[str, int] = {
    "test": logging.ERROR,
    "production": logging.WARNING,
    "development": logging.DEBUG,
}
LEVEL_NAMES: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

# Attributes every LogRecord has; whatever else a record carries came from ``extra=`` and is its data.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "correlation_id",
    "component",
}


class LoggingSetupError(ValueError):
    """An environment or level logging cannot be set up with. The message is one line."""


# -- correlation ---------------------------------------------------------------------------------------


def new_correlation_id(rng: random.Random) -> str:
    """A fresh correlation id, drawn from ``rng`` so a seeded run makes the same ones."""
    return f"c-{rng.getrandbits(64):016x}"


def acceptable_correlation_id(value: str | None) -> str | None:
    """``value`` if it can serve as a correlation id (short, letters, digits and ``._:-``), else None."""
    return value if value is not None and _ACCEPTABLE_ID.fullmatch(value) else None


def current_correlation_id() -> str | None:
    """The correlation id set for the running task (or thread), if any."""
    return _current.get()


@contextmanager
def correlated(correlation_id: str | None) -> Iterator[None]:
    """Lines logged inside this block, by any logger, carry ``correlation_id``. Tasks started inside it
    keep it (asyncio copies the context into each new task)."""
    token = _current.set(correlation_id)
    try:
        yield
    finally:
        _current.reset(token)


def adopt_correlation_id(value: str | None) -> str | None:
    """For a task that serves one request or connection: lines it logs from now on carry the correlation
    id the caller sent (``value``, if acceptable; otherwise none). The task's end ends it."""
    adopted = acceptable_correlation_id(value)
    _current.set(adopted)
    return adopted


class ConnectionCorrelation(logging.Filter):
    """For a WebSocket library's logger: a line about a connection that carries no correlation id takes the
    one sent in the connection's opening request. websockets hands each of its lines the connection (as
    ``websocket``), and writes some of them, such as the one saying a connection closed, from a callback
    outside the connection's task, where the task's id is not set."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None and _current.get() is None:
            try:
                headers = record.websocket.request.headers  # type: ignore[attr-defined]
                record.correlation_id = acceptable_correlation_id(headers.get(CORRELATION_HEADER))
            except (AttributeError, ReferenceError):
                pass  # not a connection's line, or the connection is gone
        return True


class CorrelatedLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger whose every line carries one correlation id, whichever task it is logged from; a line's
    own ``extra=`` is kept as its data."""

    def __init__(self, logger: logging.Logger, correlation_id: str) -> None:
        super().__init__(logger, {"correlation_id": correlation_id})

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(kwargs.get("extra") or {}), **(self.extra or {})}
        return msg, kwargs


# -- the line ------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """Each record as one line of JSON (see the module docstring), secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(structured_fields(record), ensure_ascii=False, separators=(", ", ": "))


def structured_fields(record: logging.LogRecord) -> dict[str, Any]:
    """What one line says, as a dictionary, redacted: the fields ``JsonFormatter`` writes."""
    data = {key: value for key, value in record.__dict__.items() if key not in _STANDARD}
    fields: dict[str, Any] = {
        "timestamp": iso_timestamp(record.created),
        "level": record.levelname,
        "component": getattr(record, "component", None) or record.name,
        "message": mask_secrets(record.getMessage()),
        "correlation_id": getattr(record, "correlation_id", None) or _current.get(),
        "data": redact_data(_plain(data)),
    }
    if record.exc_info and record.exc_info[1] is not None:
        fields["error"] = redact_data(describe_error(record.exc_info[1]))
    return fields


def iso_timestamp(created: float) -> str:
    """``created`` (seconds since the epoch) in ISO 8601, UTC, to the millisecond."""
    moment = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


def describe_error(error: BaseException) -> dict[str, str]:
    """An error as its name, message and stack (the traceback, when it was raised)."""
    return {
        "name": type(error).__name__,
        "message": str(error),
        "stack": "".join(traceback.format_exception(type(error), error, error.__traceback__)).rstrip(),
    }


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: errors described, anything else as its text (masked later)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, BaseException):
        return describe_error(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items() if _has_text(item)}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)


def _has_text(value: Any) -> bool:
    # An object with no text of its own ("<… object at 0x…>", such as the connection websockets hands its
    # log lines, through a weak proxy) says nothing to a reader, so it is left out of the data. ``__class__``
    # rather than ``type()``, because a weak proxy passes it on from the object behind it.
    try:
        kind = value.__class__
    except ReferenceError:  # a weak proxy whose object is gone
        return False
    return not (kind.__str__ is object.__str__ and kind.__repr__ is object.__repr__)


# -- setting it up -------------------------------------------------------------------------------------


def level_for(environment: str, level: str | int | None = None) -> int:
    """The level to log at: ``level`` when given, else the environment's default (test: errors only;
    production: warnings and errors; development: everything)."""
    if environment not in ENVIRONMENT_LEVELS:
        raise LoggingSetupError(
            f"Unknown environment {environment!r} for logging; known: {', '.join(ENVIRONMENT_LEVELS)}"
        )
    if level is None:
        return ENVIRONMENT_LEVELS[environment]
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str) and level.strip().lower() in LEVEL_NAMES:
        return LEVEL_NAMES[level.strip().lower()]
    raise LoggingSetupError(f"Unknown log level {level!r}; known: {', '.join(LEVEL_NAMES)}")


class _JsonLinesHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs, known by its class so a second call replaces it."""


def configure_logging(
    environment: str = "production",
    level: str | int | None = None,
    *,
    logger: str = "reference_client",
    stream: IO[str] | None = None,
) -> logging.Logger:
    """Have ``logger`` (and the loggers under it) write JSON lines to ``stream`` (standard error unless
    given) at the environment's level, or at ``level`` if given. Calling it again replaces the setup. The
    level is the standard logger's own, so it can be changed later like any other."""
    chosen = level_for(environment, level)
    target = logging.getLogger(logger)
    for handler in [handler for handler in target.handlers if isinstance(handler, _JsonLinesHandler)]:
        target.removeHandler(handler)
    handler = _JsonLinesHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    target.addHandler(handler)
    target.setLevel(chosen)
    return target
