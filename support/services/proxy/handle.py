"""The fault proxy as steps and hooks hold it: each call hops onto the services' background loop.

Steps are synchronous and run on behave's thread; the proxy lives on the services' event loop. A
``ProxyHandle`` makes that hop for each call (``BackgroundLoop.call`` for plain methods, ``run`` for
coroutines) and returns what the proxy returned. Code already on the loop uses the proxy itself,
``handle.service``: a hop from the loop's own thread would wait on itself.
"""

from __future__ import annotations

from support.services.handle import ServiceHandle
from support.services.proxy.control import FaultProxy
from support.services.proxy.faults import FaultRecord
from support.services.proxy.toxics import Stream

__all__ = ["ProxyHandle"]


class ProxyHandle(ServiceHandle[FaultProxy]):
    """Toxiproxy's controls for the one fault proxy on the client's path to the gateway, callable from any
    thread but the loop's (``support.services.handle``). Errors are the proxy's own (``ValueError`` for a
    toxic or schedule it refuses), raised in the caller's thread."""

    __slots__ = ()

    @property
    def port(self) -> int:
        """The port the proxy listens on (fixed once it has started)."""
        return self.service.port

    @property
    def upstream_port(self) -> int:
        """Where the proxy sends new connections (it stands for the load balancer in front of the gateway
        nodes). A plain value, read and set without a hop; live connections stay where they are."""
        return self.service.upstream_port

    @upstream_port.setter
    def upstream_port(self, port: int) -> None:
        self.service.upstream_port = port

    def down(self) -> FaultRecord:
        """Toxiproxy's ``enabled=false``: every live connection is reset, new ones are refused until
        ``heal``. Already down: the same record."""
        return self.loop.run(self.service.down())

    def heal(self) -> None:
        """Lift every fault: flapping stops, toxics are removed, and the link is up."""
        self.loop.run(self.service.heal())

    def heal_after(self, delay_ms: float) -> None:
        """Every fault is lifted by the network itself ``delay_ms`` (ms) from now."""
        self.loop.call(lambda: self.service.heal_after(delay_ms))

    def add_toxic(
        self, kind: str, stream: Stream = "downstream", *, name: str | None = None, **attributes: float
    ) -> FaultRecord:
        """Add a toxic of ``kind`` (``toxics.TOXICS``) on ``stream`` with its Toxiproxy attributes, acting on
        live connections as well as new ones (``FaultProxy.add_toxic``)."""
        return self.loop.call(lambda: self.service.add_toxic(kind, stream=stream, name=name, **attributes))

    def start_flapping(self, *, up_ms: float, down_ms: float, variation: float = 0.0) -> FaultRecord:
        """The network goes down and up on a seeded schedule until healed (``FaultProxy.start_flapping``)."""
        return self.loop.call(
            lambda: self.service.start_flapping(up_ms=up_ms, down_ms=down_ms, variation=variation)
        )

    def faults(self) -> list[FaultRecord]:
        """Every fault applied since the last reset, lifted or not, oldest first."""
        return self.loop.call(lambda: self.service.faults)
