"""Serving an aiohttp application on loopback, as the suite's HTTP services (auth, avatar) all do."""

from __future__ import annotations

import ssl
from typing import TypeVar

from aiohttp import web

from support.services.handle import ServiceHandle
from support.services.journal import Journal
from support.services.loopback import HOST, LoopbackService

# How long stopping waits for answers in progress: short, so a slow answer cannot hold up a reset.
SHUTDOWN_GRACE_S = 0.5


class Refusal(Exception):
    """An error answer (status, error code, description), raised from deep inside a request's handling and
    turned into the service's error body where the request is handled."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


async def serve(
    app: web.Application, port: int, ssl_context: ssl.SSLContext | None, service: str
) -> tuple[web.AppRunner, int]:
    """Serve ``app`` on ``HOST``:``port`` (0 takes an ephemeral port); return the runner, to stop it with
    ``runner.cleanup()``, and the port bound. A port that can't be bound is an ``OSError`` naming the
    service."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, HOST, port, ssl_context=ssl_context).start()
    except OSError as error:
        await runner.cleanup()
        raise OSError(error.errno, f"the {service} could not bind {HOST}:{port}: {error}") from error
    return runner, port or int(runner.addresses[0][1])


class HttpService(LoopbackService):
    """An HTTP service on loopback: started on an ephemeral port, stopped, and started again on that same
    port, so a client given ``url`` can come back after an outage. Subclasses say what they serve."""

    service = "HTTP service"  # how failures name it
    journal: Journal | None = None  # where stopping and starting again are recorded, when the service has one

    def __init__(self, ssl_context: ssl.SSLContext | None) -> None:
        self.ssl_context = ssl_context  # set: the service speaks https only
        self._port = 0
        self._runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        """The routes (and middlewares) to serve; made anew for each start."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        """Bind and serve; the first start takes an ephemeral port, later ones re-bind it (journaled as
        "service started again"). Idempotent."""
        if self._runner is None:
            again = bool(self._port)
            self._runner, self._port = await serve(
                self.application(), self._port, self.ssl_context, self.service
            )
            if again and self.journal is not None:
                self.journal.record("service started again", port=self._port)

    async def stop(self) -> None:
        """Stop serving: the port refuses every connection until ``start`` (journaled as "service stopped").
        Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            if self.journal is not None:
                self.journal.record("service stopped", answer="its address refuses every connection")


S = TypeVar("S", bound=HttpService)


class HttpServiceHandle(ServiceHandle[S]):
    """An HTTP service as steps, hooks and the stack use it (``support.services.handle``): its address,
    whether it runs, and stopping and starting it; subclasses add the service's own calls."""

    @property
    def url(self) -> str:
        """Where the service listens (``http://`` or ``https://``, ``HOST``, its port), stopped or not."""
        return self.service.url

    @property
    def running(self) -> bool:
        """Whether the service is listening (a plain read, safe from any thread)."""
        return self.service.running

    def stop(self) -> None:
        """The service goes away: its port refuses connections until ``start`` (journaled). Idempotent."""
        self.loop.run(self.service.stop())

    def start(self) -> None:
        """The service listens again, on the port it had (journaled). Idempotent."""
        self.loop.run(self.service.start())
