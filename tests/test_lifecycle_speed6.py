"""What the call lifecycle's cheaper answers (#15 part 2, round 6) must keep: an action's
answer, written by the socket's own handler when its writer has nothing queued, reaches
the client in order with the frames queued before and after it, on a real websocket,
without waking the writer; a real agent's answers come after the frames of the
decisions they made; and a frame whose handling fails is logged as before while the
socket's later frames are handled."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from aiohttp import WSCloseCode, WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer

from router.app import build_app
from router.service.inbox import Inbox
from router.service.outbox import Outbox
from tests.service_support import bearer, make_service
from tests.test_lifecycle_speed4 import FakeSocket


async def _frames_of(fill: Callable[[Outbox], Awaitable[None]]) -> list[str]:
    """The text frames a client gets from a server socket that ``fill`` writes to."""

    async def socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        box = Outbox(ws, "test")
        await fill(box)
        await box.close(WSCloseCode.GOING_AWAY, "done")
        return ws

    app = web.Application()
    app.router.add_get("/ws", socket)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        ws = await client.ws_connect("/ws")
        texts: list[str] = []
        while True:
            msg = await asyncio.wait_for(ws.receive(), 5)
            if msg.type is not WSMsgType.TEXT:
                break
            texts.append(msg.data)
        assert msg.type is WSMsgType.CLOSE, msg
        return texts
    finally:
        await client.close()


async def test_a_written_answer_keeps_its_place_among_queued_frames() -> None:
    wakes: list[str] = []

    async def fill(box: Outbox) -> None:
        wake = box._wake

        def counted() -> None:
            wakes.append("wake")
            wake()

        box._wake = counted  # type: ignore[method-assign]
        await asyncio.sleep(0.01)  # the writer waits for frames
        box.send_text("a")  # wakes it; it has not run yet
        box.send_text("b")
        await box.write("c")  # queued: after a and b
        await asyncio.sleep(0.01)  # all sent, the writer waits again
        before = len(wakes)
        await box.write("d")  # written here, at once: the writer is not woken
        assert len(wakes) == before, "an answer to an idle socket woke its writer"
        box.send_text("e")  # after d
        await box.write("f")  # e is queued: f goes after it
        await asyncio.sleep(0.01)

    assert await _frames_of(fill) == ["a", "b", "c", "d", "e", "f"]


async def test_an_answer_to_a_closed_socket_is_dropped_quietly() -> None:
    async def fill(box: Outbox) -> None:
        await asyncio.sleep(0.01)
        await box.ws.close()
        await box.write("late")  # no error: as a frame the writer could not send

    assert await _frames_of(fill) == []


async def test_a_call_s_answers_follow_the_frames_of_their_decisions(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    # The accept's answer comes after ``assigned`` and the complete's after ``closed``
    # and the agent's new view, call after call, and each carries the agent as it is.
    service = make_service()
    client = await aiohttp_client(build_app(service))
    ws = await client.ws_connect("/api/agent/ws?access_token=demo-agent-a001")

    async def kinds(n: int) -> list[dict[str, Any]]:
        out = []
        for _ in range(n):
            body: dict[str, Any] = json.loads((await ws.receive(timeout=3)).data)
            out.append(body)
        return out

    assert [b["type"] for b in await kinds(1)] == ["state"]
    await ws.send_str('{"type":"login","id":"in"}')
    assert [b["type"] for b in await kinds(2)] == ["agent", "ack"]
    for i in range(3):
        call = {"call_id": f"s{i}", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
        await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
        assert [b["type"] for b in await kinds(2)] == ["offer", "agent"]
        await ws.send_str(f'{{"type":"accept","contact_id":"phone-s{i}","id":"a{i}"}}')
        got = await kinds(2)
        assert [b["type"] for b in got] == ["assigned", "ack"]
        assert got[1]["id"] == f"a{i}" and got[1]["agent"]["contacts"] == [f"phone-s{i}"]
        await ws.send_str(f'{{"type":"complete","contact_id":"phone-s{i}","id":"c{i}"}}')
        got = await kinds(4)
        assert [b["type"] for b in got] == ["closed", "agent", "wrapup", "ack"]
        assert got[3]["id"] == f"c{i}" and got[3]["agent"]["contacts"] == []
        await ws.send_str(f'{{"type":"wrapup_done","id":"w{i}"}}')
        got = await kinds(3)
        assert [b["type"] for b in got] == ["wrapup_end", "agent", "ack"]
        assert got[2]["agent"]["status"] == "available"
    await ws.close()


async def test_a_frame_that_fails_is_logged_and_the_next_ones_handled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled: list[str] = []

    async def handle(text: str) -> None:
        await asyncio.sleep(0)
        if text == "broken":
            raise ValueError("no such thing")
        if text == "gone":
            raise ConnectionResetError("peer went away")
        handled.append(text)

    ws = FakeSocket()
    inbox = Inbox(handle, lambda text: None, "agent x")
    served = asyncio.create_task(inbox.serve(cast(web.WebSocketResponse, ws)))
    with caplog.at_level(logging.INFO, logger="yhteys.ws"):
        for text in ("first", "broken", "second", "gone", "third"):
            ws.text(text)  # all at once: the later ones queue behind the first
        for _ in range(20):
            await asyncio.sleep(0)
        ws.close()
        await asyncio.wait_for(served, 3)
    assert handled == ["first", "second", "third"]
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failed] == ["agent x: a frame could not be handled"]
    assert failed[0].exc_info is not None and failed[0].exc_info[0] is ValueError
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert said == ["agent x disconnected: peer went away"]
