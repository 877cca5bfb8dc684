"""Redis mode end to end: two real instances (processes) share a real ``redis-server``; a
chat customer's websocket is held by one of them, which is killed with SIGKILL. Nobody is
left to say the customer went, yet the chat is abandoned once the dead instance's last
report of it has run out and the away grace has passed, while a customer whose socket
the survivor holds keeps waiting; and an agent on the survivor who has such a chat is
told the customer left, once.

The instances are this file run as a program (``python -m tests.test_chat_liveness_redis
PORT REDIS_URL``): ``yhteys serve`` with short settings (the heartbeat timeout and the
chat grace), which its command line does not offer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.redis_support import RedisServer, free_port

ROOT = Path(__file__).resolve().parent.parent
HEARTBEAT_S = 3.0  # each instance reports its chats every second
GRACE_S = 2.0
START_TIMEOUT_S = 20.0
# The lease of a killed leader lapses in 2 s; then its report's time and the grace.
ABANDONED_WITHIN_S = 2.0 + HEARTBEAT_S + GRACE_S + 15.0  # ample on a loaded host
SUPERVISOR = {"Authorization": "Bearer demo-supervisor"}
START = {"type": "start", "service": "nursing_advice", "language": "fi", "topic": "ghost"}


def serve(port: int, redis_url: str) -> None:
    """One instance of the sample region (no opening hours, no agent logged in)."""
    from aiohttp import web  # noqa: PLC0415 - the child process only

    from router.app import build_app  # noqa: PLC0415
    from router.instance import channel_of  # noqa: PLC0415
    from router.service.service import Service, Settings  # noqa: PLC0415
    from router.store.keys import region_key  # noqa: PLC0415
    from router.store.redis import RedisStore  # noqa: PLC0415
    from tests.service_support import region  # noqa: PLC0415

    the_region = region()
    store = RedisStore(redis_url, region_key(the_region.name))
    settings = Settings(port=port, heartbeat_timeout_s=HEARTBEAT_S)
    service = Service(the_region, settings, store=store)
    channel_of(service).grace_s = GRACE_S
    web.run_app(build_app(service), host="127.0.0.1", port=port, print=None)


class Instance:
    def __init__(self, port: int, proc: asyncio.subprocess.Process) -> None:
        self.port = port
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def instances(redis_url: str, count: int) -> AsyncIterator[list[Instance]]:
    started: list[Instance] = []
    try:
        for _ in range(count):
            port = free_port()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.test_chat_liveness_redis", str(port), redis_url,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            started.append(Instance(port, proc))
        yield started
    finally:
        for instance in started:
            if instance.proc.returncode is None:
                instance.proc.send_signal(signal.SIGKILL)
            await instance.proc.wait()


async def ready(session: aiohttp.ClientSession, instance: Instance) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert instance.proc.returncode is None, f"instance on {instance.port} exited"
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with session.get(f"{instance.url}/readyz") as r:
                if r.status == 200:
                    body: dict[str, Any] = await r.json()
                    return body
        await asyncio.sleep(0.05)
    pytest.fail(f"instance on {instance.port} not ready within {START_TIMEOUT_S} s")


async def waiting_chats(session: aiohttp.ClientSession, instance: Instance) -> dict[str, str]:
    url = f"{instance.url}/api/supervisor/contacts?service=nursing_advice&limit=200"
    async with session.get(url, headers=SUPERVISOR) as r:
        assert r.status == 200, await r.text()
        return {c["id"]: c["state"] for c in (await r.json())["contacts"]}


async def start_chat(ws: aiohttp.ClientWebSocketResponse) -> str:
    await ws.send_json(START)
    session = json.loads((await ws.receive(timeout=5)).data)
    assert session["type"] == "session", session
    queued = json.loads((await ws.receive(timeout=5)).data)
    assert queued["type"] == "queued", queued  # nobody to take it: it waits
    contact_id: str = session["contact_id"]
    return contact_id


@pytest.mark.parametrize("holder_leads", [True, False], ids=["holder-leads", "holder-follows"])
async def test_a_chat_held_by_a_killed_instance_is_abandoned_after_its_grace(
    redis_server: RedisServer, holder_leads: bool
) -> None:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        instances(redis_server.url, 2) as pair,
    ):
        leads = [(await ready(session, i))["leader"] for i in pair]
        deadline = time.monotonic() + START_TIMEOUT_S
        while sum(leads) != 1 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            leads = [(await ready(session, i))["leader"] for i in pair]
        assert sum(leads) == 1, leads
        holder = pair[leads.index(holder_leads)]
        survivor = pair[1 - pair.index(holder)]
        chat_ws = "/api/channels/chat/ws?access_token=demo-public"
        ghost_ws = await session.ws_connect(holder.url + chat_ws)
        ghost = await start_chat(ghost_ws)
        here_ws = await session.ws_connect(survivor.url + chat_ws)
        here = await start_chat(here_ws)

        holder.proc.send_signal(signal.SIGKILL)  # its sockets just drop; it says nothing
        await holder.proc.wait()
        killed = time.monotonic()
        while ghost in await waiting_chats(session, survivor):
            assert time.monotonic() - killed < ABANDONED_WITHIN_S, "the ghost chat still waits"
            await asyncio.sleep(0.2)
        gone_after = time.monotonic() - killed
        async with session.get(
            f"{survivor.url}/api/supervisor/audit/contacts/{ghost}", headers=SUPERVISOR
        ) as r:
            audit = await r.json()
        assert audit["outcome"] == "abandoned", audit
        # Not before its report could have lapsed and the grace passed.
        assert gone_after >= GRACE_S

        # The customer whose socket the survivor holds is reported, and keeps waiting.
        await asyncio.sleep(HEARTBEAT_S + GRACE_S)
        assert (await waiting_chats(session, survivor)).get(here) == "waiting"
        assert not here_ws.closed
        await here_ws.close()
        await ghost_ws.close()


async def next_frame(ws: aiohttp.ClientWebSocketResponse, kind: str, within: float) -> Any:
    deadline = time.monotonic() + within
    while True:
        frame = json.loads((await ws.receive(timeout=deadline - time.monotonic())).data)
        if frame["type"] == kind:
            return frame


async def test_an_agent_on_the_survivor_is_told_once_that_the_killed_instances_customer_left(
    redis_server: RedisServer,
) -> None:
    if redis_server.proc is None:
        redis_server.start()
    redis_server.flush()
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        instances(redis_server.url, 2) as pair,
    ):
        for instance in pair:
            await ready(session, instance)
        holder, survivor = pair
        agent_ws = await session.ws_connect(
            survivor.url + "/api/agent/ws?access_token=demo-agent-a004"
        )
        await next_frame(agent_ws, "state", 5)
        await agent_ws.send_json({"type": "login", "presence": "available", "id": "login"})
        await next_frame(agent_ws, "ack", 5)
        chat_ws = await session.ws_connect(
            holder.url + "/api/channels/chat/ws?access_token=demo-public"
        )
        await chat_ws.send_json(START)
        ghost = json.loads((await chat_ws.receive(timeout=5)).data)["contact_id"]
        offer = await next_frame(agent_ws, "offer", 5)
        assert offer["contact"]["id"] == ghost
        await agent_ws.send_json({"type": "accept", "contact_id": ghost, "id": "in"})
        await next_frame(agent_ws, "ack", 5)

        holder.proc.send_signal(signal.SIGKILL)  # its sockets just drop; it says nothing
        await holder.proc.wait()
        told = await next_frame(agent_ws, "chat.customer_left", ABANDONED_WITHIN_S)
        assert told == {"type": "chat.customer_left", "contact_id": ghost}
        with contextlib.suppress(TimeoutError):  # once: nothing more said of it
            again = await next_frame(agent_ws, "chat.customer_left", HEARTBEAT_S + GRACE_S)
            pytest.fail(f"told twice: {again}")
        await agent_ws.close()
        await chat_ws.close()


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
