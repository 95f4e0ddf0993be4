"""The client's log of its own events: every event is one line, named as the event, with its data.

How loud a line is depends on the event: a delivered message is DEBUG, a lost connection a WARNING, giving
up an ERROR; the rest are INFO.
"""

from __future__ import annotations

import logging

from reference_client.events import ClientEvent
from reference_client.states import ConnectionState

# How loud each event is in the client's log; the rest are INFO.
EVENT_LEVELS = {
    "message": logging.DEBUG,
    "message:duplicate": logging.DEBUG,
    "publish:acked": logging.DEBUG,
    "token:checked": logging.DEBUG,
    "auth:error": logging.WARNING,
    "connection:lost": logging.WARNING,
    "error:classified": logging.WARNING,
    "heartbeat:timeout": logging.WARNING,
    "message:gap": logging.WARNING,
    "protocol:error": logging.WARNING,
    "publish:unsent": logging.WARNING,
    "server:error": logging.WARNING,
    "session:continuity_lost": logging.WARNING,
    "token:expired": logging.WARNING,
    "token:store_unreadable": logging.WARNING,
    "token:store_unwritable": logging.WARNING,
    "reconnect:exhausted": logging.ERROR,
}


def level_of(event: ClientEvent) -> int:
    """The ``logging`` level an event is logged at; a change of state to ``failed`` is an ERROR."""
    if event.name == "state:changed" and event.data.get("state") == ConnectionState.FAILED.value:
        return logging.ERROR
    return EVENT_LEVELS.get(event.name, logging.INFO)


class EventLog:
    """A listener that logs every event to ``logger``, its data under the line's ``event`` extra."""

    def __init__(self, logger: logging.Logger | logging.LoggerAdapter) -> None:  # type: ignore[type-arg]
        self._logger = logger

    def __call__(self, event: ClientEvent) -> None:
        level = level_of(event)
        # Every message delivered is an event: skip copying its data when the line would be filtered out.
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event.name, extra={"event": dict(event.data)})
