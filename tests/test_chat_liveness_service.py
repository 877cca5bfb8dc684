"""Chat customers' liveness in the service, over real websockets: in Redis mode (two
instances on one store: shared in process, or a real Redis) the instance holding a
customer's socket reports it, so a customer whose instance stops answering is taken as
gone when its report runs out, and one who resumes on the other instance carries on; a
customer who leaves an assigned chat counts as gone, as when the socket drops, in memory
mode as in Redis mode. The agent who has the chat is told ``chat.customer_left`` once
when its customer is taken as gone, wherever the agent's socket is, whether their
socket's close was heard or not."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.chat import ChatAttached
from router.app import SERVICE, build_app
from router.core.events import CustomerBack, CustomersSeen, TimerDue
from router.instance import channel_of
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from tests.service_support import Socket, customer, login, make_service, served_at, until
from tests.test_replica_service import two_instances

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

START = {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}
HEARTBEAT_S = 1.5  # reports every half second
NEVER_SILENT_S = 1e9  # the agents' own sightings never lapse while the fake clock jumps
VALID_S, GRACE_S = 30.0, 60.0  # a sighting's time, and the away grace


def left(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == "chat.customer_left"]


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client]]:
    settings = Settings(heartbeat_timeout_s=HEARTBEAT_S)
    async with two_instances(request, aiohttp_client, settings) as clients:
        yield clients


async def roles(pair: tuple[Client, Client]) -> tuple[list[Service], int, Service]:
    """The two instances' services, which one holds the customer (the follower: the
    survivor, the leader, keeps the region's time), and the other; a 60 s away grace."""
    services: list[Service] = [c.app[SERVICE] for c in pair]
    await until(lambda: any(s.runtime.is_leader for s in services), timeout=5)
    holder = next(i for i, s in enumerate(services) if not s.runtime.is_leader)
    for s in services:
        channel_of(s).grace_s = 60.0
    return services, holder, services[1 - holder]


async def test_a_customer_whose_instance_stops_is_away_and_carries_on_when_resumed_elsewhere(
    pair: tuple[Client, Client],
) -> None:
    services, holder, other = await roles(pair)
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


async def test_an_agent_on_another_instance_is_told_once_when_its_customers_instance_stops(
    pair: tuple[Client, Client],
) -> None:
    """Nobody hears the customer's socket close: the agent's instance tells it from the
    engine's lapse, which every instance takes alike."""
    services, holder, other = await roles(pair)
    agent = await login(pair[1 - holder], "a004")
    cust = await customer(pair[holder])
    await cust.send(START)
    session = await cust.next("session")
    cid = session["contact_id"]
    assert (await agent.next("offer"))["contact"]["id"] == cid
    await agent.send({"type": "accept", "contact_id": cid, "id": "in"})
    assert (await agent.next("ack"))["id"] == "in"
    await cust.next("joined")
    runtime = services[holder].runtime
    assert isinstance(runtime, ReplicatedRuntime)
    runtime.halt()  # it says nothing more, and the customer's socket stays open to it
    told = await agent.next("chat.customer_left", timeout=HEARTBEAT_S + 3)
    assert told == {"type": "chat.customer_left", "contact_id": cid}
    assert other.engine.contact(cid).state.value == "assigned"  # the agent may finish
    assert left(await agent.quiet(2 * HEARTBEAT_S)) == []  # once
    # The customer comes back on the agent's instance: told so.
    query = f"&session={session['session_id']}&resume={session['resume_token']}"
    back = await customer(pair[1 - holder], query)
    assert (await back.next("resumed"))["state"] == "assigned"
    assert (await agent.next("chat.customer_back"))["contact_id"] == cid
    assert left(await agent.quiet(2 * HEARTBEAT_S)) == []  # reported by this instance now
    await back.close()
    await cust.close()
    await agent.close()


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


async def assigned_chat(
    client: Client, agent_id: str = "a004"
) -> tuple[Socket, Socket, dict[str, Any]]:
    """An agent who has accepted a customer's chat: (agent, customer, the session)."""
    agent = await login(client, agent_id)
    cust = await customer(client)
    await cust.send(START)
    session = await cust.next("session")
    cid = session["contact_id"]
    assert (await agent.next("offer"))["contact"]["id"] == cid
    await agent.send({"type": "accept", "contact_id": cid, "id": "in"})
    assert (await agent.next("ack"))["id"] == "in"
    await cust.next("joined")
    await agent.quiet()
    return agent, cust, session


async def test_an_agent_is_told_once_when_its_chat_customer_lapses_unheard(
    aiohttp_client: MakeClient,
) -> None:
    """The customer's socket is reported (as an instance in Redis mode reports those it
    holds) and then no more, with no close heard: their instance died, or their network
    dropped. On the region's clock, the agent's desk hears it when the sighting runs out,
    once; a resume is the customer back."""
    settings = Settings(heartbeat_timeout_s=NEVER_SILENT_S)
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00", None, settings)
    channel_of(service).grace_s = GRACE_S
    agent, cust, session = await assigned_chat(client)
    cid = session["contact_id"]
    start = clock.t
    await service.runtime.submit(CustomersSeen((cid,), VALID_S, GRACE_S))
    clock.t = start + VALID_S - 0.1
    await service.runtime.submit(TimerDue())
    assert left(await agent.quiet()) == []
    clock.t = start + VALID_S
    await service.runtime.submit(TimerDue())
    told = await agent.next("chat.customer_left")
    assert told == {"type": "chat.customer_left", "contact_id": cid}
    for later in (VALID_S + GRACE_S, 10 * (VALID_S + GRACE_S)):  # the timer looks again
        clock.t = start + later
        await service.runtime.submit(TimerDue())
    assert left(await agent.quiet()) == []
    assert service.engine.contact(cid).state.value == "assigned"  # the agent may finish
    # The close of the socket taken as gone, heard late, tells the agent nothing more.
    await cust.close()
    await until(lambda: channel_of(service).by_contact[cid].conn is None)
    assert left(await agent.quiet()) == []
    query = f"&session={session['session_id']}&resume={session['resume_token']}"
    back = await customer(client, query)
    assert (await back.next("resumed"))["state"] == "assigned"
    assert (await agent.next("chat.customer_back"))["contact_id"] == cid
    await back.close()
    await agent.close()


async def test_an_agent_told_by_the_close_is_not_told_again_when_the_sighting_lapses(
    aiohttp_client: MakeClient,
) -> None:
    settings = Settings(heartbeat_timeout_s=NEVER_SILENT_S)
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00", None, settings)
    channel_of(service).grace_s = GRACE_S
    agent, cust, session = await assigned_chat(client)
    cid = session["contact_id"]
    start = clock.t
    await service.runtime.submit(CustomersSeen((cid,), VALID_S, GRACE_S))
    await cust.close()
    assert (await agent.next("chat.customer_left"))["contact_id"] == cid
    await until(lambda: service.engine.contact(cid).customer_away)
    clock.t = start + 10 * (VALID_S + GRACE_S)
    await service.runtime.submit(TimerDue())
    assert left(await agent.quiet()) == []
    await agent.close()


async def test_an_agent_who_takes_a_chat_whose_customer_lapsed_meanwhile_is_told(
    aiohttp_client: MakeClient,
) -> None:
    """Taken as gone while waiting (within the grace): the agent who accepts it then has
    nobody else to hear it from."""
    settings = Settings(heartbeat_timeout_s=NEVER_SILENT_S)
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00", None, settings)
    channel_of(service).grace_s = GRACE_S
    cust = await customer(client)
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    await cust.next("queued")
    await service.runtime.submit(CustomersSeen((cid,), VALID_S, GRACE_S))
    clock.t += VALID_S
    await service.runtime.submit(TimerDue())
    assert service.engine.contact(cid).customer_away
    agent = await login(client, "a004")
    assert (await agent.next("offer"))["contact"]["id"] == cid
    await agent.send({"type": "accept", "contact_id": cid, "id": "in"})
    assert (await agent.next("ack"))["id"] == "in"
    assert left(await agent.quiet(0.3)) == [{"type": "chat.customer_left", "contact_id": cid}]
    await cust.close()  # heard late: nothing more
    assert left(await agent.quiet(0.3)) == []
    await agent.close()


async def test_a_customer_seen_again_after_a_lapse_is_back_for_the_agent(
    aiohttp_client: MakeClient,
) -> None:
    """The instance holding the customer's socket was only late to report it (cut off
    from the store for longer than a sighting): the agent told they left hears they are
    back when it reports again, and a close heard after that is news again."""
    settings = Settings(heartbeat_timeout_s=NEVER_SILENT_S)
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00", None, settings)
    channel_of(service).grace_s = GRACE_S
    agent, cust, session = await assigned_chat(client)
    cid = session["contact_id"]
    start = clock.t
    await service.runtime.submit(CustomersSeen((cid,), VALID_S, GRACE_S))
    clock.t = start + VALID_S
    await service.runtime.submit(TimerDue())
    assert (await agent.next("chat.customer_left"))["contact_id"] == cid
    await service.runtime.submit(CustomersSeen((cid,), VALID_S, GRACE_S))
    assert not service.engine.contact(cid).customer_away
    assert (await agent.next("chat.customer_back"))["contact_id"] == cid
    await service.runtime.submit(CustomersSeen((cid,), VALID_S, GRACE_S))  # no news
    assert left(await agent.quiet(0.3)) == []
    await cust.close()
    assert (await agent.next("chat.customer_left"))["contact_id"] == cid
    await agent.close()


async def test_an_agent_who_takes_a_chat_while_its_customer_resumes_is_not_told_they_left(
    aiohttp_client: MakeClient,
) -> None:
    """A resume is two steps (the session's new connection, then the engine told the
    customer is back): an agent who accepts the chat between them is not told the
    customer left, whose new connection is already there."""
    client, service, _ = await served_at(aiohttp_client, "2026-11-24 10:00", None, Settings())
    chats = channel_of(service)
    chats.grace_s = 60.0
    cust = await customer(client)
    await cust.send(START)
    session = await cust.next("session")
    cid = session["contact_id"]
    await cust.next("queued")
    await cust.close()
    await until(lambda: service.engine.contact(cid).customer_away)
    s = chats.sessions[session["session_id"]]
    await service.runtime.submit(ChatAttached(s.id, "resumed-conn", resumed=True))
    agent = await login(client, "a004")
    assert (await agent.next("offer"))["contact"]["id"] == cid
    await agent.send({"type": "accept", "contact_id": cid, "id": "in"})
    assert (await agent.next("ack"))["id"] == "in"
    await service.runtime.submit(CustomerBack(cid, s.epoch))
    assert not service.engine.contact(cid).customer_away
    assert left(await agent.quiet(0.3)) == []
    await agent.close()
