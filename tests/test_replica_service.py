"""Two instances in Redis mode behind one number, over real HTTP and websockets: a chat
whose customer is on one instance and whose agent is on the other, a customer who
resumes on the other instance, and a phone call taken through either. Run against the
memory store shared in process and against a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import SERVICE, build_app
from router.instance import channel_of
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from router.store import Store
from router.store.memory import MemoryStore
from router.store.redis import RedisStore
from tests.redis_support import unique_region
from tests.service_support import bearer, customer, login, region, until

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)
START = {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}


def _healthy(service: Service) -> Callable[[], bool]:
    return lambda: service.runtime.healthy


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client]]:
    async with two_instances(request, aiohttp_client, Settings()) as clients:
        yield clients


@contextlib.asynccontextmanager
async def two_instances(
    request: pytest.FixtureRequest,
    aiohttp_client: MakeClient,
    settings: Settings,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[tuple[Client, Client]]:
    """Two instances of the sample region on one store (``request.param``: "memory",
    shared in process, or "redis"), each serving over loopback, both healthy, both on
    ``clock`` (the region's clock: pass one settable clock for virtual time)."""
    stores: list[Store]
    if request.param == "memory":
        shared = MemoryStore()
        stores = [shared, shared]
    else:
        url, key = request.getfixturevalue("redis_url"), unique_region()
        stores = [RedisStore(url, key), RedisStore(url, key)]
    clients = []
    for store in stores:
        service = Service(region(), settings, clock=clock, store=store, replica=FAST)
        clients.append(await aiohttp_client(build_app(service)))
        await until(_healthy(service), timeout=5)
    yield clients[0], clients[1]
    for client in clients:
        await client.close()
    if request.param == "redis":
        for store in stores:
            await store.close()


async def test_a_chat_relays_both_ways_between_instances_and_resumes_on_either(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    cust = await customer(a)
    await cust.send({**START, "topic": "fever"})
    session = await cust.next("session")
    cid = session["contact_id"]
    await cust.next("queued")
    await cust.send({"type": "message", "text": "Hej, jag har feber"})
    agent = await login(b, "a004")  # the agent's browser reached the other instance
    assert (await agent.next("offer"))["contact"]["id"] == cid
    await agent.send({"type": "accept", "contact_id": cid, "id": "acc"})
    transcript = await agent.next("chat.transcript")
    assert [m["text"] for m in transcript["messages"]] == ["Hej, jag har feber"]
    assert (await cust.next("joined"))["agent_name"] == "Johanna"
    await cust.send({"type": "message", "text": "Sedan i går"})
    assert (await agent.next("chat.message"))["text"] == "Sedan i går"
    await agent.send({"type": "chat.message", "contact_id": cid, "text": "Hur hög?", "id": 2})
    assert (await cust.next("message"))["text"] == "Hur hög?"

    # The customer's phone switches network and lands on the other instance.
    again = await customer(b, f"&session={session['session_id']}&resume={session['resume_token']}")
    resumed = await again.next("resumed")
    assert [m["text"] for m in resumed["transcript"]] == [
        "Hej, jag har feber",
        "Sedan i går",
        "Hur hög?",
    ]
    assert await cust.next("replaced") == {"type": "replaced"}  # on the first instance
    await agent.send({"type": "chat.message", "contact_id": cid, "text": "38?", "id": 3})
    assert (await again.next("message"))["text"] == "38?"
    # A wrong token is refused on either instance.
    wrong = await customer(a, f"&session={session['session_id']}&resume=nope")
    assert (await wrong.next("error"))["code"] == "resume_refused"

    await again.send({"type": "leave"})
    assert (await agent.next("chat.customer_left"))["contact_id"] == cid
    r = await a.get(f"/api/channels/chat/{cid}/transcript", headers=bearer("agent-a004"))
    assert r.status == 200
    assert len((await r.json())["messages"]) == 4


async def test_a_call_posted_to_one_instance_is_answered_through_the_other(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    agent = await login(a, "a001")
    call = {"call_id": "x1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
    r = await b.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    assert (await r.json())["action"] == "connect"
    assert (await agent.next("offer"))["contact"]["id"] == "phone-x1"
    # A retried webhook on the other instance has no second effect.
    r = await a.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 200
    assert (await r.json())["action"] == "connect"


async def test_service_edits_on_two_instances_at_once_never_overwrite_each_other(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    sup = bearer("supervisor")
    url = "/api/supervisor/services/oral_health"
    ra, rb = await asyncio.gather(
        a.patch(url, json={"wrapup_s": 45}, headers=sup),
        b.patch(url, json={"offer_timeout_s": 25}, headers=sup),
    )
    assert ra.status == 200 and rb.status == 200, (await ra.text(), await rb.text())
    for client in (a, b):
        r = await client.get(url, headers=sup)
        body = await r.json()
        assert body["wrapup_s"] == 45 and body["offer_timeout_s"] == 25


async def test_a_chat_left_before_an_answer_is_abandoned_even_after_the_leader_dies(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    services = [c.app[SERVICE] for c in (a, b)]
    await until(lambda: any(s.runtime.is_leader for s in services), timeout=5)
    leader = next(s for s in services if s.runtime.is_leader)
    other = next(s for s in services if s is not leader)
    for s in services:
        channel_of(s).grace_s = 0.5
    cust = await customer(a if other is services[0] else b)
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    await cust.ws.close()  # the customer's phone dies; nobody has the chat yet
    await until(lambda: other.engine.contact(cid).customer_away)
    assert isinstance(leader.runtime, ReplicatedRuntime)
    leader.runtime.halt()  # the lease holder dies before the grace period is over
    # The survivor takes the lease and abandons the chat when the grace period ends.
    await until(lambda: not channel_of(other).sessions, timeout=5)
    assert other.engine.waiting_count == 0


def cid_session(service: Service, contact_id: str) -> str:
    return channel_of(service).by_contact[contact_id].id
