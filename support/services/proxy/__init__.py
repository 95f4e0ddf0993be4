"""An embedded TCP proxy that injects network faults between a client and a service on 127.0.0.1.

It speaks Toxiproxy's vocabulary so scenarios read the same as they would against a real Toxiproxy:
a *toxic* is a fault acting on one *stream* ("upstream" is client -> service, "downstream" is
service -> client), and taking the proxy *down* is Toxiproxy's ``enabled=false``.

Everything runs on the caller's event loop; the proxy starts no threads. Toxics act on live
connections as well as new ones, because the faults worth testing are the ones that strike an
established session. Every fault applied and lifted is kept in ``faults`` (and the journal, if given)
so a report can say exactly what the network did and when.

The parts:
- ``toxics``: the toxic catalogue (``Toxic`` and each kind, registered in ``TOXICS``) and its arithmetic.
- ``relay``: the sockets; links and connections moving bytes through the toxics.
- ``control``: ``FaultProxy``, down and up, toxics added and removed, the faults journal, timed heals.
- ``flapping``: the seeded down-and-up schedule.
- ``faults``: ``FaultRecord``, one fault as the report tells it.
- ``handle``: ``ProxyHandle``, the proxy as steps hold it, each call hopping onto the services' loop.
"""

from support.services.proxy.control import FaultProxy
from support.services.proxy.faults import DOWN, FLAPPING, FaultRecord
from support.services.proxy.relay import TASK_PREFIX
from support.services.proxy.toxics import STREAMS, TOXICS, Stream, Toxic

__all__ = [
    "DOWN",
    "FLAPPING",
    "STREAMS",
    "TASK_PREFIX",
    "TOXICS",
    "FaultProxy",
    "FaultRecord",
    "Stream",
    "Toxic",
]
