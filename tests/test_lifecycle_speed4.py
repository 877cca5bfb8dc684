"""What the call lifecycle's cheaper paths (#15 part 2b) must keep: a websocket frame is
handled in the step that read it and the socket is read on while it waits, with no
task per frame; each status book hears of its own contacts through the one shared
listener; an agent's view is shared only while the engine has not changed; and the
quick reading of an accept, decline or complete gives the event the general reader
gives, or leaves the body to it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, cast

import pytest
from aiohttp import WSMessage, WSMsgType, web
from aiohttp.test_utils import TestClient

from channels.status import StatusBook, decisions
from router.app import build_app
from router.core import decisions as d
from router.core.engine import Engine
from router.core.errors import RoutingError
from router.core.events import AgentLoggedIn, OfferAccepted, PresenceChanged
from router.core.model import Presence
from router.service.agents import plain_action
from router.service.http import ApiError, BodyProblems
from router.service.inbox import Inbox
from router.service.outbox import compact
from router.service.service import Service
from router.service.views import agent_json
from tests.service_support import bearer, make_service, region


class FakeSocket:
    """The one method of a websocket the inbox uses: frames arrive when the test puts
    them, and only one task may wait for the next at a time (as aiohttp's rule)."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[WSMessage] = asyncio.Queue()
        self.waiting = 0

    async def receive(self) -> WSMessage:
        assert self.waiting == 0, "two tasks read the socket at once"
        self.waiting += 1
        try:
            return await self.incoming.get()
        finally:
            self.waiting -= 1

    def text(self, data: str) -> None:
        self.incoming.put_nowait(WSMessage(WSMsgType.TEXT, data, None))

    def ping(self) -> None:
        self.incoming.put_nowait(WSMessage(WSMsgType.PING, b"", None))

    def close(self) -> None:
        self.incoming.put_nowait(WSMessage(WSMsgType.CLOSE, 1000, ""))


async def _turns(n: int = 3) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def test_a_frame_is_handled_in_the_step_that_read_it() -> None:
    # What goes on after a frame arrives (a REST request on another connection, another
    # socket's frame) must not come before its action: the action is submitted in the
    # step that read the frame, the first frame and every later one.
    log: list[str] = []

    async def handle(text: str) -> None:
        log.append(text)
        await asyncio.sleep(0)

    ws = FakeSocket()
    inbox = Inbox(handle, lambda text: None, "test")
    served = asyncio.create_task(inbox.serve(cast(web.WebSocketResponse, ws)))
    loop = asyncio.get_running_loop()
    for i in range(5):
        await _turns()
        ws.text(f"frame {i}")
        loop.call_soon(log.append, f"after {i}")
    await _turns()
    ws.close()
    await asyncio.wait_for(served, 3)
    assert log == [x for i in range(5) for x in (f"frame {i}", f"after {i}")]


async def test_frames_sent_while_one_waits_are_read_then_handled_in_order() -> None:
    # An action waiting for the store leaves the socket read: pings answered, what
    # follows queued and handled in turn, past MAX_WAITING refused frame by frame.
    release = asyncio.Event()
    handled: list[str] = []
    others: list[WSMsgType] = []

    async def handle(text: str) -> None:
        handled.append(text)
        if text == "slow":
            await release.wait()

    ws = FakeSocket()
    inbox = Inbox(handle, lambda text: None, "test", lambda msg: others.append(msg.type))
    served = asyncio.create_task(inbox.serve(cast(web.WebSocketResponse, ws)))
    ws.text("slow")
    await _turns()
    ws.ping()
    for i in range(3):
        ws.text(f"next {i}")
    await _turns(10)
    assert handled == ["slow"] and others == [WSMsgType.PING]
    release.set()
    await _turns(10)
    assert handled == ["slow", "next 0", "next 1", "next 2"]
    ws.text("after")  # read by whichever task reads now, handled at once
    await _turns()
    assert handled[-1] == "after"
    ws.close()
    await asyncio.wait_for(served, 3)


async def test_a_socket_s_frames_start_no_task_each() -> None:
    # Two tasks read and handle a socket's frames, however many it sends: a task made,
    # cancelled and waited for around every frame cost each action several loop steps.
    loop = asyncio.get_running_loop()
    made: list[str] = []
    default = loop.get_task_factory()

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Generator[Any, None, Any] | Coroutine[Any, Any, Any]
    ) -> asyncio.Future[Any]:
        made.append(getattr(coro, "__qualname__", "?"))
        if default is not None:
            return default(loop, coro)
        return asyncio.Task(coro, loop=loop)

    async def handle(text: str) -> None:
        await asyncio.sleep(0)

    ws = FakeSocket()
    inbox = Inbox(handle, lambda text: None, "test")
    served = asyncio.create_task(inbox.serve(cast(web.WebSocketResponse, ws)))
    loop.set_task_factory(factory)
    try:
        for i in range(50):
            ws.text(f"frame {i}")
            await _turns()
        ws.close()
        await asyncio.wait_for(served, 3)
    finally:
        loop.set_task_factory(default)
    assert len(made) <= 1, made


class _NoService:
    pass


def _book(prefix: str) -> StatusBook:
    return StatusBook(cast(Service, _NoService()), prefix)  # on_own asks no service


def test_each_book_hears_only_of_its_own_contacts() -> None:
    work, callbacks, phone = _book("wi-"), _book("cb-"), _book("phone-")
    work.labels["wi-1"] = {"title": "form", "urgency": "normal", "original_urgency": "normal"}
    listener = decisions(work, callbacks, phone)
    listener(d.Reclassified("wi-1", "a001", "general", "normal", "normal", "urgent", 9.0), 1.0)
    listener(d.CallbackAttempt("cb-7", "a001", 1, "no_answer", 900.0), 2.0)
    listener(d.Closed("wi-1", "resolved", "a001"), 3.0)
    listener(d.Redirected("phone-k-1", "112", "acute"), 4.0)
    listener(d.Closed("chat-3", "resolved", "a001"), 5.0)  # no book of its own here
    listener(d.Closed("nodash", "resolved"), 6.0)
    assert dict(work.finished) == {
        "wi-1": {
            "title": "form",
            "urgency": "urgent",
            "original_urgency": "normal",
            "outcome": "resolved",
        }
    }
    assert callbacks.labels == {
        "cb-7": {"attempts": [{"at": 2.0, "agent_id": "a001", "result": "no_answer"}]}
    }
    assert not callbacks.finished
    assert dict(phone.finished) == {
        "phone-k-1": {
            "outcome": "redirected",
            "action": "redirect",
            "target": "112",
            "urgency": "acute",
        }
    }
    # A second close of a closed contact keeps its first outcome.
    listener(d.Closed("wi-1", "abandoned"), 7.0)
    assert work.finished["wi-1"]["outcome"] == "resolved"


async def test_an_agent_s_view_is_shared_only_until_the_engine_changes() -> None:
    service = make_service()
    runtime, hub = service.runtime, service.agents
    running = asyncio.create_task(runtime.run())
    try:
        await runtime.submit(AgentLoggedIn("a001", Presence.AVAILABLE))
        first = hub.agent_body("a001")
        assert hub.agent_body("a001") is first  # nothing changed: the same
        assert first == agent_json(service.engine.agent("a001"))
        await runtime.submit(PresenceChanged("a001", Presence.NOT_READY, "lunch"))
        changed = hub.agent_body("a001")
        assert (changed["presence"], changed["reason"]) == ("not_ready", "lunch")
        assert changed == agent_json(service.engine.agent("a001"))
        # A refused event changes nothing, and the view says so.
        with pytest.raises(RoutingError):
            await runtime.submit(OfferAccepted("phone-none", "a001"))
        assert hub.agent_body("a001") == changed
        # Another engine (a snapshot loaded in Redis mode): the view is its.
        other = Engine(region().policy())
        runtime.engine = other
        assert hub.agent_body("a001") == agent_json(other.agent("a001"))
        assert hub.agent_body("a001")["status"] == "offline"
        # Loading a snapshot forgets every view read from the engine it replaced.
        hub.agent_body("a002")
        runtime.engine = Engine(region().policy())
        hub.refresh_all()
        assert hub._bodies == {}
    finally:
        await runtime.stop()
        await running


ACTIONS: list[tuple[str, dict[str, object]]] = [
    ("accept", {"type": "accept", "contact_id": "phone-k1"}),
    ("accept", {"type": "accept", "contact_id": "phone-k1", "id": 7}),
    ("decline", {"contact_id": "phone-k1", "id": "x"}),
    ("complete", {"type": "complete", "contact_id": "phone-k1"}),
    ("complete", {"type": "complete", "contact_id": "phone-k1", "outcome": None}),
    ("complete", {"contact_id": "phone-k1", "outcome": "transferred", "id": None}),
    ("complete", {"contact_id": "phone-k1", "outcome": "bogus"}),
    ("complete", {"contact_id": "phone-k1", "outcome": ""}),
    ("complete", {"contact_id": "phone-k1", "outcome": 3}),
    ("accept", {"type": "accept"}),
    ("accept", {"type": "accept", "contact_id": ""}),
    ("accept", {"type": "accept", "contact_id": "  "}),
    ("accept", {"type": "accept", "contact_id": None}),
    ("accept", {"type": "accept", "contact_id": 5}),
    ("accept", {"type": "accept", "contact_id": "phone-k1", "outcome": "resolved"}),
    ("decline", {"contact_id": "phone-k1", "extra": 1}),
    ("login", {"type": "login"}),
    ("wrapup_done", {"type": "wrapup_done"}),
]


@pytest.mark.parametrize(("action", "body"), ACTIONS)
def test_the_quick_reading_gives_the_general_reader_s_event_or_none(
    action: str, body: dict[str, object]
) -> None:
    hub = make_service().agents
    quick = plain_action("a001", action, body)
    problems = BodyProblems()
    try:
        general = hub._event("a001", action, dict(body), problems)
        problems.raise_if_any()
    except ApiError:
        assert quick is None, "the general reader finds a problem with it"
        return
    assert quick is None or quick == general
    if action in ("accept", "decline", "complete"):
        assert quick == general, "a well-formed action is read the quick way"


async def test_a_call_s_frames_are_the_compact_json_of_their_messages(
    aiohttp_client: Callable[..., Awaitable[TestClient[Any, Any]]],
) -> None:
    # The agent frames and the acks splice an agent's JSON text made once into their
    # own: the bytes must be those of encoding the whole message, in the same order.
    service = make_service()
    client = await aiohttp_client(build_app(service))
    ws = await client.ws_connect("/api/agent/ws?access_token=demo-agent-a001")
    texts: list[str] = []

    async def frame() -> dict[str, Any]:
        text = (await ws.receive(timeout=3)).data
        texts.append(text)
        body: dict[str, Any] = json.loads(text)
        return body

    assert (await frame())["type"] == "state"
    await ws.send_str('{"type":"login","id":{"n":[1,2.5,"é"]}}')
    assert [(await frame())["type"] for _ in range(2)] == ["agent", "ack"]
    call = {"call_id": "k1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
    await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    await ws.send_str('{"type":"accept","contact_id":"phone-k1","id":"é1"}')
    await ws.send_str('{"type":"complete","contact_id":"phone-k1"}')
    kinds = [(await frame())["type"] for _ in range(8)]
    assert kinds == ["offer", "agent", "assigned", "ack", "closed", "agent", "wrapup", "ack"]
    for text in texts:
        assert text == compact(json.loads(text))
    acks = [json.loads(t) for t in texts if t.startswith('{"type":"ack"')]
    assert [a["id"] for a in acks] == [{"n": [1, 2.5, "é"]}, "é1", None]
    assert acks[-1]["agent"] == agent_json(service.engine.agent("a001"))
    # The spliced texts keep the messages' key order too (a reordering still decodes
    # to equal JSON, so compare the bytes).
    last_ack = {"type": "ack", "id": None, "agent": agent_json(service.engine.agent("a001"))}
    assert texts[-1] == compact(last_ack)
    for text in texts:
        if text.startswith('{"type":"agent"'):
            assert list(json.loads(text)) == ["type", "agent"]
            assert text == compact({"type": "agent", "agent": json.loads(text)["agent"]})
    await ws.close()


async def test_a_failed_read_ends_the_inbox_and_does_not_leave_it_waiting() -> None:
    # The task waiting for its turn to read must not wait for ever when the reader's
    # read fails: the inbox ends and says why.
    class Breaking(FakeSocket):
        reads = 0

        async def receive(self) -> WSMessage:
            self.reads += 1
            if self.reads == 2:  # the helper's first read, while the first frame waits
                raise RuntimeError("the transport broke")
            return await super().receive()

    release = asyncio.Event()

    async def handle(text: str) -> None:
        await release.wait()

    ws = Breaking()
    inbox = Inbox(handle, lambda text: None, "test")
    served = asyncio.create_task(inbox.serve(cast(web.WebSocketResponse, ws)))
    ws.text("first")
    await _turns(5)
    release.set()
    with pytest.raises(RuntimeError, match="the transport broke"):
        await asyncio.wait_for(served, 3)
