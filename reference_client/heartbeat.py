"""The heartbeat: a WebSocket ping (RFC 6455 §5.5.2) every ``heartbeat_interval_ms`` on the live connection;
no pong within ``heartbeat_timeout_ms`` means the link is half-open or too slow, and the connection ends.

The client sends its own pings (the library's are turned off) so their timing is configurable at run time
and visible: a new interval counts from the last heartbeat, not the next.
"""

from __future__ import annotations

import asyncio
import logging

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from reference_client.coordination import LiveConfig
from reference_client.errors import Classification, HeartbeatTimeoutError, classify
from reference_client.events import EventEmitter

log = logging.getLogger("reference_client")


async def keep_heartbeat(
    connection: ClientConnection, live: LiveConfig, events: EventEmitter
) -> Classification:
    """Ping until a ping goes unanswered (``heartbeat:timeout``) or the connection closes; returns why the
    connection ended."""
    loop = asyncio.get_running_loop()
    while True:
        # Timed by the interval in force: a new one counts from the last heartbeat, not the next.
        last = loop.time()
        while (left_s := last + live.current.heartbeat_interval_ms / 1000 - loop.time()) > 0:
            await live.pause(left_s)
        try:
            pong = await connection.ping()
            round_trip_s = await asyncio.wait_for(pong, live.current.heartbeat_timeout_ms / 1000)
            log.debug("heartbeat answered in %.1f ms", round_trip_s * 1000)
        except ConnectionClosed as closed:
            return classify(closed)
        except TimeoutError:
            timeout_ms = live.current.heartbeat_timeout_ms
            events.emit("heartbeat:timeout", waited_ms=timeout_ms)
            return classify(
                HeartbeatTimeoutError(
                    f"no reply to a heartbeat within {timeout_ms} ms (the link is half-open or too slow)"
                )
            )
