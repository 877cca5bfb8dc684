"""Callbacks, linked contacts and opening hours through the real HTTP API: a caller turns
into a callback and is called back in the original order; three failed attempts notify
the SMS gateway (a real HTTP server here) and close the contact as unreachable, never
silently; a phone call and a work item from the same person are offered for merging;
after hours the sample region redirects, schedules or says when to call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router.app import build_app
from router.core.events import TimerDue
from router.service.service import Service, Settings
from tests.service_support import (
    WallClock,
    at,
    bearer,
    customer,
    login,
    region,
    sample_region,
    served_at,
)

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"


def call(call_id: str, caller: str = "+358401234567", **ivr: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": caller,
        "ivr": {"service": "nursing_advice", "language": "fi", **ivr},
    }


async def tick(service: Service, clock: WallClock, seconds: float) -> None:
    """Virtual time passes: timers due by then fire."""
    clock.t += seconds
    await service.runtime.submit(TimerDue())


async def test_a_caller_who_turns_into_a_callback_is_called_back_in_the_original_order(
    aiohttp_client: MakeClient,
) -> None:
    client, _service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    tel = bearer("telephony")
    for i in range(3):
        r = await client.post(CALLS, json=call(f"q{i}", f"+35840000000{i}"), headers=tel)
        assert (await r.json())["action"] == "queue"
        clock.t += 60
    r = await client.post(f"{CALLS}/q1/callback", json={}, headers=tel)
    assert r.status == 200
    answer = await r.json()
    # Its position counts the callbacks ahead of it (the agents who call back compete
    # for it); its place in the one order is unchanged, as the offers below show.
    assert answer["action"] == "callback" and answer["state"] == "waiting"
    # Hidden and foreign numbers cannot: they stay in the live queue, with the reason.
    await client.post(CALLS, json=call("h", "hidden"), headers=tel)
    r = await client.post(f"{CALLS}/h/callback", json={}, headers=tel)
    assert r.status == 409 and "hidden number" in (await r.json())["error"]["message"]
    r = await client.post(f"{CALLS}/h/callback", json={"number": "+46701234567"}, headers=tel)
    message = (await r.json())["error"]["message"]
    assert r.status == 409 and "+358" in message and "stays in the live queue" in message
    assert (await (await client.get(f"{CALLS}/h", headers=tel)).json())["action"] == "queue"
    # The nurse is offered them in arrival order, the callback in its old place.
    agent = await login(client, "a001")
    order = []
    for _ in range(3):
        offer = await agent.next("offer")
        cid = offer["contact"]["id"]
        order.append((cid, offer["contact"]["channel"]))
        await agent.send({"type": "accept", "contact_id": cid})
        await agent.next("assigned")
        if offer["contact"]["channel"] == "callback":
            await agent.send({"type": "attempt", "contact_id": cid, "result": "reached"})
        await agent.send({"type": "complete", "contact_id": cid})
        await agent.next("closed")
        await agent.send({"type": "wrapup_done"})
    assert order == [
        ("phone-q0", "voice"),
        ("phone-q1", "callback"),
        ("phone-q2", "voice"),
    ]


async def test_three_failed_attempts_notify_the_gateway_and_close_as_unreachable(
    aiohttp_client: MakeClient,
) -> None:
    received: list[dict[str, Any]] = []
    failures = [1]  # the gateway fails once: the hook must retry

    async def gateway(request: web.Request) -> web.Response:
        if failures[0]:
            failures[0] -= 1
            return web.Response(status=503)
        received.append(await request.json())
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/sms", gateway)
    async with TestServer(app) as sms:
        clock = WallClock(at("2026-11-24 10:00"))
        settings = Settings(notify_url=str(sms.make_url("/sms")))
        service = Service(region(), settings, clock=clock)
        client = await aiohttp_client(build_app(service))
        r = await client.post(
            "/api/channels/callbacks",
            json={"number": "+358401112222", "service": "nursing_advice", "language": "fi"},
            headers=bearer("telephony"),
        )
        assert r.status == 201
        cid = (await r.json())["contact_id"]
        agent = await login(client, "a001")
        for attempt in range(3):
            assert (await agent.next("offer"))["contact"]["id"] == cid
            await agent.send({"type": "accept", "contact_id": cid})
            await agent.next("assigned")
            await agent.send({"type": "attempt", "contact_id": cid, "result": "no_answer"})
            if attempt < 2:
                status = await (
                    await client.get(f"/api/channels/callbacks/{cid}", headers=bearer("telephony"))
                ).json()
                assert status["state"] == "scheduled"
                assert status["scheduled_until"] == clock.t + 900
                await tick(service, clock, 900)  # 15 minutes later: the next attempt
        closed = await agent.next("closed")
        assert closed == {"type": "closed", "contact_id": cid, "outcome": "unreachable"}
        status = await (
            await client.get(f"/api/channels/callbacks/{cid}", headers=bearer("telephony"))
        ).json()
        assert status["state"] == "closed" and status["outcome"] == "unreachable"
        assert [a["result"] for a in status["attempts"]] == ["no_answer"] * 3
        for _ in range(100):  # the first delivery failed; the retry comes after ~1 s
            if received:
                break
            await asyncio.sleep(0.05)
        (note,) = received
        assert note["type"] == "callback_unreachable"
        assert note["contact_id"] == cid and note["number"] == "+358401112222"
        assert [a["result"] for a in note["attempts"]] == ["no_answer"] * 3
        # The gateway has the note before the notifier has its answer: the note leaves
        # ``pending`` only once ``NotificationSent`` has gone through the log after that.
        for _ in range(100):
            if not service.notifier.pending:
                break
            await asyncio.sleep(0.01)
        assert not service.notifier.pending


async def test_a_call_and_a_work_item_of_one_person_are_offered_for_merging(
    aiohttp_client: MakeClient,
) -> None:
    service = Service(region(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    r = await client.post(
        "/api/channels/workitems",
        json={
            "source": "omaolo",
            "item_id": "OA-1",
            "service": "symptom_assessment",
            "topic": "respiratory",
            "urgency": "P5",
            "link": "https://omaolo.example/items/OA-1",
            "phone": "+358401234567",
            "language": "fi",
        },
        headers=bearer("omaolo"),
    )
    assert r.status == 201
    await client.post(CALLS, json=call("m1"), headers=bearer("telephony"))
    agent = await login(client, "a001")
    offer = await agent.next("offer")
    assert offer["contact"]["id"] == "phone-m1"  # due sooner
    await agent.send({"type": "accept", "contact_id": "phone-m1"})
    linked = await agent.next("linked")
    assert linked["contact_id"] == "phone-m1"
    assert [c["id"] for c in linked["open"]] == ["wi-omaolo-OA-1"]
    await agent.send({"type": "complete", "contact_id": "phone-m1"})
    assert [c["id"] for c in (await agent.next("linked"))["open"]] == ["wi-omaolo-OA-1"]
    r = await client.get("/api/agent/contacts/phone-m1/linked", headers=bearer("agent-a001"))
    assert [c["id"] for c in (await r.json())["open"]] == ["wi-omaolo-OA-1"]
    # Another agent cannot merge it into a contact it never had.
    r = await client.post(
        "/api/agent/contacts/wi-omaolo-OA-1/merge",
        json={"into": "phone-m1"},
        headers=bearer("agent-a002"),
    )
    assert r.status == 409
    r = await client.post(
        "/api/agent/contacts/wi-omaolo-OA-1/merge",
        json={"into": "phone-m1"},
        headers=bearer("agent-a001"),
    )
    assert r.status == 200, await r.text()
    item = await (
        await client.get("/api/channels/workitems/omaolo/OA-1", headers=bearer("omaolo"))
    ).json()
    assert item["state"] == "closed" and item["outcome"] == "merged"


@pytest.fixture
def hours_region() -> Any:
    return sample_region()  # with the sample's opening hours


async def test_after_hours_the_sample_region_redirects_schedules_or_says_when_to_call(
    aiohttp_client: MakeClient, hours_region: Any
) -> None:
    friday_evening = at("2026-11-27 17:30")
    clock = WallClock(friday_evening)
    service = Service(hours_region, Settings(), clock=clock)
    client = await aiohttp_client(build_app(service))
    tel = bearer("telephony")
    # Urgent dental pain after hours: the on-call line.
    r = await client.post(
        CALLS, json=call("d1", service="oral_health", urgency="urgent"), headers=tel
    )
    assert await r.json() == {"call_id": "d1", "action": "redirect", "target": "116117"}
    # A normal dental call: told when the line opens (Monday 08:00), nothing queued.
    r = await client.post(CALLS, json=call("d2", service="oral_health"), headers=tel)
    assert await r.json() == {
        "call_id": "d2",
        "action": "closed",
        "opens_at": at("2026-11-30 08:00"),
    }
    assert service.engine.waiting_count == 0
    # A prescription renewal from the web waits for Monday and is due on Monday: its
    # 4-hour target counted from the opening (never later than Monday's closing).
    r = await client.post(
        "/api/channels/web/requests",
        json={
            "service": "prescriptions",
            "message": "Renewal of my blood pressure medicine, please",
            "contact_preference": {"method": "phone", "value": "+358401234567"},
        },
        headers=bearer("website"),
    )
    assert r.status == 201, await r.text()
    body = await r.json()
    assert body["state"] == "scheduled"
    assert body["scheduled_until"] == at("2026-11-30 08:00")
    view = service.engine.contact(body["contact_id"])
    assert view.due_at == at("2026-11-30 12:00")
    # Urgent social work after hours: the emergency social service, through 112.
    r = await client.post(
        CALLS, json=call("u1", service="social_services", urgency="urgent"), headers=tel
    )
    assert await r.json() == {"call_id": "u1", "action": "redirect", "target": "112"}
    # The round-the-clock nursing line answers as always, P0 goes to 112.
    r = await client.post(CALLS, json=call("n1", urgency="P0"), headers=tel)
    assert (await r.json())["target"] == "112"
    r = await client.post(CALLS, json=call("n2"), headers=tel)
    assert (await r.json())["action"] == "queue"


async def test_a_contact_after_closing_on_maundy_thursday_is_due_on_the_tuesday_after_easter(
    aiohttp_client: MakeClient, hours_region: Any
) -> None:
    client, service, _clock = await served_at(
        aiohttp_client, "2027-03-25 18:00", hours_region
    )  # Maundy Thursday 2027, after closing
    r = await client.post(
        "/api/channels/web/requests",
        json={
            "service": "social_services",
            "message": "I need help with an application",
            "contact_preference": {"method": "phone", "value": "+358401234567"},
        },
        headers=bearer("website"),
    )
    body = await r.json()
    # Good Friday, Easter Sunday and Monday are holidays: Tuesday 30 March.
    assert body["scheduled_until"] == at("2027-03-30 08:00")
    assert service.engine.contact(body["contact_id"]).due_at == at("2027-03-30 12:00")


def test_the_test_region_has_no_hours_so_wall_clock_tests_do_not_depend_on_the_hour() -> None:
    assert region().hours == {} and sample_region().hours


async def test_a_scheduled_callback_waits_for_the_window_the_caller_picked(
    aiohttp_client: MakeClient, hours_region: Any
) -> None:
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-24 09:10", hours_region
    )  # a Tuesday, dental line open 08:00-16:00
    tel = bearer("telephony")
    r = await client.get("/api/channels/callbacks/windows?service=oral_health", headers=tel)
    offered = (await r.json())["windows"]
    # Opening hours cut into hours: the rest of today from 10:00, then tomorrow morning.
    starts = [w["start"] for w in offered]
    assert starts == [at(f"2026-11-24 {h}:00") for h in range(10, 16)] + [
        at(f"2026-11-25 {h:02d}:00") for h in range(8, 14)
    ]
    assert offered[0]["end"] == at("2026-11-24 11:00")
    bad = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401234567", "service": "oral_health", "window_start": 1.0},
        headers=tel,
    )
    assert bad.status == 409
    pick = offered[2]["start"]
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401234567", "service": "oral_health", "window_start": pick},
        headers=tel,
    )
    body = await r.json()
    assert r.status == 201 and body["state"] == "scheduled" and body["scheduled_until"] == pick
    cid = body["contact_id"]
    assert service.engine.contact(cid).due_at == pick
    await tick(service, clock, pick - clock.t)  # the window opens
    assert service.engine.contact(cid).state.value == "waiting"


async def test_supervisors_are_warned_when_today_s_capacity_will_not_reach_what_is_due(
    aiohttp_client: MakeClient, hours_region: Any
) -> None:
    client, _service, _clock = await served_at(
        aiohttp_client, "2026-11-24 15:00", hours_region
    )  # an hour before the dental line closes
    dentist = await login(client, "a007")  # dental 4 (see the sample region)
    ws = await client.ws_connect("/api/supervisor/ws?access_token=demo-supervisor")
    first = await ws.receive_json()
    (dental,) = [s for s in first["services"] if s["service"] == "oral_health"]
    assert dental["today"]["due_by_closing"] == 0
    for i in range(30):  # a queue one dentist cannot clear in the hour left
        await client.post(
            CALLS, json=call(f"t{i}", service="oral_health"), headers=bearer("telephony")
        )
    await ws.send_json({"type": "stats"})
    alert = None
    for _ in range(10):
        msg = await ws.receive_json()
        if msg.get("kind") == "capacity_short":
            alert = msg
            break
    assert alert is not None
    assert alert["service"] == "oral_health" and alert["closes_at"] == at("2026-11-24 16:00")
    assert alert["due_by_closing"] > alert["can_answer_by_closing"]
    await ws.close()
    del dentist


async def test_public_status_is_closed_outside_opening_hours_and_says_when_it_opens(
    aiohttp_client: MakeClient, hours_region: Any
) -> None:
    service = Service(hours_region, Settings(), clock=WallClock(at("2026-11-28 11:00")))  # Sat
    client = await aiohttp_client(build_app(service))
    await login(client, "a007")  # a dentist is logged in, but the line is closed
    r = await client.get("/api/public/services/oral_health", headers=bearer("public"))
    body = await r.json()
    assert body["open"] is False and body["in_hours"] is False and body["staffed"] is True
    assert body["opens_at"] == at("2026-11-30 08:00")
    r = await client.get("/api/public/services/nursing_advice", headers=bearer("public"))
    assert (await r.json())["in_hours"] is True  # round the clock


async def test_a_retried_callback_or_web_request_with_an_idempotency_key_makes_one_contact(
    aiohttp_client: MakeClient,
) -> None:
    service = Service(region(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    body = {"number": "+358401234567", "service": "nursing_advice"}
    key = {"Idempotency-Key": "ivr-2026-11-24-0001", **bearer("telephony")}
    first = await client.post("/api/channels/callbacks", json=body, headers=key)
    again = await client.post("/api/channels/callbacks", json=body, headers=key)
    assert (first.status, again.status) == (201, 200)
    assert (await first.json())["contact_id"] == (await again.json())["contact_id"]
    assert (await first.json())["contact_id"] == "cb-ivr-2026-11-24-0001"
    form = {
        "service": "prescriptions",
        "message": "Renewal, please",
        "contact_preference": {"method": "phone", "value": "+358401234567"},
    }
    web_key = {"Idempotency-Key": "form-77", **bearer("website")}
    r1 = await client.post("/api/channels/web/requests", json=form, headers=web_key)
    r2 = await client.post("/api/channels/web/requests", json=form, headers=web_key)
    assert (r1.status, r2.status) == (201, 200)
    assert service.engine.waiting_count == 2  # one callback, one web request
    bad = await client.post(
        "/api/channels/callbacks",
        json=body,
        headers={"Idempotency-Key": "no spaces please", **bearer("telephony")},
    )
    assert bad.status == 400
    assert (await bad.json())["error"]["problems"][0]["field"] == "Idempotency-Key"


async def test_a_chat_started_after_hours_waits_for_the_opening_and_is_told_when_queued(
    aiohttp_client: MakeClient, hours_region: Any
) -> None:
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-27 10:00", hours_region
    )  # Friday: the family chat is open Mon-Thu only
    cust = await customer(client)
    await cust.send({"type": "start", "service": "child_family", "language": "fi"})
    await cust.next("session")
    scheduled = await cust.next("scheduled")
    assert scheduled["until"] == at("2026-11-30 09:00")
    await tick(service, clock, at("2026-11-30 09:00") - clock.t)
    queued = await cust.next("queued")
    assert queued["position"] == 1


async def test_a_shared_number_with_many_open_contacts_is_not_treated_as_one_person(
    aiohttp_client: MakeClient,
) -> None:
    service = Service(region(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    for i in range(60):  # a switchboard's number on 60 open calls
        await client.post(CALLS, json=call(f"s{i}", "+35861000000"), headers=bearer("telephony"))
    agent = await login(client, "a001")
    offer = await agent.next("offer")
    await agent.send({"type": "accept", "contact_id": offer["contact"]["id"]})
    await agent.next("assigned")
    r = await client.get(
        f"/api/agent/contacts/{offer['contact']['id']}/linked", headers=bearer("agent-a001")
    )
    assert (await r.json())["open"] == []


async def _audit(client: Client, contact_id: str) -> dict[str, Any]:
    r = await client.get(
        f"/api/supervisor/audit/contacts/{contact_id}", headers=bearer("supervisor")
    )
    assert r.status == 200, await r.text()
    body: dict[str, Any] = await r.json()
    return body


async def _daily(client: Client) -> dict[str, Any]:
    r = await client.get("/api/supervisor/reports/daily", headers=bearer("supervisor"))
    assert r.status == 200, await r.text()
    total: dict[str, Any] = (await r.json())["total"]
    return total


async def test_a_caller_who_chose_a_callback_and_hung_up_is_still_called_back(
    aiohttp_client: MakeClient,
) -> None:
    """Issue 11.2: hanging up after choosing a callback is what the caller was told to
    do; the callback keeps its place and follows its attempts to the end."""
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    tel = bearer("telephony")
    r = await client.post(CALLS, json=call("h1", "+358401230001"), headers=tel)
    assert (await r.json())["action"] == "queue"
    clock.t += 60
    r = await client.post(f"{CALLS}/h1/callback", json={}, headers=tel)
    assert (await r.json())["action"] == "callback"
    clock.t += 5
    # The platform reports the hang-up, as the docs tell it to: nothing closes.
    r = await client.post(f"{CALLS}/h1/abandoned", headers=tel)
    assert r.status == 200
    answer = await r.json()
    assert answer["action"] == "callback" and answer["state"] == "waiting"
    assert answer["position"] == 1
    # A nurse is offered it, as a callback; the first attempt fails, the second reaches.
    agent = await login(client, "a001")
    for result in ("no_answer", "reached"):
        offer = await agent.next("offer")
        assert (offer["contact"]["id"], offer["contact"]["channel"]) == ("phone-h1", "callback")
        await agent.send({"type": "accept", "contact_id": "phone-h1"})
        await agent.next("assigned")
        # Over REST, so the attempt is applied before the clock moves on.
        r = await client.post(
            "/api/agent/contacts/phone-h1/attempts",
            json={"result": result},
            headers=bearer("agent-a001"),
        )
        assert r.status == 200, await r.text()
        if result == "no_answer":
            status = await (await client.get(f"{CALLS}/h1", headers=tel)).json()
            assert status["action"] == "callback" and status["state"] == "scheduled"
            await tick(service, clock, 900)
    await agent.send({"type": "complete", "contact_id": "phone-h1"})
    assert (await agent.next("closed"))["outcome"] == "resolved"
    r = await client.get(f"{CALLS}/h1", headers=tel)
    assert await r.json() == {"call_id": "h1", "action": "hangup", "outcome": "resolved"}
    record = await _audit(client, "phone-h1")
    assert record["outcome"] == "resolved" and record["callback_attempts"] == 2
    changes = [c["change"] for c in record["trail"]]
    assert changes.index("callback_registered") < changes.index("caller_hung_up")
    assert [c["result"] for c in record["trail"] if c["change"] == "callback_attempt"] == [
        "no_answer",
        "reached",
    ]
    total = await _daily(client)
    assert (total["abandoned"], total["answered"], total["callback_attempts"]) == (0, 1, 2)


async def test_a_callback_whose_caller_hung_up_ends_unreachable_after_its_attempts(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    tel = bearer("telephony")
    await client.post(CALLS, json=call("u1", "+358401230002"), headers=tel)
    await client.post(f"{CALLS}/u1/callback", json={}, headers=tel)
    await client.post(f"{CALLS}/u1/abandoned", headers=tel)
    agent = await login(client, "a001")
    for attempt in range(3):
        assert (await agent.next("offer"))["contact"]["id"] == "phone-u1"
        await agent.send({"type": "accept", "contact_id": "phone-u1"})
        await agent.next("assigned")
        r = await client.post(
            "/api/agent/contacts/phone-u1/attempts",
            json={"result": "busy"},
            headers=bearer("agent-a001"),
        )
        assert r.status == 200, await r.text()
        if attempt < 2:
            await tick(service, clock, 900)
    assert (await agent.next("closed"))["outcome"] == "unreachable"
    record = await _audit(client, "phone-u1")
    assert (record["outcome"], record["callback_attempts"]) == ("unreachable", 3)


async def test_a_caller_cancels_their_own_callback_request_once_audited_and_counted(
    aiohttp_client: MakeClient,
) -> None:
    client, _service, _clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    tel = bearer("telephony")
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401112233", "service": "nursing_advice", "language": "fi"},
        headers=tel,
    )
    cid = (await r.json())["contact_id"]
    url = f"/api/channels/callbacks/{cid}"
    for _ in range(2):  # a retried cancellation has no second effect
        r = await client.delete(url, headers=tel)
        assert r.status == 200, await r.text()
        body = await r.json()
        assert (body["state"], body["outcome"]) == ("closed", "cancelled")
    record = await _audit(client, cid)
    assert record["outcome"] == "cancelled"
    (cancelled,) = [c for c in record["trail"] if c["change"] == "cancelled"]
    assert cancelled["reason"] == "the caller cancelled the callback request (via telephony)"
    assert (await client.delete("/api/channels/callbacks/cb-nope", headers=tel)).status == 404
    # Only the callback channel's integrations may: the website's token has it, not omaolo's.
    assert (await client.delete(url, headers=bearer("omaolo"))).status == 403
    # A caller who chose a callback in the phone queue cancels it the same way.
    await client.post(CALLS, json=call("c1", "+358401230003"), headers=tel)
    r = await client.delete(f"{CALLS}/c1/callback", headers=tel)
    assert r.status == 409 and (await r.json())["error"]["code"] == "not_a_callback"
    await client.post(f"{CALLS}/c1/callback", json={}, headers=tel)
    await client.post(f"{CALLS}/c1/abandoned", headers=tel)
    r = await client.delete(f"{CALLS}/c1/callback", headers=tel)
    assert await r.json() == {"call_id": "c1", "action": "hangup", "outcome": "cancelled"}
    # One with an agent, or closed otherwise, is refused and stays as it is.
    await client.post(CALLS, json=call("c2", "+358401230004"), headers=tel)
    await client.post(f"{CALLS}/c2/callback", json={}, headers=tel)
    agent = await login(client, "a001")
    assert (await agent.next("offer"))["contact"]["id"] == "phone-c2"
    await agent.send({"type": "accept", "contact_id": "phone-c2"})
    await agent.next("assigned")
    r = await client.delete(f"{CALLS}/c2/callback", headers=tel)
    assert r.status == 409 and (await r.json())["error"]["code"] == "with_agent"
    await agent.send({"type": "attempt", "contact_id": "phone-c2", "result": "reached"})
    await agent.send({"type": "complete", "contact_id": "phone-c2"})
    await agent.next("closed")
    r = await client.delete(f"{CALLS}/c2/callback", headers=tel)
    assert r.status == 409 and (await r.json())["error"]["code"] == "closed"
    metrics = await (await client.get("/metrics")).text()
    assert (
        'yhteys_contacts_total{channel="callback",outcome="cancelled",service="nursing_advice"}'
        " 2.0" in metrics
    )
    total = await _daily(client)
    assert (total["cancelled"], total["abandoned"], total["answered"]) == (2, 0, 1)


async def _live(client: Client) -> tuple[int, int]:
    r = await client.get("/api/supervisor/stats", headers=bearer("supervisor"))
    assert r.status == 200, await r.text()
    services = (await r.json())["services"]
    nursing = next(s for s in services if s["service"] == "nursing_advice")
    return nursing["answered_today"], nursing["answered_within_target_today"]


async def test_the_live_answered_figure_counts_a_callback_when_the_person_is_reached(
    aiohttp_client: MakeClient,
) -> None:
    """An outside tester saw the console count a callback answered (100 % within target)
    the moment a nurse accepted it, though the attempt found nobody and the daily report
    said 0: both now follow the audit's rule."""
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    tel = bearer("telephony")
    for cid in ("c1", "c2"):
        await client.post(CALLS, json=call(cid, "+358401230010"), headers=tel)
        await client.post(f"{CALLS}/{cid}/callback", json={}, headers=tel)
    agent = await login(client, "a001")

    async def take(contact_id: str) -> None:
        offer = await agent.next("offer")
        assert offer["contact"]["id"] == contact_id
        await agent.send({"type": "accept", "contact_id": contact_id})
        await agent.next("assigned")

    async def attempt(contact_id: str, result: str) -> None:
        r = await client.post(
            f"/api/agent/contacts/{contact_id}/attempts",
            json={"result": result},
            headers=bearer("agent-a001"),
        )
        assert r.status == 200, await r.text()

    # Accepted, and the attempt finds nobody: not answered, live or in the report.
    await take("phone-c1")
    assert await _live(client) == (0, 0)
    await attempt("phone-c1", "no_answer")
    assert await _live(client) == (0, 0)
    assert (await _daily(client))["answered"] == 0
    # The next one is accepted and completed without an attempt reported: answered.
    await take("phone-c2")
    await agent.send({"type": "complete", "contact_id": "phone-c2"})
    await agent.next("closed")
    assert await _live(client) == (1, 1)
    # The first again, later: its second attempt reaches the person.
    await tick(service, clock, 900)
    await take("phone-c1")
    await attempt("phone-c1", "reached")
    assert await _live(client) == (2, 2)
    await agent.send({"type": "complete", "contact_id": "phone-c1"})
    await agent.next("closed")
    assert await _live(client) == (2, 2)  # counted once
    assert (await _daily(client))["answered"] == 2
