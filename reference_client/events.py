"""Events the client emits: the application's (and the test suite's) view of what it is doing.

Event data never contains a secret: tokens are referred to by fingerprint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("reference_client")


@dataclass(frozen=True)
class ClientEvent:
    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


Listener = Callable[[ClientEvent], None]


class EventEmitter:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, name: str, **data: Any) -> ClientEvent:
        event = ClientEvent(name=name, data=data)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                # A broken listener must not break the connection it is listening to.
                log.exception("an event listener failed on %s", name)
        return event
