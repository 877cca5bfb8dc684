"""A websocket's outbox: messages queued by listeners reach the client in order, one
frame each; past the backlog the queued ones are sent and the socket is closed as too
slow; closing sends what is queued first."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from router.service.outbox import MAX_BACKLOG, Outbox


async def serving(fill: Callable[[Outbox], Any]) -> TestClient[Any, Any]:
    """A server whose websocket queues what ``fill`` sends, then waits for the peer."""

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        box = Outbox(ws, "test")
        result = fill(box)
        if asyncio.iscoroutine(result):
            await result
        async for _ in ws:
            pass
        await box.finished()
        return ws

    app = web.Application()
    app.router.add_get("/ws", socket)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


async def frames(client: TestClient[Any, Any]) -> tuple[list[str], int | None, str]:
    ws = await client.ws_connect("/ws")
    texts: list[str] = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        if msg.type is not WSMsgType.TEXT:
            break
        texts.append(msg.data)
    assert msg.type is WSMsgType.CLOSE, msg
    return texts, int(msg.data), str(msg.extra or "")


async def test_messages_arrive_in_order_one_frame_each() -> None:
    async def fill(box: Outbox) -> None:
        for i in range(5):
            box.send({"type": "n", "i": i, "text": "ä"})
        await asyncio.sleep(0.01)
        box.send({"type": "later"})  # after the writer has waited for more
        await asyncio.sleep(0.01)
        await box.close(WSCloseCode.GOING_AWAY, "done")

    client = await serving(fill)
    try:
        texts, code, reason = await frames(client)
    finally:
        await client.close()
    assert texts == [
        json.dumps({"type": "n", "i": i, "text": "ä"}, separators=(",", ":")) for i in range(5)
    ] + ['{"type":"later"}']
    assert (code, reason) == (WSCloseCode.GOING_AWAY, "done")


async def test_past_the_backlog_the_queued_are_sent_and_the_socket_closed() -> None:
    def fill(box: Outbox) -> None:
        for i in range(MAX_BACKLOG + 5):  # all at once: the writer has not run yet
            box.send({"i": i})

    client = await serving(fill)
    try:
        texts, code, reason = await frames(client)
    finally:
        await client.close()
    assert [json.loads(t)["i"] for t in texts] == list(range(MAX_BACKLOG))
    assert (code, reason) == (WSCloseCode.TRY_AGAIN_LATER, "too slow")
