"""The receive loop: every frame the gateway sends on the live connection goes to the session core, and what
it answers with is carried out, until the connection ends or a frame can't be used."""

from __future__ import annotations

import contextlib

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from reference_client.errors import Classification, classify
from reference_client.link import Link


async def read_frames(link: Link, connection: ClientConnection) -> Classification:
    """Receive until the connection ends; returns why it ended (``classify``)."""
    while True:
        try:
            frame = await connection.recv()
        except ConnectionClosed as closed:
            return classify(closed)
        unusable = await receive(link, connection, frame)
        if unusable is not None:
            return unusable


async def receive(link: Link, connection: ClientConnection, frame: str | bytes) -> Classification | None:
    """Act on one frame; for a frame the client cannot use, close the connection with the code the session
    core chose (RFC 6455 §7.4.1) and say why the connection ended."""
    reaction = link.session.receive(frame)
    await link.carry_out(reaction, connection)
    if reaction.hang_up is None:
        return None
    with contextlib.suppress(ConnectionClosed):
        await connection.close(reaction.hang_up.code, "unusable frame")
    return reaction.hang_up.classification
