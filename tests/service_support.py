"""Helpers for tests of the live service over real loopback HTTP and websockets."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient

from router.config import load_region
from router.config.region import Region
from router.service.service import Service, Settings

REGION_FILE = "config/region.yaml"
_REGION: Region | None = None


def region() -> Region:
    global _REGION  # noqa: PLW0603 - loaded once for the whole run
    if _REGION is None:
        _REGION = load_region(REGION_FILE)
    return _REGION


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
