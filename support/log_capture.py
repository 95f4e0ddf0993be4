"""What the client, the services and the libraries under them log during one scenario, kept in memory.

The report shows it, and the secret scan reads it. Loggers log at ``level`` (INFO unless a scenario asks
for everything) only while the capture is installed; their previous levels come back afterwards.
"""

from __future__ import annotations

import logging
import threading

# Whose log lines a scenario keeps: the client, the mock services, and the HTTP and WebSocket libraries.
CAPTURED_LOGGERS = ("reference_client", "support", "websockets", "httpx", "httpcore", "aiohttp")
FORMAT = "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s"


class LogCapture(logging.Handler):
    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter(FORMAT, datefmt="%H:%M:%S"))
        self._lines: list[str] = []
        self._levels: list[tuple[str, int]] = []  # (logger name, level) of each line, whatever its format
        self._lines_lock = threading.Lock()
        self._level = level
        self._previous_levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with self._lines_lock:
            self._lines.append(line)
            self._levels.append((record.name, record.levelno))

    def lines(self) -> list[str]:
        with self._lines_lock:
            return list(self._lines)

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
