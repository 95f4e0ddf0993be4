"""Channels, sans-I/O: subscribing, and posting with the access token's rights and de-duplication by id.

A token grants channels twice over (support/services/tokens.py): ``channels`` may be read (subscribed to),
``publish`` may be posted to. A refusal never ends the connection: it is an ``error`` frame with the code
``forbidden`` (naming the message, for a post), and the client carries on.
"""

from __future__ import annotations

from typing import Any

from realtime_protocol import MessageType
from support.services.auth.tokens import AccessClaims
from support.services.gateway.actions import Reply
from support.services.gateway.sessions import GatewaySession, SessionStore


def subscribe(session: GatewaySession, claims: AccessClaims, channel: str, reply: Reply) -> None:
    """Subscribe ``session`` to ``channel`` if its token may read it ("subscribed" and a ``subscribed``
    frame), else refuse ("subscribe refused" and a ``forbidden`` error)."""
    if not claims.allows(channel):
        reply.note("subscribe refused", session=session.id, channel=channel)
        reply.send({"type": MessageType.ERROR, "code": "forbidden", "message": f"no access to {channel!r}"})
        return
    session.subscriptions.add(channel)
    reply.note("subscribed", session=session.id, channel=channel)
    reply.send({"type": MessageType.SUBSCRIBED, "channel": channel})


def unsubscribe(session: GatewaySession, channel: str, reply: Reply) -> None:
    """Stop reading ``channel`` ("unsubscribed"; nothing is sent back)."""
    session.subscriptions.discard(channel)
    reply.note("unsubscribed", session=session.id, channel=channel)


def publish(
    store: SessionStore,
    session: GatewaySession,
    claims: AccessClaims,
    message: dict[str, Any],
    reply: Reply,
) -> None:
    """A client's post (``message``: a decoded ``publish`` frame with ``id``, ``channel`` and ``data``).

    Refused when the token may not post to the channel: delivered to no one, answered with a ``forbidden``
    error carrying the message's id, so the client can stop sending it ("publish refused"). Else
    acknowledged by id (``ack``), and delivered to every other session reading the channel the first time
    the user posts that id ("publish accepted"), never again ("publish duplicate")."""
    message_id, channel = message["id"], message["channel"]
    if not claims.may_publish(channel):
        reply.note(
            "publish refused", session=session.id, subject=session.subject, id=message_id, channel=channel
        )
        reply.send(
            {
                "type": MessageType.ERROR,
                "code": "forbidden",
                "message": f"no right to post to {channel!r}",
                "id": message_id,
            }
        )
        return
    if not store.published.first_time(session.subject, message_id):
        reply.note("publish duplicate", session=session.id, id=message_id, channel=channel)
    else:
        reply.note("publish accepted", session=session.id, id=message_id, channel=channel)
        for other in list(store.sessions.values()):
            if other is not session and channel in other.subscriptions:
                reply.deliver(other, channel, message.get("data"))
    reply.send({"type": MessageType.ACK, "id": message_id})
