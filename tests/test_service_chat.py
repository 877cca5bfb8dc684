"""Chat end to end over loopback: a customer's websocket, an agent's websocket, the
transcript, resume, abandonment and refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.core import decisions as d
from router.core.events import TimerDue
from router.instance import channel_of
from router.service.service import Service
from tests.service_support import (
    CHAT_WS,
    Socket,
    bearer,
    customer,
    login,
    make_service,
    served_at,
    until,
)

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

START = {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    return client, service


def closures(service: Service) -> list[d.Closed]:
    """Every Closed decision from now on, as the dispatch loop publishes them."""
    seen: list[d.Closed] = []

    def listen(decision: d.Decision, now: float) -> None:
        if isinstance(decision, d.Closed):
            seen.append(decision)

    service.runtime.listeners.append(listen)
    return seen


async def test_a_chat_is_queued_accepted_relayed_both_ways_and_closed(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    cust = await customer(client)
    await cust.send({**START, "topic": "fever"})
    session = await cust.next("session")
    cid = session["contact_id"]
    assert cid.startswith("chat-") and session["session_id"] and session["resume_token"]
    queued = await cust.next("queued")
    assert queued == {"type": "queued", "position": 1, "estimated_wait": None}
    await cust.send({"type": "message", "text": "Hej, jag har feber"})
    # a004: nursing 3, Swedish and Finnish, up to three chats, at Vaasa.
    agent = await login(client, "a004")
    offer = await agent.next("offer")
    assert offer["contact"]["id"] == cid
    assert offer["contact"]["channel"] == "chat"
    assert offer["contact"]["language"] == "sv"
    assert offer["contact"]["attributes"] == {"topic": "fever"}
    assert await cust.next("connecting") == {"type": "connecting"}
    await agent.send({"type": "accept", "contact_id": cid, "id": "acc"})
    assert (await agent.next("ack"))["id"] == "acc"
    assert (await agent.next("assigned"))["contact"]["id"] == cid
    transcript = await agent.next("chat.transcript")
    assert transcript["contact_id"] == cid
    assert [(m["from"], m["text"]) for m in transcript["messages"]] == [
        ("customer", "Hej, jag har feber")
    ]
    assert await cust.next("joined") == {"type": "joined", "agent_name": "Johanna"}
    # Customer → agent.
    await cust.send({"type": "message", "text": "Sedan i går"})
    relayed = await agent.next("chat.message")
    assert relayed["contact_id"] == cid
    assert relayed["from"] == "customer" and relayed["text"] == "Sedan i går"
    assert isinstance(relayed["at"], float)
    # Agent → customer.
    await agent.send({"type": "chat.message", "contact_id": cid, "text": "Hur hög?", "id": 2})
    assert (await agent.next("ack"))["id"] == 2
    reply = await cust.next("message")
    assert reply["from"] == "agent" and reply["text"] == "Hur hög?"
    # The agent completes: the customer is told and the socket closes.
    await agent.send({"type": "complete", "contact_id": cid, "outcome": "resolved"})
    assert await cust.next("closed") == {"type": "closed", "outcome": "resolved"}
    code, _ = await cust.closed()
    assert code == 1000
    assert channel_of(service).sessions == {}
    await agent.close()


async def test_a_customer_resumes_with_the_transcript_and_a_wrong_token_is_refused(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    cust = await customer(client)
    await cust.send(START)
    session = await cust.next("session")
    cid, sid, token = session["contact_id"], session["session_id"], session["resume_token"]
    await cust.send({"type": "message", "text": "first"})
    await cust.close()
    # Waiting, away: the chat keeps its place for the grace period.
    assert service.engine.contact(cid).state.value == "waiting"
    wrong = await customer(client, f"&session={sid}&resume=not-{token}")
    error = await wrong.next("error")
    assert error["code"] == "resume_refused"
    assert (await wrong.closed())[0] == 1008
    unknown = await customer(client, f"&session=nope&resume={token}")
    assert (await unknown.next("error"))["code"] == "resume_refused"
    back = await customer(client, f"&session={sid}&resume={token}")
    resumed = await back.next("resumed")
    assert resumed["contact_id"] == cid and resumed["state"] == "waiting"
    assert [m["text"] for m in resumed["transcript"]] == ["first"]
    assert (await back.next("queued"))["position"] == 1
    # Assigned, then the customer's socket drops: the agent is told; nothing is abandoned.
    agent = await login(client, "a004")
    await agent.next("offer")
    await agent.send({"type": "accept", "contact_id": cid})
    await back.next("joined")
    await back.close()
    assert (await agent.next("chat.customer_left"))["contact_id"] == cid
    assert service.engine.contact(cid).state.value == "assigned"
    await agent.send({"type": "chat.message", "contact_id": cid, "text": "still there?"})
    await agent.next("ack")
    again = await customer(client, f"&session={sid}&resume={token}")
    resumed = await again.next("resumed")
    assert resumed["state"] == "assigned"
    assert resumed["agent_name"] == "Johanna"
    assert [(m["from"], m["text"]) for m in resumed["transcript"]] == [
        ("customer", "first"),
        ("agent", "still there?"),
    ]
    assert (await agent.next("chat.customer_back"))["contact_id"] == cid
    # A newer connection replaces an older one.
    newest = await customer(client, f"&session={sid}&resume={token}")
    await newest.next("resumed")
    assert (await again.closed())[0] == 1008
    # The agent's REST equivalents: the transcript after a reconnect, and writing.
    r = await client.get(f"/api/channels/chat/{cid}/transcript", headers=bearer("agent-a004"))
    assert r.status == 200
    assert [m["text"] for m in (await r.json())["messages"]] == ["first", "still there?"]
    r = await client.post(
        f"/api/channels/chat/{cid}/messages", json={"text": "ok"}, headers=bearer("agent-a004")
    )
    assert r.status == 200 and (await r.json())["message"]["text"] == "ok"
    assert (await newest.next("message"))["text"] == "ok"
    r = await client.get(f"/api/channels/chat/{cid}/transcript", headers=bearer("agent-a001"))
    assert r.status == 409
    r = await client.post(
        f"/api/channels/chat/{cid}/messages", json={"text": ""}, headers=bearer("agent-a004")
    )
    assert r.status == 400
    r = await client.get("/api/channels/chat/chat-x/transcript", headers=bearer("agent-a004"))
    assert r.status == 404
    await newest.close()
    await agent.close()


async def test_a_customer_who_leaves_before_an_answer_is_abandoned_after_the_grace(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    channel_of(service).grace_s = 0.05
    seen = closures(service)
    cust = await customer(client)
    await cust.send(START)
    session = await cust.next("session")
    await cust.close()
    await until(lambda: bool(seen))
    assert seen[0].contact_id == session["contact_id"] and seen[0].outcome == "abandoned"
    assert service.engine.waiting_count == 0
    assert channel_of(service).sessions == {}
    late = await customer(
        client, f"&session={session['session_id']}&resume={session['resume_token']}"
    )
    assert (await late.next("error"))["code"] == "resume_refused"


async def test_the_grace_period_runs_on_the_regions_clock(aiohttp_client: MakeClient) -> None:
    # Virtual time over real websockets: nothing sleeps, the clock is moved.
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    seen = closures(service)
    cust = await customer(client)
    await cust.send(START)
    session = await cust.next("session")
    cid = session["contact_id"]
    await cust.close()
    await until(lambda: service.engine.contact(cid).customer_away)
    clock.t += 59
    await service.runtime.submit(TimerDue())
    assert service.engine.contact(cid).state.value == "waiting" and not seen
    # Back within the grace: kept; gone again: the grace starts anew from then.
    query = f"&session={session['session_id']}&resume={session['resume_token']}"
    back = await customer(client, query)
    await back.next("resumed")
    assert not service.engine.contact(cid).customer_away
    await back.close()
    await until(lambda: service.engine.contact(cid).customer_away)
    clock.t += 59
    await service.runtime.submit(TimerDue())
    assert not seen
    clock.t += 1
    await service.runtime.submit(TimerDue())
    assert [(c.contact_id, c.outcome) for c in seen] == [(cid, "abandoned")]
    assert channel_of(service).sessions == {}


async def test_leave_abandons_at_once_and_a_decline_puts_the_chat_back_in_the_queue(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    seen = closures(service)
    agent = await login(client, "a004")
    cust = await customer(client, token="website")  # an integration token with chat
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    await cust.next("connecting")
    await agent.next("offer")
    await agent.send({"type": "decline", "contact_id": cid})
    assert (await agent.next("offer_withdrawn"))["reason"] == "declined"
    queued = await cust.next("queued")
    assert queued["position"] == 1
    await cust.send({"type": "leave"})
    assert await cust.next("closed") == {"type": "closed", "outcome": "abandoned"}
    assert (await cust.closed())[0] == 1000
    assert [(c.contact_id, c.outcome) for c in seen] == [(cid, "abandoned")]
    assert service.engine.waiting_count == 0
    await agent.close()


async def test_bad_frames_are_answered_with_errors_and_change_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    cust = await customer(client)
    await cust.ws.send_str("{not json")
    assert (await cust.next("error"))["code"] == "invalid_json"
    await cust.send({"no": "type"})
    assert (await cust.next("error"))["code"] == "invalid_input"
    await cust.send({"type": "dance"})
    assert (await cust.next("error"))["code"] == "invalid_input"
    await cust.ws.send_bytes(b"\x00")
    assert (await cust.next("error"))["code"] == "invalid_input"
    await cust.send({"type": "message", "text": "hello?"})
    assert (await cust.next("error"))["code"] == "no_session"
    bad_start = {
        "type": "start",
        "service": "astrology",
        "language": "de",
        "site": "helsinki",
        "topic": "x" * 201,
        "mood": "calm",
    }
    await cust.send(bad_start)
    error = await cust.next("error")
    assert error["code"] == "invalid_input"
    assert {p["field"] for p in error["problems"]} == {
        "service",
        "language",
        "site",
        "topic",
        "mood",
    }
    await cust.send({"type": "start"})
    assert (await cust.next("error"))["problems"] == [
        {"field": "service", "reason": "required key is missing"}
    ]
    assert service.engine.waiting_count == 0 and channel_of(service).sessions == {}
    await cust.send(START)
    await cust.next("session")
    await cust.next("queued")
    await cust.send(START)
    assert (await cust.next("error"))["code"] == "already_started"
    for text in ("", "   ", "x" * 4001, 7):
        await cust.send({"type": "message", "text": text})
        error = await cust.next("error")
        assert error["code"] == "invalid_input" and error["problems"][0]["field"] == "text"
    await cust.send({"type": "message", "text": "x" * 4000})
    assert await cust.quiet() == []
    assert service.engine.waiting_count == 1 and len(channel_of(service).sessions) == 1
    transcript = next(iter(channel_of(service).sessions.values())).transcript
    assert len(transcript) == 1 and len(transcript[0]["text"]) == 4000
    await cust.close()


async def test_the_chat_websocket_needs_a_public_or_chat_token(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    for query, status in (
        ("", 401),
        ("?access_token=wrong", 401),
        ("?access_token=demo-omaolo", 403),  # an integration token without chat
        ("?access_token=demo-agent-a004", 403),
        ("?access_token=demo-supervisor", 403),
    ):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await client.ws_connect(CHAT_WS + query)
        assert refused.value.status == status, query


async def test_shutdown_closes_a_waiting_customer_with_a_reason(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    cust = await customer(client)
    await cust.send(START)
    await cust.next("queued")
    await client.server.close()
    code, reason = await cust.closed()
    assert code == 1001 and reason == "service shutting down"


async def test_when_the_agent_leaves_the_chat_requeues_and_the_next_agent_gets_the_transcript(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    first = await login(client, "a004")
    cust = await customer(client)
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    await first.next("offer")
    await first.send({"type": "accept", "contact_id": cid})
    await first.next("ack")
    await cust.next("joined")
    await cust.send({"type": "message", "text": "one"})
    await first.next("chat.message")
    await first.send({"type": "logout", "force": True, "id": "out"})
    assert (await first.next("ack"))["id"] == "out"
    assert (await cust.next("queued"))["position"] == 1
    # a006: nursing 3, Finnish and Swedish, two chats.
    second = await login(client, "a006")
    await second.next("offer")
    await second.send({"type": "accept", "contact_id": cid})
    transcript = await second.next("chat.transcript")
    assert [m["text"] for m in transcript["messages"]] == ["one"]
    assert (await cust.next("joined"))["agent_name"] == "Tuula"
    await first.send({"type": "chat.message", "contact_id": cid, "text": "late", "id": 9})
    assert (await first.next("error"))["id"] == 9
    for ws in (cust, first, second):
        await ws.close()


async def test_a_reconnecting_agent_gets_the_transcript_of_its_chats_again(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    cust = await customer(client)
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    await cust.send({"type": "message", "text": "Hej"})
    agent = await login(client, "a004")
    await agent.next("offer")
    await agent.send({"type": "accept", "contact_id": cid})
    await agent.next("chat.transcript")
    await agent.close()
    # The browser reloads: a new websocket gets the state and the transcript again.
    again = Socket(await client.ws_connect("/api/agent/ws?access_token=demo-agent-a004"))
    state = await again.next("state")
    assert state["contacts"][0]["id"] == cid and state["contacts"][0]["state"] == "assigned"
    transcript = await again.next("chat.transcript")
    assert transcript["contact_id"] == cid
    assert [m["text"] for m in transcript["messages"]] == ["Hej"]
    await again.close()
    await cust.close()


async def test_a_customer_away_under_an_older_version_is_abandoned_for_what_is_left(
    aiohttp_client: MakeClient,
) -> None:
    # An older version kept, per chat, since when its customer was away and timed the
    # grace itself; after an upgrade the engine's timer takes over what is left of it.
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    seen = closures(service)
    cust = await customer(client)
    await cust.send(START)
    cid = (await cust.next("session"))["contact_id"]
    channel = channel_of(service)
    rows = [
        (*row[:4], None, *row[5:9], clock.t - 45.0)  # away for 45 s, the old layout
        for row in channel.capture()
    ]
    channel.restore(rows)
    await channel.grace_upgrade()
    assert service.engine.contact(cid).customer_away
    clock.t += 14
    await service.runtime.submit(TimerDue())
    assert not seen
    clock.t += 1
    await service.runtime.submit(TimerDue())
    assert [(c.contact_id, c.outcome) for c in seen] == [(cid, "abandoned")]
    await cust.close()
