"""What the client, the services and the libraries under them log during one scenario, kept in memory.

The report shows it, and the secret scan reads it. Loggers log at ``level`` (INFO unless a scenario asks
for everything) only while the capture is installed; their previous levels come back afterwards.

Each line is kept twice: as people read it in the report (time, correlation id, level, logger, the message
as written, then the line's data, redacted), and as the JSON line ``JsonFormatter`` writes for it, which the
logging scenarios read. The message is kept as written, not masked, so the secret scan still sees what a
component itself put in its messages.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from realtime_protocol.structured_log import JsonFormatter, current_correlation_id

# Whose log lines a scenario keeps: the client, the mock services, and the HTTP and WebSocket libraries.
CAPTURED_LOGGERS = ("reference_client", "support", "websockets", "httpx", "httpcore", "aiohttp")
FORMAT = "%(asctime)s.%(msecs)03d %(correlation)s %(levelname)-7s %(name)s: %(message)s"


class LogCapture(logging.Handler):
    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        self._lines: list[str] = []
        self._json_lines: list[str] = []
        self._json = JsonFormatter()
        self._levels: list[tuple[str, int]] = []  # (logger name, level) of each line, whatever its format
        self._lines_lock = threading.Lock()
        self._level = level
        self._previous_levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        json_line = self._json.format(record)
        line = self._readable(record, json.loads(json_line))
        with self._lines_lock:
            self._lines.append(line)
            self._json_lines.append(json_line)
            self._levels.append((record.name, record.levelno))

    def _readable(self, record: logging.LogRecord, fields: dict[str, Any]) -> str:
        # The correlation id as a column of its own, so the Log attachment can be searched for one journey.
        correlation_id = getattr(record, "correlation_id", None) or current_correlation_id() or "-"
        record.correlation = f"{correlation_id:<18}"
        line = self.format(record)
        data = fields["data"]
        return f"{line} {json.dumps(data, ensure_ascii=False)}" if data else line

    def lines(self) -> list[str]:
        with self._lines_lock:
            return list(self._lines)

    def json_lines(self) -> list[str]:
        """The same lines, each as the one JSON object ``JsonFormatter`` writes for it."""
        with self._lines_lock:
            return list(self._json_lines)

    def count(self, logger: str, level: int) -> int:
        """How many lines kept so far ``logger`` (or a logger under it) wrote at exactly ``level``."""
        with self._lines_lock:
            return sum(
                1
                for name, levelno in self._levels
                if levelno == level and (name == logger or name.startswith(logger + "."))
            )

    def install(self) -> LogCapture:
        logging.getLogger().addHandler(self)
        self.set_level(self._level)
        return self

    def set_level(self, level: int) -> None:
        """Keep lines down to ``level`` from now on."""
        self._level = level
        for name in CAPTURED_LOGGERS:
            logger = logging.getLogger(name)
            self._previous_levels.setdefault(name, logger.level)
            logger.setLevel(level)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)
        for name, level in self._previous_levels.items():
            logging.getLogger(name).setLevel(level)
        self._previous_levels.clear()
