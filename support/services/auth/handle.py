"""The auth service as steps, hooks and the stack use it: synchronous calls from any thread, each one handed
to the services' background loop, where the service lives."""

from __future__ import annotations

from support.services.auth.accounts import Account
from support.services.auth.authorization_server import IssuedToken
from support.services.auth.programmed import ProgrammedResponse
from support.services.auth.service import AuthService
from support.services.http_app import HttpServiceHandle


class AuthHandle(HttpServiceHandle[AuthService]):
    """One auth service on one loop (``service``: the ``AuthService`` itself); ``stop``, ``start``, ``url``
    and ``running`` as every HTTP service's handle has them."""

    def register_account(
        self,
        api_key: str,
        subject: str,
        channels: tuple[str, ...] = ("*",),
        publish: tuple[str, ...] | None = None,
    ) -> None:
        """Let ``api_key`` sign in as ``subject``, reading ``channels`` and posting to ``publish`` (None:
        wherever it may read). Raises ``ValueError`` for an empty key."""
        account = Account(subject=subject, channels=channels, publish_channels=publish)
        self.loop.call(lambda: self.service.register(api_key, account))

    def program(self, *responses: ProgrammedResponse) -> None:
        """The next ``len(responses)`` token requests are answered as programmed, in order."""
        self.loop.call(lambda: self.service.program(*responses))

    def hand_out_flawed_tokens(self, flaw: str) -> None:
        """From now on the service signs people in with access tokens that have this flaw (one of
        ``tokens.FLAWS`` or ``authorization_server.ANSWER_FLAWS``; ``ValueError`` for another)."""
        self.loop.call(lambda: self.service.hand_out_flawed_tokens(flaw))

    def close_account(self, api_key: str) -> None:
        """The account behind ``api_key`` is closed: its key and every refresh token it holds stop working.
        Raises ``KeyError`` when no account has that key."""
        self.loop.call(lambda: self.service.close_account(api_key))

    def issued_tokens(self, subject: str | None = None) -> list[IssuedToken]:
        """Every token handed out since the last reset (to ``subject``, if given), oldest first."""
        return self.loop.call(lambda: self.service.issued_tokens(subject))

    def set_access_lifetime(self, lifetime_ms: int) -> None:
        """Access tokens handed out from now until the next reset last ``lifetime_ms`` (ms) instead of the
        ``token_lifetime_ms`` setting."""
        self.loop.call(lambda: setattr(self.service, "access_lifetime_ms", lifetime_ms))
