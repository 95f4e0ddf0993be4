"""Two gateway nodes sharing one session store, as behind a load balancer during a rolling update: a session
opened on one node is resumed on the other without loss, and stopping one node leaves the other's clients be.
"""

from __future__ import annotations

import asyncio
import random

from websockets.asyncio.client import ClientConnection, connect

from realtime_protocol import CloseCode, MessageType
from support.services.gateway import Gateway
from support.services.journal import Journal, TaggedJournal
from tests.test_gateway import AUTHORITY, closure, receive, send, token


def nodes(journal: Journal) -> tuple[Gateway, Gateway]:
    first = Gateway(AUTHORITY, TaggedJournal(journal, node="A"), resume_window_ms=5_000, rng=random.Random(1))
    second = Gateway(
        AUTHORITY,
        TaggedJournal(journal, node="B"),
        resume_window_ms=5_000,
        rng=random.Random(2),
        store=first.store,
    )
    return first, second


async def hello(node: Gateway, resume: dict[str, object] | None = None) -> tuple[ClientConnection, dict]:
    ws = await connect(
        node.url,
        additional_headers={"Authorization": f"Bearer {token()}"},
        ping_interval=None,
        open_timeout=2,
    )
    await send(ws, {"type": MessageType.HELLO, **({"resume": resume} if resume else {})})
    return ws, await receive(ws)


def test_a_session_opened_on_one_node_resumes_on_the_other_with_what_it_missed() -> None:
    async def scenario() -> None:
        journal = Journal("gateway")
        first, second = nodes(journal)
        await first.start()
        await second.start()
        try:
            ws, welcome = await hello(first)
            session_id = welcome["session_id"]
            await send(ws, {"type": MessageType.SUBSCRIBE, "channel": "prices"})
            assert (await receive(ws))["type"] == MessageType.SUBSCRIBED
            await first.publish("prices", {"n": 1})
            assert (await receive(ws))["seq"] == 1

            await first.stop(mode="graceful", code=CloseCode.SERVICE_RESTART)
            assert (await closure(ws)).rcvd.code == CloseCode.SERVICE_RESTART  # type: ignore[union-attr]
            await first.publish("prices", {"n": 2})  # while the client is between nodes

            moved, again = await hello(second, resume={"session_id": session_id, "last_seq": 1})
            assert again["resumed"] is True and again["session_id"] == session_id and again["replay"] == 1
            assert (await receive(moved))["seq"] == 2
            await first.publish("prices", {"n": 3})  # reaches the client on the other node, numbered on
            assert (await receive(moved))["seq"] == 3
            assert second.session_ids() == [session_id] and second.subscriptions_of(session_id) == {"prices"}
            assert [entry.detail["node"] for entry in journal.entries("session resumed")] == ["B"]
            assert journal.count("gateway stopped", node="A", code=1012) == 1
            connections = {frame.connection for frame in first.transcript.frames()}
            assert connections == {1, 2}  # one numbering across the nodes, so the transcript is unambiguous
            await moved.close()
        finally:
            await second.close()
            await first.close()
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(scenario())


def test_stopping_one_node_leaves_the_other_nodes_clients_connected() -> None:
    async def scenario() -> None:
        first, second = nodes(Journal("gateway"))
        await first.start()
        await second.start()
        try:
            on_first, _ = await hello(first)
            on_second, _ = await hello(second)
            await first.stop(mode="graceful", code=CloseCode.GOING_AWAY)
            await closure(on_first)
            await send(on_second, {"type": MessageType.SUBSCRIBE, "channel": "prices"})
            assert (await receive(on_second))["type"] == MessageType.SUBSCRIBED
            await first.start()
            await second.stop(mode="crash")
            assert (await closure(on_second)).rcvd is None
            await on_first.close()
        finally:
            await second.close()
            await first.close()

    asyncio.run(scenario())


def test_a_tagged_journal_adds_its_facts_to_the_shared_entries() -> None:
    journal = Journal("gateway")
    TaggedJournal(journal, node="B").record("gateway started", port=1)
    journal.record("traffic moved", to="node B")
    assert [(entry.source, entry.kind, dict(entry.detail)) for entry in journal] == [
        ("gateway", "gateway started", {"port": 1, "node": "B"}),
        ("gateway", "traffic moved", {"to": "node B"}),
    ]
    TaggedJournal(journal, node="A").clear()
    assert journal.entries() == []
