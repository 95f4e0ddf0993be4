"""The avatar service as steps, hooks and the stack use it: synchronous calls from any thread, each one handed
to the services' background loop, where the service lives."""

from __future__ import annotations

from support.services.avatar.service import AvatarService
from support.services.avatar.sessions import AvatarSession
from support.services.http_app import HttpServiceHandle


class AvatarHandle(HttpServiceHandle[AvatarService]):
    """One avatar service on one loop (``service``: the ``AvatarService`` itself); ``stop``, ``start``,
    ``url`` and ``running`` as every HTTP service's handle has them."""

    def register_key(self, api_key: str) -> None:
        """Accept ``api_key`` until the next reset; raises ``ValueError`` for an empty key."""
        self.loop.call(lambda: self.service.register_key(api_key))

    def become_unavailable(self) -> None:
        """The service answers every call with 503 until ``recover``."""
        self.loop.call(self.service.become_unavailable)

    def become_slow(self, delay_ms: int) -> None:
        """The service holds back every answer by ``delay_ms`` until ``recover``."""
        self.loop.call(lambda: self.service.become_slow(delay_ms))

    def recover(self) -> None:
        """The service answers promptly and normally again."""
        self.loop.call(self.service.recover)

    def sessions(self) -> list[AvatarSession]:
        """Every session since the last reset, oldest first (copies)."""
        return self.loop.call(self.service.sessions)
