"""Regression tests for defects found in review of the service layer."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.core import decisions as d
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import (
    AgentLoggedIn,
    AgentUpdated,
    ContactArrived,
    TimerDue,
    WrapUpDone,
)
from router.core.model import Channel, ContactSpec
from router.service.logs import mask
from router.service.runtime import MemoryRuntime
from router.service.service import Service, Settings
from skills.catalogue import AgentAbilities
from tests.service_support import bearer, customer, login, make_service, region, until

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALL = {
    "call_id": "dup1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
}


class ManualClock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


async def test_the_same_call_posted_twice_at_once_is_one_contact(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    posts = (
        client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
        for _ in range(2)
    )
    responses = await asyncio.gather(*posts)
    assert sorted(r.status for r in responses) == [200, 201]
    bodies = [await r.json() for r in responses]
    assert bodies[0] == bodies[1]
    assert service.engine.waiting_count == 1


async def test_concurrent_service_patches_all_take_effect(aiohttp_client: MakeClient) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    sup = bearer("supervisor")
    classes = [f"P{i}" for i in range(1, 9)]
    patches = (
        client.patch(
            "/api/supervisor/services/nursing_advice",
            json={"urgencies": {p: {"target_s": 1000 + i}}},
            headers=sup,
        )
        for i, p in enumerate(classes, 1)
    )
    assert [r.status for r in await asyncio.gather(*patches)] == [200] * 8
    urgencies = service.engine.service("nursing_advice").urgencies
    assert [urgencies[p].target_s for p in classes] == [1000.0 + i for i in range(1, 9)]


def test_chat_resume_secrets_are_masked_in_logs() -> None:
    line = (
        "GET /api/channels/chat/ws?access_token=demo-public&session=abc&resume=S3cr3t-T0ken"
        " HTTP/1.1"
    )
    masked = mask(line)
    assert "S3cr3t-T0ken" not in masked and "demo-public" not in masked
    assert "resume=***" in masked and "session=abc" in masked


async def test_a_customer_leaving_as_the_agent_accepts_leaves_the_assigned_chat(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    agent = await login(client, "a001")
    cust = await customer(client)
    await cust.send({"type": "start", "service": "nursing_advice", "language": "fi"})
    await cust.next("session")
    cid = (await agent.next("offer"))["contact"]["id"]
    await asyncio.gather(
        agent.send({"type": "accept", "contact_id": cid}), cust.send({"type": "leave"})
    )
    got = [m["type"] for m in await cust.quiet(0.5)]
    assert "error" not in got and "left" in got
    assert service.engine.contact(cid).state.value == "assigned"
    await agent.close()


async def test_a_refused_heartbeat_does_not_count_and_shutdown_answers_503(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post("/api/agent/heartbeat", json={"junk": 1}, headers=bearer("agent-a001"))
    assert r.status == 400
    assert (await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))).ok
    seen = service.engine.seen_until("a001")
    r = await client.post("/api/agent/heartbeat", json={"junk": 1}, headers=bearer("agent-a001"))
    assert r.status == 400
    assert service.engine.seen_until("a001") == seen
    await service.runtime.stop()
    r = await client.post("/api/agent/login", json={}, headers=bearer("agent-a001"))
    assert r.status == 503 and (await r.json())["error"]["code"] == "unavailable"


async def test_an_engine_fault_still_publishes_fired_timers_and_keeps_the_loop_alive(
    aiohttp_client: MakeClient,
) -> None:
    clock = ManualClock()
    service = Service(region(), Settings(), clock=clock)
    heard: list[str] = []
    service.runtime.listeners.append(lambda dec, now: heard.append(type(dec).__name__))
    client = await aiohttp_client(build_app(service))
    runtime = service.runtime
    assert isinstance(runtime, MemoryRuntime)
    await runtime.submit(AgentLoggedIn("a001"))
    await runtime.submit(
        ContactArrived(ContactSpec("phone-z", Channel.VOICE, "nursing_advice", language="fi"))
    )
    heard.clear()
    clock.t += 25  # the offer (20 s) has expired; the next event hits an injected fault

    def boom(engine: Engine, event: object, now: float, out: list[d.Decision]) -> None:
        raise RuntimeError("injected engine fault")

    original = Engine._handlers[WrapUpDone]
    Engine._handlers[WrapUpDone] = boom
    try:
        with contextlib.suppress(RuntimeError):
            await runtime.submit(WrapUpDone("a001"))
    finally:
        Engine._handlers[WrapUpDone] = original
    assert "Requeued" in heard  # the expiry that fired first reached the listeners
    # A fault while firing timers must not stop the dispatch loop either.
    faults: list[object] = []

    def timer_boom(engine: Engine, event: object, now: float, out: list[d.Decision]) -> None:
        faults.append(event)
        raise RuntimeError("injected timer fault")

    original_timer = Engine._handlers[TimerDue]
    Engine._handlers[TimerDue] = timer_boom
    try:
        due = service.engine.next_timer_at()
        assert due is not None  # the waiting call's escalation timers
        clock.t = max(clock.t, due) + 1
        runtime._wake.set()
        await until(lambda: bool(faults))  # the loop met the fault, not just slept past it
    finally:
        Engine._handlers[TimerDue] = original_timer
    assert runtime.running
    r = await client.get("/readyz")
    assert r.status == 200
    await runtime.submit(AgentLoggedIn("a002"))


async def test_a_refused_request_leaves_no_garbage_cycle_behind(aiohttp_client: MakeClient) -> None:
    """The service raises the collector's thresholds, so a full pass is rare: a refusal
    must not leave a cycle (its traceback holding the frames that hold its future)."""
    client = await aiohttp_client(build_app(make_service()))
    await login(client, "a001")
    accept = "/api/agent/offers/phone-nobody/accept"
    for _ in range(5):  # warm up what is made once
        assert (await client.post(accept, headers=bearer("agent-a001"), json={})).status == 404
    gc.collect()
    gc.disable()
    try:
        for _ in range(50):
            r = await client.post(accept, headers=bearer("agent-a001"), json={})
            assert r.status == 404
            await r.read()
        assert gc.collect() == 0
    finally:
        gc.enable()


async def test_a_refusal_with_a_cause_leaves_no_garbage_cycle_either() -> None:
    """An ``InvalidEvent`` raised from a catalogue error carries the engine's frames in
    its cause too."""
    service = make_service()
    task = asyncio.create_task(service.runtime.run())
    await service.runtime.started.wait()
    spec = service.engine.agent("a001").spec
    unknown = replace(spec, abilities=AgentAbilities(skills={"astrology": 3}))
    try:
        gc.collect()
        gc.disable()
        for _ in range(20):
            with pytest.raises(RoutingError) as refused:
                await service.runtime.submit(AgentUpdated(unknown))
            assert refused.value.__cause__ is not None  # the chain and its message stay
        del refused
        assert gc.collect() == 0
    finally:
        gc.enable()
        await service.runtime.stop()
        await task
