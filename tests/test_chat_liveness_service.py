"""Chat customers' liveness in the service, over real websockets: in Redis mode (two
instances on one store: shared in process, or a real Redis) the instance holding a
customer's socket reports it, so a customer whose instance stops answering is taken as
gone when its report runs out, and one who resumes on the other instance carries on; a
customer who leaves an assigned chat counts as gone, as when the socket drops, in memory
mode as in Redis mode."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import SERVICE, build_app
from router.instance import channel_of
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from tests.service_support import customer, login, make_service, until
from tests.test_replica_service import two_instances

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

START = {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}
HEARTBEAT_S = 1.5  # reports every half second


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client]]:
    settings = Settings(heartbeat_timeout_s=HEARTBEAT_S)
    async with two_instances(request, aiohttp_client, settings) as clients:
        yield clients


async def test_a_customer_whose_instance_stops_is_away_and_carries_on_when_resumed_elsewhere(
    pair: tuple[Client, Client],
) -> None:
    services: list[Service] = [c.app[SERVICE] for c in pair]
    await until(lambda: any(s.runtime.is_leader for s in services), timeout=5)
    # The customer's instance follows: the survivor keeps the region's time.
    holder = next(i for i, s in enumerate(services) if not s.runtime.is_leader)
    other = services[1 - holder]
    for s in services:
        channel_of(s).grace_s = 60.0
    cust = await customer(pair[holder])
    await cust.send(START)
    session = await cust.next("session")
    cid = session["contact_id"]
    await cust.next("queued")
    await until(lambda: other.engine.contact(cid).state.value == "waiting")
    runtime = services[holder].runtime
    assert isinstance(runtime, ReplicatedRuntime)
    runtime.halt()  # it says nothing more, and the customer's socket stays open to it
    await until(lambda: other.engine.contact(cid).customer_away, timeout=HEARTBEAT_S + 3)
    assert other.engine.contact(cid).state.value == "waiting"  # the grace runs
    # The customer comes back on the survivor within the grace: carries on, reported.
    query = f"&session={session['session_id']}&resume={session['resume_token']}"
    back = await customer(pair[1 - holder], query)
    assert (await back.next("resumed"))["contact_id"] == cid
    assert (await back.next("queued"))["position"] == 1
    assert not other.engine.contact(cid).customer_away
    assert await back.quiet(2 * HEARTBEAT_S) == []  # nothing said to it
    assert not other.engine.contact(cid).customer_away
    assert other.engine.contact(cid).state.value == "waiting"
    await back.close()
    await cust.close()


async def test_a_customer_who_leaves_an_assigned_chat_is_gone_when_it_goes_back_to_the_queue(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    channel_of(service).grace_s = 0.2
    agent = await login(client, "a004")
    cust = await customer(client)
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    await agent.next("offer")
    await agent.send({"type": "accept", "contact_id": cid, "id": "in"})
    assert (await agent.next("ack"))["id"] == "in"
    await cust.next("joined")
    await cust.send({"type": "leave"})
    await cust.next("left")
    assert (await agent.next("chat.customer_left"))["contact_id"] == cid
    assert service.engine.contact(cid).state.value == "assigned"  # the agent may finish
    await agent.send({"type": "logout", "force": True, "id": "out"})
    assert (await agent.next("ack"))["id"] == "out"
    # Back in the queue with nobody there: abandoned after the grace, not kept for ever.
    await until(lambda: channel_of(service).sessions == {})
    assert service.engine.waiting_count == 0
    await agent.close()
