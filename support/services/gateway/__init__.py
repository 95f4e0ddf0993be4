"""The mock realtime gateway: a real WebSocket server on 127.0.0.1 speaking the suite's protocol.

It checks the access token in the opening handshake, keeps sessions with numbered messages, replays what a
client missed when it resumes within the resume window, de-duplicates client messages by id, pushes a stream
at a chosen rate, and can be stopped gracefully, crashed and restarted on the same port keeping or losing its
sessions. Everything it does is journaled for steps to assert on.

The protocol core has no I/O (the ``websockets`` library's split between its sans-I/O ``protocol.py`` and its
asyncio ``connection.py``):

- ``sessions``: sessions, the store nodes share, session ids and the resume window (time passed in);
- ``replay``: a session's numbered messages until acknowledged;
- ``channels``: subscriptions, reading and posting rights, de-duplication by message id;
- ``protocol``: what the gateway does about each frame a client sends, as a ``Reply`` (``actions``);
- ``troubles``: misbehaviour programmed for the coming connections.

The network code around it:

- ``server``: the ``Gateway`` node: serving, stop, start, restart, reset, and what steps ask of it;
- ``handshake``: the opening handshake (``/health``, token check, protocol versions, compression);
- ``connection``: one connection's receive and send loop, token expiry and heartbeats;
- ``streams``: push streams; ``misbehaviour``: odd frames, versions, compression off, connections cut;
- ``handle``: the stack's synchronous handle on the gateway, from steps' threads; ``nodes``: a second node
  behind the load balancer.
"""

from support.services.gateway.handshake import HEALTH_PATH, SUBPROTOCOLS
from support.services.gateway.server import Gateway, StopMode
from support.services.gateway.sessions import GatewaySession, SessionStore
from support.services.gateway.troubles import GatewayTrouble

__all__ = [
    "HEALTH_PATH",
    "SUBPROTOCOLS",
    "Gateway",
    "GatewaySession",
    "GatewayTrouble",
    "SessionStore",
    "StopMode",
]
