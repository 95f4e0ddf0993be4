"""The fault proxy as steps and hooks hold it: each call hops onto the services' background loop.

Steps are synchronous and run on behave's thread; the proxy lives on the services' event loop. A
``ProxyHandle`` makes that hop for each call (``BackgroundLoop.call`` for plain methods, ``run`` for
coroutines) and returns what the proxy returned. Code already on the loop uses the proxy itself,
``handle.service``: a hop from the loop's own thread would wait on itself.
"""

from __future__ import annotations

from support.harness.runtime import BackgroundLoop
from support.services.proxy.control import FaultProxy
from support.services.proxy.faults import FaultRecord
from support.services.proxy.toxics import Stream

__all__ = ["ProxyHandle"]


class ProxyHandle:
    """Toxiproxy's controls for the one fault proxy on the client's path to the gateway, callable from any
    thread but the loop's. Errors are the proxy's own (``ValueError`` for a toxic or schedule it refuses),
    raised in the caller's thread; a hop that takes over 30 s raises ``TimeoutError``."""

    __slots__ = ("_loop", "_proxy")

    def __init__(self, loop: BackgroundLoop, proxy: FaultProxy) -> None:
        self._loop = loop
        self._proxy = proxy

    @property
    def service(self) -> FaultProxy:
        """The proxy itself, for code already on the loop and for self-tests."""
        return self._proxy

    @property
    def port(self) -> int:
        """The port the proxy listens on (fixed once it has started)."""
        return self._proxy.port

    @property
    def upstream_port(self) -> int:
        """Where the proxy sends new connections (it stands for the load balancer in front of the gateway
        nodes). A plain value, read and set without a hop; live connections stay where they are."""
        return self._proxy.upstream_port

    @upstream_port.setter
    def upstream_port(self, port: int) -> None:
        self._proxy.upstream_port = port

    def down(self) -> FaultRecord:
        """Toxiproxy's ``enabled=false``: every live connection is reset, new ones are refused until
        ``heal``. Already down: the same record."""
        return self._loop.run(self._proxy.down())

    def heal(self) -> None:
        """Lift every fault: flapping stops, toxics are removed, and the link is up."""
        self._loop.run(self._proxy.heal())

    def heal_after(self, delay_ms: float) -> None:
        """Every fault is lifted by the network itself ``delay_ms`` (ms) from now."""
        self._loop.call(lambda: self._proxy.heal_after(delay_ms))

    def add_toxic(
        self, kind: str, stream: Stream = "downstream", *, name: str | None = None, **attributes: float
    ) -> FaultRecord:
        """Add a toxic of ``kind`` (``toxics.TOXICS``) on ``stream`` with its Toxiproxy attributes, acting on
        live connections as well as new ones (``FaultProxy.add_toxic``)."""
        return self._loop.call(lambda: self._proxy.add_toxic(kind, stream=stream, name=name, **attributes))

    def start_flapping(self, *, up_ms: float, down_ms: float, variation: float = 0.0) -> FaultRecord:
        """The network goes down and up on a seeded schedule until healed (``FaultProxy.start_flapping``)."""
        return self._loop.call(
            lambda: self._proxy.start_flapping(up_ms=up_ms, down_ms=down_ms, variation=variation)
        )

    def faults(self) -> list[FaultRecord]:
        """Every fault applied since the last reset, lifted or not, oldest first."""
        return self._loop.call(lambda: self._proxy.faults)
