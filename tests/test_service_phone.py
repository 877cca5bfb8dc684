"""End to end over loopback: the telephony platform's webhooks and an agent's websocket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.service.service import Service
from tests.service_support import agent_ws, bearer, make_service, next_of

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

CALL = {
    "call_id": "k1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
    "site": "vaasa",
}


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    return client, service


async def test_a_call_is_offered_to_the_logged_in_nurse_accepted_and_completed(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    ws = await agent_ws(client, "a001")
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    assert r.status == 201
    assert await r.json() == {
        "call_id": "k1",
        "action": "connect",
        "agent_id": "a001",
        "agent_name": service.region.agents["a001"].name,
    }
    offer = await next_of(ws, "offer")
    assert offer["contact"]["id"] == "phone-k1"
    assert offer["contact"]["service"] == "nursing_advice"
    assert offer["contact"]["attributes"]["caller"] == "+358401234567"
    # The platform reports the pick-up; the agent sees the assignment.
    r = await client.post(
        "/api/channels/phone/calls/k1/answered",
        json={"agent_id": "a001"},
        headers=bearer("telephony"),
    )
    assert (await r.json())["action"] == "connected"
    assert (await next_of(ws, "assigned"))["contact"]["id"] == "phone-k1"
    await ws.send_json(
        {"type": "complete", "contact_id": "phone-k1", "outcome": "resolved", "id": 7}
    )
    assert (await next_of(ws, "closed")) == {
        "type": "closed",
        "contact_id": "phone-k1",
        "outcome": "resolved",
    }
    r = await client.get("/api/channels/phone/calls/k1", headers=bearer("telephony"))
    assert await r.json() == {"call_id": "k1", "action": "hangup", "outcome": "resolved"}
    await ws.close()


async def test_a_waiting_caller_hears_position_and_estimate_then_is_connected(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    # a002 (nursing 3, one call at a time) takes k0 and is busy: serving, so the waiting
    # caller is given a wait.
    busy = await agent_ws(client, "a002")
    r = await client.post(
        "/api/channels/phone/calls", json={**CALL, "call_id": "k0"}, headers=bearer("telephony")
    )
    assert (await r.json())["agent_id"] == "a002"
    # a005: nursing 2, Finnish only — logs in not ready so the call waits.
    ws = await client.ws_connect("/api/agent/ws?access_token=demo-agent-a005")
    await next_of(ws, "state")
    await ws.send_json({"type": "login", "presence": "not_ready"})
    await next_of(ws, "ack")
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    body = await r.json()
    assert body["action"] == "queue"
    assert body["announcement"]["position"] == 1
    assert body["announcement"]["estimated_wait"] is not None
    low, high = (
        body["announcement"]["estimated_wait"]["min_s"],
        body["announcement"]["estimated_wait"]["max_s"],
    )
    assert 0 <= low < high and low % 60 == 0 and high % 60 == 0
    second = {**CALL, "call_id": "k2"}
    r = await client.post("/api/channels/phone/calls", json=second, headers=bearer("telephony"))
    assert (await r.json())["announcement"]["position"] == 2
    # Posting the same call again has no second effect.
    r = await client.post("/api/channels/phone/calls", json=second, headers=bearer("telephony"))
    assert r.status == 200 and (await r.json())["announcement"]["position"] == 2
    await ws.send_json({"type": "presence", "presence": "available"})
    offer = await next_of(ws, "offer")
    assert offer["contact"]["id"] == "phone-k1"
    r = await client.get("/api/channels/phone/calls/k1", headers=bearer("telephony"))
    assert (await r.json())["action"] == "connect"
    await ws.close()
    await busy.close()


async def test_nurses_not_ready_do_not_shorten_the_announced_wait(
    served: tuple[Client, Service],
) -> None:
    """An outside tester's find: with half the staff on a break the announcement promised
    half the wait. An agent not ready finishes nobody's call, so the caller is told what
    the nurses serving give (none serving: no number, never a short one)."""
    client, service = served
    sockets = []
    for nurse in ("a003", "a005"):  # nursing, Finnish: both could take the call
        ws = await agent_ws(client, nurse, login=False)
        await ws.send_json({"type": "login", "presence": "not_ready"})
        await next_of(ws, "ack")
        sockets.append(ws)
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    body = await r.json()
    assert body["action"] == "queue" and body["announcement"]["estimated_wait"] is None
    # a002 logs in and is offered k1: one nurse serving (busy), and k2 is told her wait.
    busy = await agent_ws(client, "a002")
    assert service.engine.contact("phone-k1").agent_id == "a002"
    r = await client.post(
        "/api/channels/phone/calls", json={**CALL, "call_id": "k2"}, headers=bearer("telephony")
    )
    told = (await r.json())["announcement"]
    assert told["position"] == 1 and told["estimated_wait"] is not None
    # The two not ready logging out changes nothing: they were never counted.
    for ws in sockets:
        await ws.send_json({"type": "logout"})
        await next_of(ws, "ack")
    r = await client.get("/api/channels/phone/calls/k2", headers=bearer("telephony"))
    assert (await r.json())["announcement"] == told
    for ws in (*sockets, busy):
        await ws.close()


async def test_the_most_urgent_class_is_redirected_to_112(served: tuple[Client, Service]) -> None:
    client, _ = served
    call = {**CALL, "ivr": {"service": "nursing_advice", "language": "fi", "urgency": "P0"}}
    r = await client.post("/api/channels/phone/calls", json=call, headers=bearer("telephony"))
    assert await r.json() == {"call_id": "k1", "action": "redirect", "target": "112"}


async def test_a_caller_hanging_up_in_the_queue_is_recorded_as_abandoned(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    r = await client.post("/api/channels/phone/calls/k1/abandoned", headers=bearer("telephony"))
    assert await r.json() == {"call_id": "k1", "action": "hangup", "outcome": "abandoned"}
    assert service.engine.waiting_count == 0


async def test_bad_call_input_is_refused_with_every_problem_and_changes_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    bad = {
        "call_id": "has space",
        "caller": "12345",
        "ivr": {"service": "astrology", "language": "de"},
        "extra": 1,
    }
    r = await client.post("/api/channels/phone/calls", json=bad, headers=bearer("telephony"))
    assert r.status == 400
    error = (await r.json())["error"]
    fields = {p["field"] for p in error["problems"]}
    assert fields == {"extra", "call_id", "caller", "ivr.service", "ivr.language"}
    assert service.engine.waiting_count == 0
    r = await client.post(
        "/api/channels/phone/calls", data=b"{not json", headers=bearer("telephony")
    )
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"
    r = await client.post(
        "/api/channels/phone/calls", data=b"x" * 70_000, headers=bearer("telephony")
    )
    assert r.status == 413


async def test_phone_webhooks_need_a_telephony_token(served: tuple[Client, Service]) -> None:
    client, _ = served
    r = await client.post("/api/channels/phone/calls", json=CALL)
    assert r.status == 401
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("omaolo"))
    assert r.status == 403
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("agent-a001"))
    assert r.status == 403
    r = await client.post(
        "/api/channels/phone/calls", json=CALL, headers={"Authorization": "Bearer wrong"}
    )
    assert r.status == 401


async def test_a_body_with_an_integer_too_long_to_convert_is_a_400_and_changes_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    # Python refuses to turn a string of over 4,300 digits into an int: said as bad JSON.
    body = '{"call_id": "k9", "caller": "+358401234567", "site": ' + "9" * 5000 + "}"
    r = await client.post(
        "/api/channels/phone/calls",
        data=body,
        headers={**bearer("telephony"), "Content-Type": "application/json"},
    )
    assert r.status == 400, await r.text()
    error = (await r.json())["error"]
    assert error["code"] == "invalid_json"
    assert "a number of more than 4300 digits" in error["message"]
    assert [c.id for c in service.engine.contacts()] == []
