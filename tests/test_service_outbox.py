"""An agent's websocket gets every message the service queues for it as a frame of its
own, in order: also when several are queued in one turn of the loop (then written to the
socket at once), with compressed frames, and past a close for being too slow."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

from router.service import outbox as outbox_module
from router.service.outbox import Outbox


def _server(burst: Callable[[Outbox], None]) -> web.Application:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        box = Outbox(ws, "test")
        burst(box)
        async for _ in ws:  # until the client closes
            pass
        await box.finished()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handler)
    return app


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Callable[[Outbox], None]], TestServer]]:
    servers: list[TestServer] = []

    def make(burst: Callable[[Outbox], None]) -> TestServer:
        server = TestServer(_server(burst))
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()


async def _receive(server: TestServer, count: int, compress: int = 0) -> list[object]:
    await server.start_server()
    got: list[object] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(server.make_url("/ws"), compress=compress) as ws,
    ):
        while len(got) < count:
            msg = await ws.receive(timeout=5)
            if msg.type is not WSMsgType.TEXT:
                got.append(msg.type)
                break
            got.append(json.loads(msg.data))
    return got


def _messages(n: int) -> list[dict[str, object]]:
    # Sizes across the three header lengths: < 126, < 65536 and above.
    sizes = [10, 125, 200, 70_000]
    return [{"type": "m", "i": i, "pad": "x" * sizes[i % len(sizes)]} for i in range(n)]


@pytest.mark.parametrize("compress", [0, 15])
async def test_messages_queued_in_one_turn_arrive_as_frames_in_order(
    serve: Callable[[Callable[[Outbox], None]], TestServer],
    compress: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = _messages(9)
    writes: list[int] = []
    real = outbox_module.write_frames

    def counted(ws: web.WebSocketResponse, texts: list[str]) -> bool:
        done = real(ws, texts)
        if done:
            writes.append(len(texts))
        return done

    def burst(box: Outbox) -> None:
        for m in messages:
            box.send(m)

    monkeypatch.setattr(outbox_module, "write_frames", counted)
    got = await _receive(serve(burst), len(messages), compress)
    assert got == messages
    if compress:
        assert writes == []  # compressed frames go one by one through aiohttp's writer
    else:
        assert writes and sum(writes) >= len(messages) - 1  # shared writes, not one each


async def test_frames_queued_later_follow_in_order(
    serve: Callable[[Callable[[Outbox], None]], TestServer],
) -> None:
    messages = _messages(6)

    def burst(box: Outbox) -> None:
        box.send(messages[0])

        async def later() -> None:
            for m in messages[1:]:
                await asyncio.sleep(0)
                box.send(m)

        asyncio.get_running_loop().create_task(later())

    assert await _receive(serve(burst), len(messages)) == messages


async def test_a_backlog_past_the_limit_is_sent_then_closed(
    serve: Callable[[Callable[[Outbox], None]], TestServer],
) -> None:
    limit = outbox_module.MAX_BACKLOG
    messages = [{"type": "m", "i": i} for i in range(limit + 5)]

    def burst(box: Outbox) -> None:
        for m in messages:
            box.send(m)

    got = await _receive(serve(burst), limit + 5)
    assert got[:limit] == messages[:limit]
    assert got[limit] is WSMsgType.CLOSE
