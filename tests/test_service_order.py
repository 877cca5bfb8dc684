"""The one order near closing time and the same-day rule, through the real HTTP API on
the sample region's opening hours: the same-day cap is a deadline, never a reason to
serve routine work before urgent work (issue 11.3); a service open round the clock still
owes same-day contact in office hours (issue 11.4)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.core.events import TimerDue
from tests.service_support import at, bearer, login, sample_region, served_at

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"


def call(call_id: str, service: str, urgency: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": "+358401234567",
        "ivr": {"service": service, "language": "fi", "urgency": urgency},
    }


async def test_an_urgent_call_at_15_45_is_announced_and_offered_before_later_routine_calls(
    aiohttp_client: MakeClient,
) -> None:
    # social_services: open 08-16, urgent 30 min, normal 4 h. Tuesday 24 November 2026.
    client, _service, clock = await served_at(aiohttp_client, "2026-11-24 12:10", sample_region())
    tel = bearer("telephony")
    for i in range(5):  # 12:10 ... 12:50: their own targets are 16:10 ... 16:50
        clock.set(f"2026-11-24 12:{10 + 10 * i}")
        r = await client.post(CALLS, json=call(f"n{i}", "social_services", "normal"), headers=tel)
        assert (await r.json())["announcement"]["position"] == i + 1
    clock.set("2026-11-24 15:45")  # its own target: 16:15
    r = await client.post(CALLS, json=call("u", "social_services", "urgent"), headers=tel)
    answer = await r.json()
    # Ahead of it only the 12:10 call, whose own target (16:10) is earlier. With every
    # due time capped at 16:00 it was announced sixth and served last.
    assert answer["action"] == "queue" and answer["announcement"]["position"] == 2
    # All six are still due by closing time: the deadline the alarms watch.
    r = await client.get(
        "/api/supervisor/contacts?service=social_services", headers=bearer("supervisor")
    )
    listed = (await r.json())["contacts"]
    assert [c["id"] for c in listed] == [
        "phone-n0",
        "phone-u",
        "phone-n1",
        "phone-n2",
        "phone-n3",
        "phone-n4",
    ]
    assert {c["due_at"] for c in listed} == {at("2026-11-24 16:00")}

    # Social workers log in one by one: each is offered the first in the one order.
    offered = []
    for agent in ("a014", "a015", "a016"):
        ws = await login(client, agent)
        offered.append((await ws.next("offer"))["contact"]["id"])
        await ws.close()
    assert offered == ["phone-n0", "phone-u", "phone-n1"]


async def test_a_p8_call_to_the_round_the_clock_line_on_monday_morning_is_due_by_16(
    aiohttp_client: MakeClient,
) -> None:
    # nursing_advice is open round the clock; its same-day window is Mon-Fri 08-16.
    client, _service, clock = await served_at(
        aiohttp_client, "2026-11-23 10:00", sample_region()
    )  # a Monday
    tel = bearer("telephony")
    r = await client.post(CALLS, json=call("p8", "nursing_advice", "P8"), headers=tel)
    assert (await r.json())["action"] == "queue"  # open: nobody is told to call again
    clock.set("2026-11-23 10:05")
    r = await client.post(CALLS, json=call("p2", "nursing_advice", "P2"), headers=tel)
    assert (await r.json())["announcement"]["position"] == 1  # its target is far earlier
    r = await client.get(
        "/api/supervisor/contacts?service=nursing_advice", headers=bearer("supervisor")
    )
    due = {c["id"]: c["due_at"] for c in (await r.json())["contacts"]}
    # Not a week later: the same working day, at the end of office hours.
    assert due == {"phone-p2": at("2026-11-23 10:35"), "phone-p8": at("2026-11-23 16:00")}
    # A call on Saturday evening is due by the end of Monday's office hours.
    clock.set("2026-11-28 20:00")
    await client.post(CALLS, json=call("sat", "nursing_advice", "P8"), headers=tel)
    r = await client.get(
        "/api/supervisor/contacts?service=nursing_advice", headers=bearer("supervisor")
    )
    due = {c["id"]: c["due_at"] for c in (await r.json())["contacts"]}
    assert due["phone-sat"] == at("2026-11-30 16:00")


async def test_a_callback_left_after_hours_and_answered_next_morning_counts_as_same_day(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-24 17:00", sample_region()
    )  # Tuesday, after social services close
    body = {"number": "+358401112222", "service": "social_services", "language": "fi"}
    r = await client.post("/api/channels/callbacks", json=body, headers=bearer("telephony"))
    assert r.status == 201
    contact_id = (await r.json())["contact_id"]
    clock.set("2026-11-25 09:00")
    await service.runtime.submit(TimerDue())  # it entered the queue at 08:00
    agent = bearer("agent-a014")
    await client.post("/api/agent/login", json={}, headers=agent)
    r = await client.post(f"/api/agent/offers/{contact_id}/accept", json={}, headers=agent)
    assert r.status == 200
    for action, answer in (("attempts", {"result": "reached"}), ("complete", {})):
        url = f"/api/agent/contacts/{contact_id}/{action}"
        assert (await client.post(url, json=answer, headers=agent)).status == 200
    r = await client.get(
        "/api/supervisor/reports/daily?date=2026-11-24", headers=bearer("supervisor")
    )
    total = (await r.json())["total"]
    # Due by the end of the next working day's office hours: answered in time.
    assert (total["answered"], total["same_day"]) == (1, 1)


async def test_a_round_the_clock_line_warns_when_its_same_day_window_will_not_be_met(
    aiohttp_client: MakeClient,
) -> None:
    client, _service, _clock = await served_at(
        aiohttp_client, "2026-11-23 15:00", sample_region()
    )  # Monday, an hour before the window ends
    nurse = await login(client, "a001", presence="not_ready")
    ws = await client.ws_connect("/api/supervisor/ws?access_token=demo-supervisor")
    first = await ws.receive_json()
    (line,) = [s for s in first["services"] if s["service"] == "nursing_advice"]
    assert line["today"]["due_by_closing"] == 0
    for i in range(30):  # P8: due a week later by their class, today by the window
        await client.post(
            CALLS, json=call(f"t{i}", "nursing_advice", "P8"), headers=bearer("telephony")
        )
    await ws.send_json({"type": "stats"})
    alert = None
    for _ in range(10):
        msg = await ws.receive_json()
        if msg.get("kind") == "capacity_short":
            alert = msg
            break
    assert alert is not None
    assert alert["service"] == "nursing_advice" and alert["closes_at"] == at("2026-11-23 16:00")
    assert alert["due_by_closing"] == 30
    await ws.close()
    await nurse.close()
