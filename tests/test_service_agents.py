"""Agents over real loopback HTTP and websockets: liveness, reconnects, and refusals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from router.core.events import TimerDue
from router.service.service import Settings
from tests.service_support import (
    Socket,
    at,
    bearer,
    login,
    make_service,
    served_at,
)

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALL = {
    "call_id": "k1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
}


async def post(client: Client, path: str, agent: str, body: object = None) -> tuple[int, Any]:
    r = await client.post(path, json=body, headers=bearer(f"agent-{agent}"))
    return r.status, await r.json()


async def test_a_silent_agent_is_set_not_ready_but_keeps_its_work(
    aiohttp_client: MakeClient,
) -> None:
    # Virtual time over real HTTP: the rule is a timer on the region's clock, so the test
    # moves the clock and nothing sleeps.
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-24 10:00", settings=Settings(heartbeat_timeout_s=30.0)
    )
    # a001 logs in over REST only and takes a call; a002 stays on a websocket.
    assert (await post(client, "/api/agent/login", "a001", {}))[0] == 200
    ws = await login(client, "a002")
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    agent = (await r.json())["agent_id"]
    assert agent == "a001"  # idle longest: logged in first
    await client.post(
        "/api/channels/phone/calls/k1/answered",
        json={"agent_id": agent},
        headers=bearer("telephony"),
    )
    # REST heartbeats keep a001 present, the open websocket a002, for minutes...
    for second in range(20, 200, 20):
        clock.t = at("2026-11-24 10:00") + second
        assert (await post(client, "/api/agent/heartbeat", "a001"))[0] == 200
        await service.agents.report_connected()  # what each instance does every 10 s
    assert service.engine.agent("a001").presence.value == "available"
    # ...then a001 falls silent: 30 s after its last heartbeat it is not ready, with its
    # work kept and still logged in; and it hears of it on no socket it does not have.
    clock.t += 29
    await service.runtime.submit(TimerDue())
    assert service.engine.agent("a001").presence.value == "available"
    await service.agents.report_connected()
    clock.t += 1
    await service.runtime.submit(TimerDue())
    view = service.engine.agent("a001")
    assert (view.presence.value, view.reason) == ("not_ready", "no_heartbeat")
    assert view.status.value != "offline"
    assert view.contacts == ("phone-k1",)
    assert service.engine.contact("phone-k1").state.value == "assigned"
    # The agent with an open websocket was never touched.
    assert service.engine.agent("a002").presence.value == "available"
    # When its browser goes away too, it is not ready a timeout after the last report,
    # and a REST action (going available) counts as a sighting again.
    await ws.close()
    clock.t += 40
    await service.runtime.submit(TimerDue())
    assert service.engine.agent("a002").reason == "no_heartbeat"
    assert (await post(client, "/api/agent/presence", "a001", {"presence": "available"}))[0] == 200
    assert service.engine.seen_until("a001") == clock.t + 30


async def test_a_reconnect_resumes_a_pending_offer(aiohttp_client: MakeClient) -> None:
    client = await aiohttp_client(build_app(make_service()))
    ws = await login(client, "a001")
    await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    offer = await ws.next("offer")
    await ws.close()
    again = Socket(await client.ws_connect("/api/agent/ws?access_token=demo-agent-a001"))
    state = await again.next("state")
    [held] = state["contacts"]
    assert held["id"] == "phone-k1" and held["state"] == "offered"
    assert held["offer_expires_at"] == offer["expires_at"]
    await again.send({"type": "accept", "contact_id": "phone-k1", "id": 1})
    assert (await again.next("ack"))["id"] == 1
    await again.close()


async def test_agent_actions_refuse_bad_input_with_every_problem_and_change_nothing(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    assert (await post(client, "/api/agent/login", "a001", {"presence": "offline"}))[0] == 400
    assert service.engine.agent("a001").status.value == "offline"
    status, body = await post(
        client, "/api/agent/login", "a001", {"presence": "asleep", "colour": 1}
    )
    assert status == 400
    assert {p["field"] for p in body["error"]["problems"]} == {"presence", "colour"}
    assert (await post(client, "/api/agent/login", "a001", {}))[0] == 200
    status, body = await post(client, "/api/agent/presence", "a001", {"presence": "offline"})
    assert status == 400 and "log out" in body["error"]["message"]
    assert (await post(client, "/api/agent/offers/nope/accept", "a001"))[0] == 404
    await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    # Someone else's offer, an unknown outcome, completing before accepting.
    assert (await post(client, "/api/agent/offers/phone-k1/accept", "a002"))[0] == 409
    status, body = await post(
        client, "/api/agent/contacts/phone-k1/complete", "a001", {"outcome": "vanished"}
    )
    assert status == 400 and body["error"]["problems"][0]["field"] == "outcome"
    assert (await post(client, "/api/agent/contacts/phone-k1/complete", "a001", {}))[0] == 409
    assert service.engine.contact("phone-k1").state.value == "offered"
    assert (await post(client, "/api/agent/offers/phone-k1/accept", "a001"))[0] == 200
    # Logging out with a call in hand is refused; the call stays.
    status, body = await post(client, "/api/agent/logout", "a001", {})
    assert status == 409 and "assigned" in body["error"]["message"]
    assert service.engine.contact("phone-k1").agent_id == "a001"
    r = await client.post("/api/agent/presence", data=b"{", headers=bearer("agent-a001"))
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"


async def test_bad_websocket_frames_are_answered_with_errors(aiohttp_client: MakeClient) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    ws = await login(client, "a001")
    await ws.ws.send_str("{not json")
    assert (await ws.next("error"))["code"] == "invalid_json"
    await ws.send({"no": "type"})
    assert (await ws.next("error"))["code"] == "invalid_input"
    await ws.send({"type": "teleport", "id": 9})
    error = await ws.next("error")
    assert error["id"] == 9 and "unknown action" in error["message"]
    await ws.send({"type": "accept", "contact_id": "ghost", "id": 10})
    error = await ws.next("error")
    assert (error["id"], error["status"]) == (10, 404)
    await ws.send({"type": "chat.message", "contact_id": "ghost", "text": "hi", "id": 11})
    assert (await ws.next("error"))["id"] == 11
    assert service.engine.agent("a001").presence.value == "available"
    await ws.close()


async def test_an_agent_back_from_a_timed_out_offer_is_offered_the_earliest_call_first(
    aiohttp_client: MakeClient,
) -> None:
    """A timeout is not a decline: with the default ``timeout_cooldown_s`` (0) the call
    that rang unanswered is offered again before later ones; a supervisor may set it."""
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    ws = await login(client, "a005")  # the only nurse in: nursing_advice times out in 20 s

    async def ring(call_id: str) -> Any:
        body = {**CALL, "call_id": call_id, "site": "vaasa"}
        r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
        return await r.json()

    async def time_out_and_come_back(timeout_at: str, back_at: str) -> str:
        clock.set(timeout_at)
        await service.runtime.submit(TimerDue())
        assert service.engine.agent("a005").presence.value == "not_ready"  # offer_timeout
        clock.set(back_at)
        status, _ = await post(client, "/api/agent/presence", "a005", {"presence": "available"})
        assert status == 200
        return str((await ws.next("offer"))["contact"]["id"])

    assert (await ring("t1"))["action"] == "connect"
    assert (await ws.next("offer"))["contact"]["id"] == "phone-t1"
    clock.set("2026-11-24 10:00:05")
    assert (await ring("t2"))["action"] == "queue"
    # t1 rang unanswered; back 10 s later, the nurse gets t1 (the earliest), not t2.
    assert await time_out_and_come_back("2026-11-24 10:00:21", "2026-11-24 10:00:31") == "phone-t1"

    r = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"timeout_cooldown_s": 600},
        headers=bearer("supervisor"),
    )
    assert r.status == 200, await r.text()
    assert service.engine.service("nursing_advice").timeout_cooldown_s == 600
    # With a cool-down for timeouts, t1 is kept from this nurse for 10 minutes: t2 first.
    assert await time_out_and_come_back("2026-11-24 10:00:52", "2026-11-24 10:01:00") == "phone-t2"
    await ws.close()


async def test_a_not_ready_reason_is_bounded_on_rest_and_websocket(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    ws = await login(client, "a001")
    long = "x" * 3000
    status, body = await post(
        client, "/api/agent/presence", "a001", {"presence": "not_ready", "reason": long}
    )
    assert status == 400
    assert body["error"]["problems"] == [
        {"field": "reason", "reason": "must be at most 200 characters, got 3000"}
    ]
    await ws.send({"type": "presence", "presence": "not_ready", "reason": long, "id": 7})
    error = await ws.next("error")
    assert (error["id"], error["status"]) == (7, 400) and "reason" in error["message"]
    assert service.engine.agent("a001").presence.value == "available"
    reason = "lunch " + "y" * 194  # 200 characters: accepted
    status, _ = await post(
        client, "/api/agent/presence", "a001", {"presence": "not_ready", "reason": reason}
    )
    assert status == 200
    view = service.engine.agent("a001")
    assert (view.presence.value, view.reason) == ("not_ready", reason)
    await ws.close()


async def test_an_agent_a_supervisor_makes_available_without_a_desk_is_judged(
    aiohttp_client: MakeClient,
) -> None:
    # An outside tester logged a010 in from the console; its desk never connected, yet
    # it stayed available for minutes and a caller was put through to the empty desk.
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-24 10:00", settings=Settings(heartbeat_timeout_s=30.0)
    )
    r = await client.post(
        "/api/supervisor/agents/a001/presence",
        json={"presence": "available", "force": True},
        headers=bearer("supervisor"),
    )
    assert r.status == 200
    assert service.engine.agent("a001").presence.value == "available"
    assert service.engine.seen_until("a001") == clock.t + 30
    clock.t += 30
    await service.runtime.submit(TimerDue())
    view = service.engine.agent("a001")
    assert (view.presence.value, view.reason) == ("not_ready", "no_heartbeat")
    # An agent whose desk is open is not touched: its open socket is its sighting.
    ws = await login(client, "a002")
    await client.post(
        "/api/supervisor/agents/a002/presence",
        json={"presence": "not_ready", "force": True},
        headers=bearer("supervisor"),
    )
    r = await client.post(
        "/api/supervisor/agents/a002/presence",
        json={"presence": "available"},
        headers=bearer("supervisor"),
    )
    assert r.status == 200
    clock.t += 300
    await service.runtime.submit(TimerDue())
    assert service.engine.agent("a002").presence.value == "available"
    await ws.close()


async def test_an_agent_refused_another_agents_contact_learns_nothing_of_it(
    aiohttp_client: MakeClient,
) -> None:
    # An outside tester, as a002, accepted and completed a001's call: the 409 said
    # "contact 'phone-k1' is assigned with 'a001'", another agent's work.
    client = await aiohttp_client(build_app(make_service()))
    ws = await login(client, "a001")
    await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    offer = await ws.next("offer")
    cid = offer["contact"]["id"]
    await login(client, "a002")
    # Offered to a001, then assigned to it: a002's attempts name neither state nor agent.
    for state in ("offered", "assigned"):
        for path in (f"offers/{cid}/accept", f"offers/{cid}/decline", f"contacts/{cid}/complete"):
            status, body = await post(client, f"/api/agent/{path}", "a002", {})
            message = body["error"]["message"]
            assert status == 409, (state, path, body)
            assert "a001" not in message and f"is {state}" not in message, message
            assert "not offered or assigned to you" in message
        if state == "offered":
            await ws.send({"type": "accept", "contact_id": cid})
            await ws.next("assigned")
    # a001's own refusal still says why (its call is assigned, not offered, to it).
    status, body = await post(client, f"/api/agent/offers/{cid}/accept", "a001", {})
    assert status == 409 and "assigned" in body["error"]["message"]
