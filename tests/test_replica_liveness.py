"""Liveness and agent pushes across instances (issue: agents on a follower were set not
ready while connected, and never heard of changes made elsewhere). Two instances on one
store, memory shared in process and a real Redis, over real HTTP and websockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import SERVICE
from router.core.events import TimerDue
from router.service.service import Settings
from tests.service_support import WallClock, at, bearer, login, until
from tests.test_replica_service import two_instances

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
TIMEOUT_S = 0.6  # reports every 0.2 s


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client]]:
    settings = Settings(heartbeat_timeout_s=TIMEOUT_S)
    async with two_instances(request, aiohttp_client, settings) as clients:
        await until(lambda: any(c.app[SERVICE].runtime.is_leader for c in clients), timeout=5)
        yield clients


def not_ready_for_silence(client: Client) -> Callable[[], bool]:
    engine = client.app[SERVICE].engine
    return lambda: bool(engine.agent("a001").reason == "no_heartbeat")


def follower_then_leader(pair: tuple[Client, Client]) -> tuple[Client, Client]:
    a, b = pair
    return (b, a) if a.app[SERVICE].runtime.is_leader else (a, b)


async def test_an_agent_connected_to_a_follower_stays_available_and_hears_of_changes(
    pair: tuple[Client, Client],
) -> None:
    follower, leader = follower_then_leader(pair)
    agent = await login(follower, "a001")
    leader_engine = leader.app[SERVICE].engine
    await until(lambda: leader_engine.agent("a001").presence.value == "available")
    # Ten timeouts long, the agent stays available on every instance: its socket on the
    # follower is reported to the region, and the leader judges by that.
    await asyncio.sleep(10 * TIMEOUT_S)
    for client in pair:
        assert client.app[SERVICE].engine.agent("a001").presence.value == "available"
    pushed = [m["agent"]["presence"] for m in await agent.quiet(0.05) if m["type"] == "agent"]
    assert set(pushed) == {"available"}, pushed  # its login, nothing since
    # A supervisor on the leader forces the agent not ready: the agent's screen, on the
    # follower, is told.
    r = await leader.post(
        "/api/supervisor/agents/a001/presence",
        json={"presence": "not_ready", "reason": "meeting"},
        headers=bearer("supervisor"),
    )
    assert r.status == 200, await r.text()
    told = await agent.next("agent", timeout=5)
    assert (told["agent"]["presence"], told["agent"]["reason"]) == ("not_ready", "meeting")
    # Back to available by itself; then its browser goes away: not ready within a few
    # timeouts on every instance (nobody is logged out).
    await agent.send({"type": "presence", "presence": "available", "id": "p"})
    assert (await agent.next("ack"))["id"] == "p"
    await agent.close()
    for client in pair:
        await until(not_ready_for_silence(client), timeout=5)
        assert client.app[SERVICE].engine.agent("a001").status.value == "not_ready"


@pytest.fixture(params=["memory", "redis"])
async def virtual_pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client, WallClock]]:
    clock = WallClock(at("2026-11-24 10:00"))
    async with two_instances(request, aiohttp_client, Settings(), clock) as clients:
        await until(lambda: any(c.app[SERVICE].runtime.is_leader for c in clients), timeout=5)
        yield (*clients, clock)


async def test_an_agent_on_a_follower_stays_available_for_ten_minutes_of_the_regions_time(
    virtual_pair: tuple[Client, Client, WallClock],
) -> None:
    a, b, clock = virtual_pair
    follower, leader = follower_then_leader((a, b))
    agent = await login(follower, "a001")
    engines = [c.app[SERVICE].engine for c in (a, b)]
    await until(lambda: all(e.agent("a001").presence.value == "available" for e in engines))
    # Ten minutes of the region's clock in 10 s steps: the follower reports its socket as
    # each instance does every third of the 30 s timeout, and time is kept by the leader.
    for _ in range(60):
        clock.t += 10
        await follower.app[SERVICE].agents.report_connected()
        await leader.app[SERVICE].runtime.submit(TimerDue())
    for engine in engines:
        await until(lambda e=engine: e.now >= clock.t)  # type: ignore[misc]
        assert engine.agent("a001").presence.value == "available"
    # Its socket goes away: 30 s of region time after its last report it is not ready.
    await agent.close()
    await until(lambda: follower.app[SERVICE].agents.connected() == ())
    clock.t += 31
    await leader.app[SERVICE].runtime.submit(TimerDue())
    for client in (a, b):
        await until(not_ready_for_silence(client), timeout=5)
