"""Redis mode end to end: real ``yhteys serve --redis`` processes on loopback sharing a
real ``redis-server``; the leader is killed with SIGKILL under load, and a whole region
is killed and started again."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.redis_support import RedisServer, free_port
from tests.service_support import region

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 20.0
JSON = {"Content-Type": "application/json"}
PHONE = {"Authorization": "Bearer demo-telephony", **JSON}


class Instance:
    def __init__(self, port: int, proc: asyncio.subprocess.Process) -> None:
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def kill(self) -> None:
        """SIGKILL: no snapshot, no hand-over, sockets just drop."""
        self.proc.send_signal(signal.SIGKILL)


class Region:
    def __init__(self, redis_url: str, session: aiohttp.ClientSession) -> None:
        self.redis_url = redis_url
        self.session = session
        self.instances: list[Instance] = []

    async def start(self, count: int = 1) -> list[Instance]:
        started = []
        for _ in range(count):
            port = free_port()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "router.cli", "serve",
                "--port", str(port), "--redis", self.redis_url, "--log-format", "json",
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            instance = Instance(port, proc)
            self.instances.append(instance)
            started.append(instance)
        for instance in started:
            await self.wait_ready(instance)
        return started

    async def wait_ready(self, instance: Instance) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert instance.alive, f"instance on {instance.port} exited"
            with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                async with self.session.get(f"{instance.url}/readyz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.05)
        pytest.fail(f"instance on {instance.port} not ready within {START_TIMEOUT_S} s")

    def alive(self) -> list[Instance]:
        return [i for i in self.instances if i.alive]

    async def leader(self, timeout: float = 10.0) -> Instance:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for instance in self.alive():
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with self.session.get(f"{instance.url}/readyz") as r:
                        if r.status == 200 and (await r.json())["leader"]:
                            return instance
            await asyncio.sleep(0.05)
        pytest.fail("no instance leads")

    async def post(self, path: str, body: dict[str, Any], start: int = 0) -> dict[str, Any]:
        """POSTs to the live instances in turn until one answers (a retried webhook)."""
        for attempt in range(40):
            alive = self.alive()
            instance = alive[(start + attempt) % len(alive)]
            try:
                async with self.session.post(
                    f"{instance.url}{path}", json=body, headers=PHONE
                ) as r:
                    if r.status in (200, 201):
                        answer: dict[str, Any] = await r.json()
                        return answer
                    assert r.status == 503, await r.text()
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.05)
        pytest.fail(f"no instance took POST {path}")

    async def get(self, path: str, headers: dict[str, str]) -> dict[str, Any]:
        instance = self.alive()[0]
        async with self.session.get(f"{instance.url}{path}", headers=headers) as r:
            assert r.status == 200, await r.text()
            body: dict[str, Any] = await r.json()
            return body

    async def stop(self) -> None:
        for instance in self.instances:
            if instance.alive:
                instance.kill()
            await instance.proc.wait()


@pytest.fixture
async def redis_region(redis_server: RedisServer) -> AsyncIterator[Region]:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        r = Region(redis_server.url, session)
        try:
            yield r
        finally:
            await r.stop()


def nurses(count: int) -> list[str]:
    """Agents who can take Finnish nursing-advice calls in the sample region."""
    found = [
        a.id
        for a in region().agents.values()
        if a.abilities.skills.get("nursing", 0) >= 2 and "fi" in a.abilities.languages
    ]
    assert len(found) >= count
    return found[:count]


def call(call_id: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": "+358401234567",
        "ivr": {"service": "nursing_advice", "language": "fi"},
    }


class Nurse:
    """An agent's browser: one websocket to some instance, reconnecting to another when
    that one dies; accepts every offer and completes every call as soon as it has it."""

    def __init__(self, agent_id: str, region: Region, first: int) -> None:
        self.id = agent_id
        self.region = region
        self.first = first
        self.offered: set[str] = set()
        self.assigned: set[str] = set()
        self.reconnects = 0
        self.stopping = False

    async def run(self) -> None:
        for n in itertools.count():
            if self.stopping:
                return
            alive = self.region.alive()
            instance = alive[(self.first + n) % len(alive)]
            url = f"{instance.url}/api/agent/ws?access_token=demo-agent-{self.id}"
            try:
                async with self.region.session.ws_connect(url, heartbeat=1.0) as ws:
                    if n:
                        self.reconnects += 1
                    await ws.send_json({"type": "login"})
                    async for msg in ws:
                        if msg.type is not aiohttp.WSMsgType.TEXT:
                            break
                        await self._on(ws, msg.json())
            except (TimeoutError, aiohttp.ClientError, ConnectionError):
                pass
            await asyncio.sleep(0.05)

    async def _on(self, ws: aiohttp.ClientWebSocketResponse, m: dict[str, Any]) -> None:
        if m["type"] == "state":  # (re)connected: carry on with whatever is in hand
            if m["agent"]["status"] == "wrapup":
                await ws.send_json({"type": "wrapup_done"})
            for c in m["contacts"]:
                if c["state"] == "offered":
                    await self._accept(ws, c["id"])
                elif c["state"] == "assigned":
                    await self._assigned(ws, c["id"])
        elif m["type"] == "offer":
            await self._accept(ws, m["contact"]["id"])
        elif m["type"] == "assigned":
            await self._assigned(ws, m["contact"]["id"])
        elif m["type"] == "wrapup":
            await ws.send_json({"type": "wrapup_done"})

    async def _accept(self, ws: aiohttp.ClientWebSocketResponse, cid: str) -> None:
        self.offered.add(cid)
        await ws.send_json({"type": "accept", "contact_id": cid})

    async def _assigned(self, ws: aiohttp.ClientWebSocketResponse, cid: str) -> None:
        self.assigned.add(cid)
        await ws.send_json({"type": "complete", "contact_id": cid, "outcome": "resolved"})


async def test_killing_the_leader_under_load_loses_no_call_and_offers_none_twice(
    redis_region: Region,
) -> None:
    await redis_region.start(3)
    leader = await redis_region.leader()
    nurses_ = [Nurse(a, redis_region, i) for i, a in enumerate(nurses(6))]
    tasks = [asyncio.create_task(n.run()) for n in nurses_]
    try:
        calls = [f"k{i}" for i in range(150)]
        for i, call_id in enumerate(calls):
            if i == 50:
                leader.kill()  # mid-load, with offers and assignments in flight
            await redis_region.post("/api/channels/phone/calls", call(call_id), start=i)
            await asyncio.sleep(0.01)
        assert not leader.alive or leader.proc.returncode is None
        successor = await redis_region.leader()
        assert successor is not leader

        outcomes: dict[str, str] = {}

        async def all_closed() -> dict[str, str]:
            while True:
                for call_id in calls:
                    status = await redis_region.get(f"/api/channels/phone/calls/{call_id}", PHONE)
                    outcomes[call_id] = status.get("outcome", status["action"])
                if all(o == "resolved" for o in outcomes.values()):
                    return outcomes
                await asyncio.sleep(0.2)

        try:
            async with asyncio.timeout(30):
                await all_closed()
        except TimeoutError:
            open_ = {c: o for c, o in outcomes.items() if o != "resolved"}
            pytest.fail(f"calls still open after 30 s: {open_}")
        assert len(outcomes) == 150
        # No call was offered to, or handled by, two nurses.
        holders: dict[str, list[str]] = defaultdict(list)
        offered: dict[str, list[str]] = defaultdict(list)
        for n in nurses_:
            for cid in n.assigned:
                holders[cid].append(n.id)
            for cid in n.offered:
                offered[cid].append(n.id)
        assert set(holders) == {f"phone-{c}" for c in calls}
        assert all(len(v) == 1 for v in holders.values()), holders
        assert all(len(v) == 1 for v in offered.values()), offered
        # The nurses who were on the killed instance came back through another one.
        assert sum(n.reconnects for n in nurses_) >= 1
    finally:
        for n in nurses_:
            n.stopping = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_region_killed_entirely_and_started_again_loses_nothing(
    redis_region: Region,
) -> None:
    await redis_region.start(2)
    agent = {"Authorization": "Bearer demo-agent-" + nurses(1)[0], **JSON}
    first = redis_region.alive()[0]
    async with redis_region.session.post(
        f"{first.url}/api/agent/login", json={}, headers=agent
    ) as r:
        assert r.status == 200
    for i in range(12):
        await redis_region.post("/api/channels/phone/calls", call(f"r{i}"), start=i)
    async with redis_region.session.post(
        f"{first.url}/api/agent/offers/phone-r0/accept", headers=agent
    ) as r:
        assert r.status == 200
    await redis_region.post("/api/channels/phone/calls/r11/abandoned", {})
    before = [await redis_region.get(f"/api/channels/phone/calls/r{i}", PHONE) for i in range(12)]
    assert before[0]["action"] == "connected"
    assert before[11] == {"call_id": "r11", "action": "hangup", "outcome": "abandoned"}
    assert [b["announcement"]["position"] for b in before[1:11]] == list(range(1, 11))

    for instance in redis_region.alive():
        instance.kill()
        await instance.proc.wait()
    await redis_region.start(2)
    after = [await redis_region.get(f"/api/channels/phone/calls/r{i}", PHONE) for i in range(12)]
    assert after == before
    # And the region carries on: the nurse completes the call taken before the restart.
    async with redis_region.session.post(
        f"{redis_region.alive()[1].url}/api/agent/contacts/phone-r0/complete",
        json={"outcome": "resolved"},
        headers=agent,
    ) as r:
        assert r.status == 200, await r.text()
