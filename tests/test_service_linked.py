"""An agent's linked contacts stay true: when a contact the agent was told is the same
person's closes elsewhere, the agent is told the list again, an empty one when nothing
besides its own contact is left open (so no Merge stays on a contact that is gone)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from tests.service_support import bearer, login, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
NUMBER = "+358401234567"


async def test_a_linked_contact_closed_elsewhere_is_taken_off_the_agents_list(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    # A dental callback nobody logged in can serve waits; the same person then calls.
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": NUMBER, "service": "oral_health", "language": "fi"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    waiting = (await r.json())["contact_id"]
    agent = await login(client, "a001")
    call = {"call_id": "lk-1", "caller": NUMBER, "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    offer = await agent.next("offer")
    await agent.send({"type": "accept", "contact_id": offer["contact"]["id"]})
    told = await agent.next("linked")
    assert [c["id"] for c in told["open"]] == [waiting]

    # A supervisor removes the callback: the agent's list is now empty.
    r = await client.post(
        f"/api/supervisor/contacts/{waiting}/remove",
        json={"reason": "called twice"},
        headers=bearer("supervisor"),
    )
    assert r.status == 200, await r.text()
    again = await agent.next("linked")
    assert again == {"type": "linked", "contact_id": "phone-lk-1", "open": []}


async def test_an_agent_only_offered_a_contact_is_not_told_of_its_linked_ones(
    aiohttp_client: MakeClient,
) -> None:
    """A call only offered to the agent is removed (or hung up): the agent never had it
    and may merge nothing into it, so it gets no linked list for it."""
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": NUMBER, "service": "oral_health", "language": "fi"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    agent = await login(client, "a001")
    call = {"call_id": "lk-2", "caller": NUMBER, "ivr": {"service": "nursing_advice"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    offer = await agent.next("offer")
    r = await client.post(
        f"/api/supervisor/contacts/{offer['contact']['id']}/remove",
        json={"reason": "called twice"},
        headers=bearer("supervisor"),
    )
    assert r.status == 200, await r.text()
    await agent.next("closed")
    # Whatever the removal sent reaches the socket before the answer to a later action.
    await agent.send({"type": "heartbeat", "id": "after"})
    assert (await agent.next("ack"))["id"] == "after"
    assert [m for m in agent.pending if m["type"] == "linked"] == []
