"""Helpers for tests of the live service over real loopback HTTP and websockets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient

from router.config import load_region
from router.config.region import Region
from router.service.service import Service, Settings

REGION_FILE = "config/region.yaml"
CHAT_WS = "/api/channels/chat/ws"
Client = TestClient[Any, Any]
_REGION: Region | None = None


def region() -> Region:
    """The sample region without its opening hours, so that tests on the wall clock do
    not depend on the time of day they run at (``sample_region()`` keeps them)."""
    global _REGION  # noqa: PLW0603 - loaded once for the whole run
    if _REGION is None:
        _REGION = replace(sample_region(), hours={}, after_hours={})
    return _REGION


def sample_region() -> Region:
    return load_region(REGION_FILE)


def make_service(**settings: Any) -> Service:
    return Service(region(), Settings(**settings))


def bearer(name: str) -> dict[str, str]:
    """Authorization header for one of the sample region's demo tokens."""
    return {"Authorization": f"Bearer demo-{name}"}


async def next_of(ws: ClientWebSocketResponse, kind: str, timeout: float = 3.0) -> dict[str, Any]:
    """The next message of ``kind`` on a websocket, skipping others."""

    async def wait() -> dict[str, Any]:
        while True:
            msg: dict[str, Any] = await ws.receive_json()
            if msg.get("type") == kind:
                return msg

    return await asyncio.wait_for(wait(), timeout)


async def agent_ws(
    client: TestClient[Any, Any], agent: str, login: bool = True
) -> ClientWebSocketResponse:
    ws = await client.ws_connect(f"/api/agent/ws?access_token=demo-agent-{agent}")
    state = await next_of(ws, "state")
    assert state["agent"]["id"] == agent
    if login:
        await ws.send_json({"type": "login", "id": "login"})
        ack = await next_of(ws, "ack")
        assert ack["id"] == "login", ack
    return ws


class Socket:
    """A test websocket that keeps messages it was not asked for yet, by type."""

    def __init__(self, ws: ClientWebSocketResponse) -> None:
        self.ws = ws
        self.pending: list[dict[str, Any]] = []

    async def next(self, kind: str, timeout: float = 3.0) -> dict[str, Any]:
        for i, msg in enumerate(self.pending):
            if msg.get("type") == kind:
                return self.pending.pop(i)

        async def wait() -> dict[str, Any]:
            while True:
                msg: dict[str, Any] = await self.ws.receive_json()
                if msg.get("type") == kind:
                    return msg
                self.pending.append(msg)

        return await asyncio.wait_for(wait(), timeout)

    async def send(self, body: dict[str, Any]) -> None:
        await self.ws.send_json(body)

    async def quiet(self, seconds: float = 0.1) -> list[dict[str, Any]]:
        """Every message not yet taken, waiting ``seconds`` for more."""
        while True:
            try:
                msg = await self.ws.receive(timeout=seconds)
            except TimeoutError:
                break
            if msg.type is not WSMsgType.TEXT:
                break
            self.pending.append(msg.json())
        taken, self.pending = self.pending, []
        return taken

    async def closed(self, timeout: float = 3.0) -> tuple[int | None, str]:
        """Waits for the server to close the socket: (close code, reason)."""

        async def wait() -> tuple[int | None, str]:
            while True:
                msg = await self.ws.receive()
                if msg.type is WSMsgType.CLOSE:
                    return int(msg.data), str(msg.extra or "")
                if msg.type in (WSMsgType.CLOSED, WSMsgType.CLOSING):
                    return self.ws.close_code, ""
                if msg.type is WSMsgType.TEXT:
                    self.pending.append(msg.json())

        return await asyncio.wait_for(wait(), timeout)

    async def close(self) -> None:
        await self.ws.close()


async def login(client: Client, agent: str, presence: str = "available") -> Socket:
    """An agent's websocket, logged in (messages during the login are kept)."""
    ws = Socket(await client.ws_connect(f"/api/agent/ws?access_token=demo-agent-{agent}"))
    state = await ws.next("state")
    assert state["agent"]["id"] == agent
    await ws.send({"type": "login", "presence": presence, "id": "login"})
    ack = await ws.next("ack")
    assert ack["id"] == "login", ack
    return ws


async def customer(client: Client, query: str = "", token: str = "public") -> Socket:
    return Socket(await client.ws_connect(f"{CHAT_WS}?access_token=demo-{token}{query}"))


async def until(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout)


HELSINKI = ZoneInfo("Europe/Helsinki")


def at(text: str) -> float:
    """Epoch seconds of a local Helsinki time, e.g. '2026-11-27 17:30' (a Friday)."""
    return datetime.fromisoformat(text).replace(tzinfo=HELSINKI).timestamp()


class WallClock:
    """A settable clock for a service under test (virtual time over real HTTP)."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def set(self, text: str) -> None:
        self.t = at(text)


async def served_at(
    aiohttp_client: Callable[..., Any],
    start: str,
    the_region: Region | None = None,
    settings: Settings | None = None,
) -> tuple[Client, Service, WallClock]:
    """The whole app on a settable clock starting at ``start`` (local Helsinki time):
    virtual time over real HTTP and websockets. Move ``clock.t`` and submit
    ``TimerDue()`` to fire what falls due."""
    from router.app import build_app  # noqa: PLC0415 - the app imports this

    clock = WallClock(at(start))
    service = Service(the_region or region(), settings or Settings(), clock=clock)
    client: Client = await aiohttp_client(build_app(service))
    return client, service, clock
