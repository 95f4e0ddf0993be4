"""What every mock service listening on loopback has: a port (0 until the first start binds one, and kept for
later starts, so a client given the address can come back after an outage), the address it is reached at,
and whether it is listening now."""

from __future__ import annotations

import ssl

HOST = "127.0.0.1"


class LoopbackService:
    """A service on ``HOST``; subclasses set ``service`` (how failures name it), ``schemes`` (without TLS,
    with TLS) and ``path``, keep the bound port in ``_port`` and say whether they are ``running``."""

    service = "service"
    schemes = ("http", "https")
    path = ""
    ssl_context: ssl.SSLContext | None = None  # set: the service speaks TLS only
    _port = 0

    @property
    def port(self) -> int:
        """The port bound; ``RuntimeError`` before the first start."""
        if not self._port:
            raise RuntimeError(f"the {self.service} has not been started, so it has no port yet")
        return self._port

    @property
    def url(self) -> str:
        """Where clients reach it: ``scheme://127.0.0.1:port`` and its path."""
        scheme = self.schemes[self.ssl_context is not None]
        return f"{scheme}://{HOST}:{self.port}{self.path}"

    @property
    def running(self) -> bool:
        raise NotImplementedError
