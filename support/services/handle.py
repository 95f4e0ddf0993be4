"""What every service handle shares: the service, and the loop every call hops onto.

Steps, hooks and the stack are synchronous and run on behave's thread; the services live on the services'
background loop (``support.harness.runtime.BackgroundLoop``). A handle makes that hop for each call
(``loop.call`` for plain methods, ``loop.run`` for coroutines), waits for the answer (up to the loop's
30 s, then ``TimeoutError``) and raises in the caller's thread what the service raised. Code already on
the loop uses the service itself, ``handle.service``: a hop from the loop's own thread would wait on itself.
Each service's own handle (``auth/handle.py``, ``gateway/handle.py``, ``proxy/handle.py``,
``avatar/handle.py``) adds that service's calls.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from support.harness.runtime import BackgroundLoop

S = TypeVar("S")


class ServiceHandle(Generic[S]):
    """``service`` on ``loop``: the base of every service's handle. A handle without attributes of its own
    declares empty ``__slots__``, so a misspelt attribute set on it raises instead of being lost."""

    __slots__ = ("loop", "service")

    def __init__(self, loop: BackgroundLoop, service: S) -> None:
        self.loop = loop
        self.service = service

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on the {self.loop.name} loop: {self.service!r}>"
