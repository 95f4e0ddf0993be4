"""What the network did: one record per fault applied, kept by the proxy and read by the report."""

from __future__ import annotations

from dataclasses import dataclass

from support.services.proxy import flapping
from support.services.proxy.toxics import TOXICS, plain

__all__ = ["DOWN", "FLAPPING", "FaultRecord"]

# Toxiproxy's ``enabled=false``: the proxy resets every connection and refuses new ones.
DOWN = "down"
# A proxy-level fault of this suite's own (Toxiproxy has none): the proxy goes ``down`` and ``up`` on a seeded
# schedule until it is lifted, each ``down`` journaled as a fault of its own (see ``flapping``).
FLAPPING = "flapping"


@dataclass
class FaultRecord:
    """One fault as it appears in the report: ``kind`` is a toxic's kind, ``DOWN`` or ``FLAPPING``;
    ``stream`` is None for the last two. ``lifted_at`` stays ``None`` while the fault is active."""

    name: str
    kind: str
    stream: str | None
    attributes: dict[str, float | int]
    applied_at: float  # time.monotonic(), the clock the journals and client events use
    lifted_at: float | None = None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    def describe(self) -> str:
        """Plain English, for people reading a scenario report."""
        if self.kind == DOWN:
            return "network down"
        if self.kind == FLAPPING:
            return flapping.describe(self.attributes)
        toxic = TOXICS.get(self.kind)
        if toxic is None:
            facts = ", ".join(f"{key}={plain(value)}" for key, value in self.attributes.items())
            return f"{self.stream} {self.kind}" + (f" ({facts})" if facts else "")
        return toxic.describe(self.stream, self.attributes)
