"""Token renewal on the live connection: when the access token is due (``token_refresh_fraction`` of its
lifetime), a new one is had from the auth service and handed to the gateway in an ``auth`` frame, so the
session outlives any one token.
"""

from __future__ import annotations

import asyncio
import logging
import random

from websockets.asyncio.client import ClientConnection

from reference_client.auth import TokenManager
from reference_client.backoff import Backoff
from reference_client.coordination import LiveConfig
from reference_client.errors import AuthError, Classification, classify
from reference_client.link import Link

log = logging.getLogger("reference_client")


async def renew_tokens(
    link: Link, connection: ClientConnection, auth: TokenManager, live: LiveConfig, rng: random.Random
) -> Classification:
    """Refresh the token when due and hand it to the live connection; never ends the session itself (it
    returns only by being cancelled, or raising ``ConnectionClosed`` when the connection has ended).

    A failure worth retrying is retried with backoff (``ClientConfig.backoff``, and at least the auth
    service's ``Retry-After``). One that is not (the key itself is refused) stops renewal: asking again would
    only be a storm. The session then runs until the gateway closes it for expiry, and the reconnect that
    follows says why access can't be had."""
    backoff = Backoff(live.current.backoff, rng)
    while True:
        # Timed by the refresh fraction in force: a new one moves the renewal of the token held now.
        while (due_in_s := auth.refresh_due_in()) > 0:
            await live.pause(due_in_s)
        await asyncio.sleep(0)
        try:
            token = await auth.ensure_token()
        except AuthError as error:
            # Already reported as auth:error.
            log.debug("token renewal failed: %s", classify(error).description)
            if not error.retryable:
                await asyncio.Future()  # until the connection ends
            _, delay_ms = backoff.next_delay_ms()
            initial_ms = live.current.backoff.initial_ms
            await asyncio.sleep(max(delay_ms, initial_ms, (error.retry_after_s or 0) * 1000) / 1000)
            continue
        backoff.reset()
        frame = link.session.renewal(token)
        if frame is not None:
            await connection.send(frame)
            link.session.presented(token)
