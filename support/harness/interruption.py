"""Ctrl-C, noticed wherever it lands.

Python raises ``KeyboardInterrupt`` in the main thread at whatever it is doing when SIGINT arrives. When
that is a finalizer (``__del__``, a weakref callback: garbage from a client's closed connections is
collected there), the exception cannot be raised and is dropped as "unraisable", and behave would run on
as if nothing had happened. So the suite's SIGINT handler also remembers the interrupt, and the hooks raise
it again before the next scenario or step if behave has not heard of it (``context.aborted`` still false).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType


class Interruption:
    """Whether Ctrl-C (SIGINT) arrived since ``install``; ``install`` works from the main thread only."""

    def __init__(self) -> None:
        self.noticed = False

    def install(self) -> None:
        """Take SIGINT over (from the main thread): note it, then raise ``KeyboardInterrupt`` as Python
        would. Elsewhere, or when SIGINT is not Python's default, this changes nothing."""
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.noticed = True
        raise KeyboardInterrupt

    def raise_if_missed(self, aborted: bool) -> None:
        """Raise ``KeyboardInterrupt`` if Ctrl-C arrived but the run was not aborted for it (``aborted``:
        behave's ``context.aborted``), so an interrupt lost in a finalizer still ends the run."""
        if self.noticed and not aborted:
            raise KeyboardInterrupt


CTRL_C = Interruption()
