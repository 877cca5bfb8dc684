"""The acceptance test: the real service on loopback, agents on real websockets, and a
phone call, a chat, a web request and a work item arriving through their channels, each
offered to an eligible agent (skills, language, authorisation), accepted and completed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from tests.service_support import Socket, bearer, customer, login, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


async def complete(agent: Socket, contact_id: str) -> None:
    await agent.send({"type": "complete", "contact_id": contact_id, "outcome": "resolved"})
    closed = await agent.next("closed")
    assert closed == {"type": "closed", "contact_id": contact_id, "outcome": "resolved"}


async def accept(agent: Socket, contact_id: str) -> None:
    await agent.send({"type": "accept", "contact_id": contact_id})
    assert (await agent.next("assigned"))["contact"]["id"] == contact_id


async def test_every_channel_reaches_the_right_agent_end_to_end(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    # Dental: a008 speaks only Finnish and has waited longest; a007 speaks Swedish too.
    a008 = await login(client, "a008")
    a007 = await login(client, "a007")
    # Nursing chat: a002 speaks Finnish and English; a004 Swedish and Finnish.
    a002 = await login(client, "a002")
    a004 = await login(client, "a004")

    # 1. A Swedish-speaking caller for oral health, through the telephony webhooks.
    call = {
        "call_id": "e2e-1",
        "caller": "+358401234567",
        "ivr": {"service": "oral_health", "language": "sv"},
        "site": "vaasa",
    }
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert r.status == 201
    instruction = await r.json()
    assert instruction["action"] == "connect" and instruction["agent_id"] == "a007"
    offer = await a007.next("offer")
    assert offer["contact"]["id"] == "phone-e2e-1"
    r = await client.post(
        "/api/channels/phone/calls/e2e-1/answered",
        json={"agent_id": "a007"},
        headers=bearer("telephony"),
    )
    assert (await r.json())["action"] == "connected"
    assert (await a007.next("assigned"))["contact"]["id"] == "phone-e2e-1"

    # 2. A Swedish chat for nursing advice from the website.
    chat = await customer(client)
    await chat.send(
        {"type": "start", "service": "nursing_advice", "language": "sv", "site": "vaasa"}
    )
    chat_id = (await chat.next("session"))["contact_id"]
    await chat.next("connecting")
    assert (await a004.next("offer"))["contact"]["id"] == chat_id
    await accept(a004, chat_id)
    assert (await chat.next("joined"))["agent_name"] == "Johanna"
    await chat.send({"type": "message", "text": "Mitt barn har feber"})
    message = await a004.next("chat.message")
    assert (message["contact_id"], message["from"], message["text"]) == (
        chat_id,
        "customer",
        "Mitt barn har feber",
    )
    await a004.send({"type": "chat.message", "contact_id": chat_id, "text": "Hur gammal?"})
    reply = await chat.next("message")
    assert (reply["from"], reply["text"]) == ("agent", "Hur gammal?")

    # 3. A web request for appointments in English: a020 takes web requests but has no
    # appointments skill; a019 has it.
    a020 = await login(client, "a020")
    a019 = await login(client, "a019")
    r = await client.post(
        "/api/channels/web/requests",
        json={
            "service": "appointments",
            "language": "en",
            "message": "Please move my Tuesday appointment.",
            "contact_preference": {"method": "phone", "value": "+358501234567"},
        },
        headers=bearer("website"),
    )
    assert r.status == 201
    web_id = (await r.json())["contact_id"]
    assert (await a019.next("offer"))["contact"]["id"] == web_id
    await accept(a019, web_id)

    # 4. An Omaolo work item for prescriptions: a017 handles prescriptions and work items
    # but may not open Omaolo items, so it waits for a001, who may.
    a017 = await login(client, "a017")
    item = {
        "source": "omaolo",
        "item_id": "RX-991",
        "service": "prescriptions",
        "topic": "renewal",
        "urgency": "normal",
        "link": "https://omaolo.example/items/RX-991",
        "language": "fi",
    }
    r = await client.post("/api/channels/workitems", json=item, headers=bearer("omaolo"))
    assert r.status == 201
    created = await r.json()
    item_id = created["contact_id"]
    assert created["state"] == "waiting"
    a001 = await login(client, "a001")
    offer = await a001.next("offer")
    assert offer["contact"]["id"] == item_id == "wi-omaolo-RX-991"
    assert offer["contact"]["link"] == item["link"]
    await accept(a001, item_id)

    # Nobody ineligible was offered anything.
    for decoy in (a008, a002, a020, a017):
        assert [m for m in await decoy.quiet(0.05) if m["type"] == "offer"] == []

    # Everything is completed; the customer and the integrations see the outcomes.
    await complete(a007, "phone-e2e-1")
    r = await client.get("/api/channels/phone/calls/e2e-1", headers=bearer("telephony"))
    assert await r.json() == {"call_id": "e2e-1", "action": "hangup", "outcome": "resolved"}
    await complete(a004, chat_id)
    assert await chat.next("closed") == {"type": "closed", "outcome": "resolved"}
    assert (await chat.closed())[0] == 1000
    await complete(a019, web_id)
    r = await client.get(f"/api/channels/web/requests/{web_id}", headers=bearer("website"))
    assert (await r.json())["outcome"] == "resolved"
    await complete(a001, item_id)
    r = await client.get("/api/channels/workitems/omaolo/RX-991", headers=bearer("omaolo"))
    assert (await r.json())["outcome"] == "resolved"
    assert service.engine.waiting_count == 0
    assert list(service.engine.contacts()) == []
    for ws in (a001, a002, a004, a007, a008, a017, a019, a020):
        await ws.close()
