"""The audit trail, its exports, removal by a supervisor and the daily report, through the
real HTTP API on a fake clock (Helsinki time), so every timestamp and day is known."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.core.events import (
    ContactAbandoned,
    ContactArrived,
    ContactCancelled,
    Event,
    TimerDue,
)
from router.core.model import Channel, ContactSpec
from router.instance import audit_for
from router.service import audit
from router.service.audit import CHANGE_COLUMNS, CONTACT_COLUMNS, AuditSettings
from router.service.replica_state import ReplicaSettings
from router.service.replicated import ReplicatedRuntime
from router.service.service import Service, Settings
from router.store.codec import decode, encode
from router.store.memory import MemoryStore
from tests.service_support import WallClock, at, bearer, region, until

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLS = "/api/channels/phone/calls"
AUDIT = "/api/supervisor/audit"
DAILY = "/api/supervisor/reports/daily"
CHARTS = "/api/supervisor/reports/daily/charts"
SUP = bearer("supervisor")
NUMBER = "+358401234567"
NEVER_SILENT_S = 1e9  # no heartbeats needed while the fake clock jumps days


def build(service: Service) -> web.Application:
    return build_app(service)


Served = tuple[Client, Service, WallClock]


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> Served:
    clock = WallClock(at("2026-11-24 09:00"))
    # Agents use REST without heartbeats while the fake clock jumps hours.
    service = Service(region(), Settings(heartbeat_timeout_s=NEVER_SILENT_S), clock=clock)
    client = await aiohttp_client(build(service))
    return client, service, clock


async def request(
    client: Client,
    method: str,
    path: str,
    token: str = "supervisor",
    body: object = None,
    status: int = 200,
) -> Any:
    kwargs: dict[str, Any] = {"headers": bearer(token)}
    if body is not None:
        kwargs["json"] = body
    r = await client.request(method, path, **kwargs)
    assert r.status == status, await r.text()
    if r.content_type == "application/json":
        return await r.json()
    return await r.text()


async def call(
    client: Client, call_id: str, language: str = "fi", urgency: str | None = None
) -> dict[str, Any]:
    ivr = {"service": "nursing_advice", "language": language}
    if urgency is not None:
        ivr["urgency"] = urgency
    body = {"call_id": call_id, "caller": NUMBER, "site": "vaasa", "ivr": ivr}
    answer: dict[str, Any] = await request(client, "POST", CALLS, "telephony", body, 201)
    return answer


async def callback(client: Client, number: str = "+358401112222") -> str:
    body = {"number": number, "service": "nursing_advice", "language": "fi", "site": "vaasa"}
    answer = await request(client, "POST", "/api/channels/callbacks", "telephony", body, 201)
    contact_id: str = answer["contact_id"]
    return contact_id


async def act(
    client: Client, agent: str, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An agent's REST action, e.g. 'login', 'offers/phone-c1/accept'."""
    result: dict[str, Any] = await request(
        client, "POST", f"/api/agent/{action}", f"agent-{agent}", body or {}
    )
    return result


async def take(client: Client, agent: str, contact_id: str) -> None:
    await act(client, agent, f"offers/{contact_id}/accept")


async def complete(client: Client, agent: str, contact_id: str, outcome: str = "resolved") -> None:
    await act(client, agent, f"contacts/{contact_id}/complete", {"outcome": outcome})
    await act(client, agent, "wrapup-done")


async def attempt(client: Client, agent: str, contact_id: str, result: str) -> None:
    await act(client, agent, f"contacts/{contact_id}/attempts", {"result": result})


async def trail(client: Client, contact_id: str) -> dict[str, Any]:
    record: dict[str, Any] = await request(client, "GET", f"{AUDIT}/contacts/{contact_id}")
    return record


def changes(record: dict[str, Any], skip: tuple[str, ...] = ()) -> list[str]:
    return [c["change"] for c in record["trail"] if c["change"] not in skip]


def first(record: dict[str, Any], change: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in record["trail"] if c["change"] == change)
    return found


def problem_fields(body: dict[str, Any]) -> set[str]:
    return {p["field"] for p in body["error"]["problems"]}


# ------------------------------------------------------------------ trails


async def test_a_phone_calls_trail_from_arrival_to_resolved_with_its_times(
    served: Served,
) -> None:
    client, _, clock = served
    clock.set("2026-11-24 10:00")
    await act(client, "a001", "login")
    answer = await call(client, "c1")
    assert answer["action"] == "connect" and answer["agent_id"] == "a001"
    clock.set("2026-11-24 10:00:08")
    await take(client, "a001", "phone-c1")
    clock.set("2026-11-24 10:05")
    await complete(client, "a001", "phone-c1")

    record = await trail(client, "phone-c1")
    assert changes(record) == ["arrived", "offered", "accepted", "closed"]
    arrived, offered, accepted, closed = record["trail"]
    assert arrived == {
        "at": at("2026-11-24 10:00"),
        "time": "2026-11-24T10:00:00.000+02:00",
        "change": "arrived",
        "agent_id": None,
        "channel": "voice",
        "service": "nursing_advice",
        "urgency": "P4",
        "language": "fi",
        "site": "vaasa",
        "arrived_at": at("2026-11-24 10:00"),
        "due_at": at("2026-11-24 12:00"),
        "number": "+35840*****67",  # masked as in the logs
    }
    assert offered["agent_id"] == "a001" and offered["at"] == at("2026-11-24 10:00")
    assert offered["expires_at"] == at("2026-11-24 10:00:20")
    assert accepted["at"] == at("2026-11-24 10:00:08") and accepted["agent_id"] == "a001"
    assert accepted["wait_s"] == 8.0 and accepted["within_target"] is True
    assert accepted["agent_site"] == "vaasa"
    assert closed["at"] == at("2026-11-24 10:05") and closed["outcome"] == "resolved"
    assert closed["agent_id"] == "a001" and closed["time"] == "2026-11-24T10:05:00.000+02:00"
    assert record["state"] == "closed" and record["outcome"] == "resolved"
    assert record["day"] == "2026-11-24" and record["answered_by"] == "a001"
    assert record["wait_s"] == 8.0 and record["within_target"] is True
    assert (record["urgency"], record["urgency_final"]) == ("P4", "P4")
    assert (record["language"], record["site"]) == ("fi", "vaasa")
    # The full number is nowhere in the audit.
    assert NUMBER not in json.dumps(record)
    # Unknown contacts are 404.
    missing = await request(client, "GET", f"{AUDIT}/contacts/phone-nope", status=404)
    assert missing["error"]["code"] == "not_found"


async def test_a_callbacks_attempts_are_in_its_trail(served: Served) -> None:
    client, service, clock = served
    clock.set("2026-11-24 10:00")
    assert (await call(client, "q1"))["action"] == "queue"
    clock.set("2026-11-24 10:01")
    r = await request(client, "POST", f"{CALLS}/q1/callback", "telephony", {})
    assert r["action"] == "callback"
    clock.set("2026-11-24 10:05")
    await act(client, "a001", "login")  # offered the callback at once
    await take(client, "a001", "phone-q1")
    clock.set("2026-11-24 10:06")
    await attempt(client, "a001", "phone-q1", "no_answer")
    clock.set("2026-11-24 10:21")  # the retry is due (15 minutes)
    await service.runtime.submit(TimerDue())
    await take(client, "a001", "phone-q1")
    clock.set("2026-11-24 10:22")
    await attempt(client, "a001", "phone-q1", "reached")
    clock.set("2026-11-24 10:30")
    await complete(client, "a001", "phone-q1")

    record = await trail(client, "phone-q1")
    assert changes(record, skip=("widened",)) == [
        "arrived",
        "queued",
        "callback_registered",
        "offered",
        "accepted",
        "callback_attempt",
        "scheduled",
        "offered",
        "accepted",
        "callback_attempt",
        "closed",
    ]
    registered = first(record, "callback_registered")
    assert registered["at"] == at("2026-11-24 10:01")
    assert (registered["from"], registered["to"]) == ("voice", "callback")
    assert registered["number"] == "+35840*****67"
    attempts = [c for c in record["trail"] if c["change"] == "callback_attempt"]
    assert [(a["at"], a["agent_id"], a["attempt"], a["result"]) for a in attempts] == [
        (at("2026-11-24 10:06"), "a001", 1, "no_answer"),
        (at("2026-11-24 10:22"), "a001", 2, "reached"),
    ]
    assert attempts[0]["retry_at"] == at("2026-11-24 10:21") and attempts[1]["retry_at"] is None
    assert first(record, "scheduled")["until"] == at("2026-11-24 10:21")
    assert record["callback_attempts"] == 2
    assert (record["channel"], record["channel_final"]) == ("voice", "callback")
    # Answered when the attempt that reached the person was taken.
    assert record["answered_at"] == at("2026-11-24 10:21")
    assert record["wait_s"] == 21 * 60
    assert record["outcome"] == "resolved"


async def test_a_p0_call_is_redirected_and_its_trail_says_so(served: Served) -> None:
    client, _, _ = served
    assert (await call(client, "p0", urgency="P0"))["action"] == "redirect"
    record = await trail(client, "phone-p0")
    assert changes(record) == ["arrived", "redirected", "closed"]
    assert first(record, "redirected")["target"] == "112"
    assert record["outcome"] == "redirected" and record["answered_at"] is None


# ------------------------------------------------------------------ exports


async def _three_days(client: Client, clock: WallClock) -> None:
    clock.set("2026-11-24 10:00")
    await act(client, "a001", "login")
    await call(client, "d1")
    await take(client, "a001", "phone-d1")
    clock.set("2026-11-24 10:04")
    await complete(client, "a001", "phone-d1")
    await act(client, "a001", "logout")
    clock.set("2026-11-25 23:30")
    await call(client, "d2", language="sv")
    clock.set("2026-11-25 23:31")
    await request(client, "POST", f"{CALLS}/d2/abandoned", "telephony", {})
    clock.set("2026-11-26 08:00")
    await call(client, "d3")


@pytest.mark.parametrize("seal_every", [500, 1])  # closed records sealed, or not yet
async def test_exports_for_a_date_range_as_json_lines_and_csv(
    aiohttp_client: MakeClient, seal_every: int
) -> None:
    clock = WallClock(at("2026-11-24 09:00"))
    service = Service(region(), Settings(heartbeat_timeout_s=NEVER_SILENT_S), clock=clock)
    kept = audit_for(service, AuditSettings(seal_every=seal_every))
    client = await aiohttp_client(build(service))
    await _three_days(client, clock)
    assert len(kept.sealed) == (2 if seal_every == 1 else 0)

    r = await client.get(f"{AUDIT}/export?from=2026-11-24&to=2026-11-25", headers=SUP)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    assert "2026-11-24_2026-11-25.jsonl" in r.headers["Content-Disposition"]
    lines = [json.loads(line) for line in (await r.text()).splitlines()]
    assert [c["contact_id"] for c in lines] == ["phone-d1", "phone-d2"]
    assert [c["outcome"] for c in lines] == ["resolved", "abandoned"]
    assert lines[0]["trail"][0]["change"] == "arrived"
    assert lines[1]["day"] == "2026-11-25" and lines[1]["language"] == "sv"

    # CSV: one row per change, with the fixed header; times in local ISO 8601.
    r = await client.get(f"{AUDIT}/export?from=2026-11-24&to=2026-11-25&format=csv", headers=SUP)
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(await r.text())))
    assert tuple(rows[0]) == CHANGE_COLUMNS
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(b["contact_id"], b["change"]) for b in body] == [
        ("phone-d1", "arrived"),
        ("phone-d1", "offered"),
        ("phone-d1", "accepted"),
        ("phone-d1", "closed"),
        ("phone-d2", "arrived"),
        ("phone-d2", "queued"),
        ("phone-d2", "closed"),
    ]
    assert body[0]["time"] == "2026-11-24T10:00:00.000+02:00"
    assert float(body[0]["at"]) == at("2026-11-24 10:00")
    assert body[0]["due_at"] == "2026-11-24T12:00:00.000+02:00"
    assert body[0]["number"] == "+35840*****67"
    assert (body[3]["outcome"], body[3]["agent_id"]) == ("resolved", "a001")
    assert body[6]["outcome"] == "abandoned" and body[6]["time"].startswith("2026-11-25T23:31")

    # CSV: one row per contact.
    r = await client.get(
        f"{AUDIT}/export?from=2026-11-24&to=2026-11-26&format=csv&rows=contacts", headers=SUP
    )
    rows = list(csv.reader(io.StringIO(await r.text())))
    assert tuple(rows[0]) == CONTACT_COLUMNS
    summary = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(s["contact_id"], s["state"], s["outcome"]) for s in summary] == [
        ("phone-d1", "closed", "resolved"),
        ("phone-d2", "closed", "abandoned"),
        ("phone-d3", "open", ""),
    ]
    assert summary[0]["wait_s"] == "0.0" and summary[0]["within_target"] == "true"
    assert summary[0]["arrived_at"] == "2026-11-24T10:00:00.000+02:00"

    # One day (to defaults to from); a day with nothing is empty, not an error.
    r = await client.get(f"{AUDIT}/export?from=2026-11-26", headers=SUP)
    assert [json.loads(x)["contact_id"] for x in (await r.text()).splitlines()] == ["phone-d3"]
    r = await client.get(f"{AUDIT}/export?from=2026-10-01&format=csv", headers=SUP)
    assert r.status == 200 and (await r.text()).splitlines() == [",".join(CHANGE_COLUMNS)]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("", {"from"}),
        ("?to=2026-11-24", {"from"}),
        ("?from=2026-13-01", {"from"}),
        ("?from=24.11.2026", {"from"}),
        ("?from=20261124", {"from"}),
        ("?from=2026-11-24&to=2026-11-23", {"to"}),
        ("?from=2026-01-01&to=2026-02-01", {"to"}),
        ("?from=2026-11-24&format=xml", {"format"}),
        ("?from=2026-11-24&rows=changes", {"rows"}),
        ("?from=2026-11-24&format=csv&rows=people", {"rows"}),
        ("?from=nope&to=later&format=pdf", {"from", "to", "format"}),
    ],
)
async def test_an_export_with_bad_dates_is_a_clear_400(
    served: Served, query: str, fields: set[str]
) -> None:
    client, _, _ = served
    body = await request(client, "GET", f"{AUDIT}/export{query}", status=400)
    assert body["error"]["code"] == "invalid_input"
    assert problem_fields(body) == fields


async def test_a_31_day_range_is_the_most_one_export_gives(served: Served) -> None:
    client, _, _ = served
    await request(client, "GET", f"{AUDIT}/export?from=2026-11-01&to=2026-12-01")
    body = await request(client, "GET", f"{AUDIT}/export?from=2026-11-01&to=2026-12-02", status=400)
    assert "31 days" in body["error"]["message"]


# ------------------------------------------------------------------ removal


async def test_a_supervisor_removes_one_waiting_contact_with_a_reason_and_it_is_audited(
    served: Served,
) -> None:
    client, _, clock = served
    clock.set("2026-11-24 10:00")
    await call(client, "r1")
    await call(client, "r2")
    remove = "/api/supervisor/contacts/phone-r1/remove"
    # No reason, an empty one, or none at all: 400, and nothing changes.
    r = await client.post(remove, headers=SUP)
    assert r.status == 400
    assert problem_fields(await request(client, "POST", remove, body={}, status=400)) == {"reason"}
    blank = await request(client, "POST", remove, body={"reason": "  "}, status=400)
    assert problem_fields(blank) == {"reason"}
    long = await request(client, "POST", remove, body={"reason": "x" * 501}, status=400)
    assert problem_fields(long) == {"reason"}
    # Only supervisors.
    for token in ("agent-a001", "telephony", "public"):
        await request(client, "POST", remove, token, {"reason": "duplicate"}, status=403)
    await request(client, "POST", "/api/supervisor/contacts/phone-x/remove", body={}, status=404)
    status = await request(client, "GET", f"{CALLS}/r1", "telephony")
    assert status["action"] == "queue"

    clock.set("2026-11-24 10:02")
    reason = f"duplicate of phone-r2 (caller {NUMBER})"
    record = await request(client, "POST", remove, body={"reason": reason})
    assert record["outcome"] == "cancelled" and record["state"] == "closed"
    assert record["removed_by"] == "supervisor"
    assert record["removal_reason"] == "duplicate of phone-r2 (caller +35840*****67)"
    assert changes(record) == ["arrived", "queued", "removed", "closed"]
    removed = first(record, "removed")
    assert removed["at"] == at("2026-11-24 10:02")
    assert (removed["by"], removed["reason"]) == ("supervisor", record["removal_reason"])
    assert NUMBER not in json.dumps(record)
    assert (await trail(client, "phone-r1")) == record
    # The telephony platform is told to hang up; the contact is gone from the queue.
    status = await request(client, "GET", f"{CALLS}/r1", "telephony")
    assert status == {"call_id": "r1", "action": "hangup", "outcome": "cancelled"}
    # Removing it again: it is no longer open.
    await request(client, "POST", remove, body={"reason": "again"}, status=404)

    # With an agent: 409, and it stays with the agent.
    await act(client, "a001", "login")
    await take(client, "a001", "phone-r2")
    busy = await request(
        client,
        "POST",
        "/api/supervisor/contacts/phone-r2/remove",
        body={"reason": "duplicate"},
        status=409,
    )
    assert "a001" in busy["error"]["message"]
    other = await trail(client, "phone-r2")
    assert other["state"] == "open" and "removed" not in changes(other)


async def test_a_supervisors_move_and_manual_offer_say_who_in_the_trail(served: Served) -> None:
    client, _, clock = served
    clock.set("2026-11-24 10:00")
    await act(client, "a005", "login", {"presence": "not_ready"})  # a nurse, not taking calls
    await call(client, "m1")
    contact = "/api/supervisor/contacts/phone-m1"
    clock.set("2026-11-24 10:01")
    await request(client, "POST", f"{contact}/move", body={"service": "oral_health"})
    # A move the engine refuses (to where it already is, then to nowhere) leaves no trace.
    await request(client, "POST", f"{contact}/move", body={"service": "oral_health"})
    await request(client, "POST", f"{contact}/move", body={"service": "astrology"}, status=400)
    clock.set("2026-11-24 10:02")
    await request(client, "POST", f"{contact}/move", body={"service": "nursing_advice"})
    await request(client, "POST", f"{contact}/offer", body={"agent_id": "a007"}, status=409)
    clock.set("2026-11-24 10:03")
    await request(client, "POST", f"{contact}/offer", body={"agent_id": "a005"})

    record = await trail(client, "phone-m1")
    moves = [
        (c["at"], c["from"], c["to"], c["by"]) for c in record["trail"] if c["change"] == "moved"
    ]
    assert moves == [
        (at("2026-11-24 10:01"), "nursing_advice", "oral_health", "supervisor"),
        (at("2026-11-24 10:02"), "oral_health", "nursing_advice", "supervisor"),
    ]
    offered = first(record, "offered")
    assert (offered["agent_id"], offered["rule"], offered["by"]) == (
        "a005",
        "supervisor",
        "supervisor",
    )
    assert offered["at"] == at("2026-11-24 10:03")

    # An offer the engine makes on its own names no supervisor, even when a move made
    # the contact routable: the move is the supervisor's, the choice of agent is not.
    await act(client, "a001", "login")
    await call(client, "m2")
    automatic = first(await trail(client, "phone-m2"), "offered")
    assert automatic["agent_id"] == "a001" and automatic["by"] is None
    await act(client, "a007", "login")  # dental, available
    await call(client, "m3")  # no free nurse: waits
    await request(
        client, "POST", "/api/supervisor/contacts/phone-m3/move", body={"service": "oral_health"}
    )
    record = await trail(client, "phone-m3")
    assert first(record, "moved")["by"] == "supervisor"
    routed = first(record, "offered")
    assert (routed["agent_id"], routed["rule"], routed["by"]) == ("a007", "longest_idle", None)


async def test_a_contact_moved_or_overflowing_to_a_service_without_its_class_takes_one_as_urgent(
    served: Served,
) -> None:
    client, service, clock = served
    clock.set("2026-11-24 10:00")
    # A psychiatric nurse logged in but not taking calls: the steps can be served, so a
    # mental-health call waits in them rather than overflowing at once.
    await act(client, "a011", "login", {"presence": "not_ready"})

    async def mental(call_id: str, urgency: str) -> str:
        ivr = {"service": "mental_health", "language": "fi", "urgency": urgency}
        body = {"call_id": call_id, "caller": NUMBER, "site": "vaasa", "ivr": ivr}
        assert (await request(client, "POST", CALLS, "telephony", body, 201))["action"] == "queue"
        return f"phone-{call_id}"

    # Moved by a supervisor: 'urgent' (30 min) has no namesake in nursing advice, whose
    # P2 (30 min) is the least urgent class at least as urgent.
    urgent = await mental("u1", "urgent")
    due = (await trail(client, urgent))["due_at"]
    view = await request(
        client,
        "POST",
        f"/api/supervisor/contacts/{urgent}/move",
        body={"service": "nursing_advice"},
    )
    assert view["urgency"] == "P2" and view["service"] == "nursing_advice", view
    record = await trail(client, urgent)
    assert (record["urgency"], record["urgency_final"]) == ("urgent", "P2")
    assert first(record, "moved")["urgency"] == "P2"
    assert record["due_at_final"] == due  # its place in the one order is kept
    # Overflowing after 2 + 20 minutes: 'normal' (4 h) becomes P5 (4 h), not the
    # default P4 and never a redirecting P0.
    normal = await mental("n1", "normal")
    clock.set("2026-11-24 10:23")
    await service.runtime.submit(TimerDue())  # the step timers due by now fire
    record = await trail(client, normal)
    assert (record["urgency"], record["urgency_final"]) == ("normal", "P5")
    assert first(record, "overflowed")["urgency"] == "P5"
    # A class the target has is kept, and the trail says nothing changed.
    await call(client, "k1")  # nursing advice, P4
    await request(
        client, "POST", "/api/supervisor/contacts/phone-k1/move", body={"service": "oral_health"}
    )
    record = await trail(client, "phone-k1")
    assert (record["urgency"], record["urgency_final"]) == ("P4", "normal")


async def test_a_caller_cancelling_is_not_taken_for_a_supervisors_removal(served: Served) -> None:
    client, service, _ = served
    await call(client, "w1")
    # A removal that the engine refused leaves its note behind: a later cancellation
    # with another reason is the caller's, not the supervisor's.
    await service.runtime.submit(audit.Removal("phone-w1", "supervisor", "duplicate"))
    await request(client, "POST", f"{CALLS}/w1/abandoned", "telephony", {})
    record = await trail(client, "phone-w1")
    assert record["outcome"] == "abandoned" and record["removed_by"] is None
    assert "removed" not in changes(record)
    # Two supervisors at once: the cancellation that went through is the one recorded.
    await call(client, "w2")
    await service.runtime.submit(audit.Removal("phone-w2", "alice", "duplicate"))
    await service.runtime.submit(audit.Removal("phone-w2", "bob", "test call"))
    await service.runtime.submit(ContactCancelled("phone-w2", "test call"))
    record = await trail(client, "phone-w2")
    assert (record["removed_by"], record["removal_reason"]) == ("bob", "test call")
    assert audit_for(service).pending == {}


# ------------------------------------------------------------------ reports


async def _a_known_day(client: Client, service: Service, clock: WallClock) -> None:
    """Tuesday 2026-11-24 (see the report test for what it makes)."""
    clock.set("2026-11-24 09:00")
    await call(client, "c1", urgency="P1")  # due 09:10
    clock.set("2026-11-24 09:01")
    await call(client, "c2")  # P4: due 11:01
    clock.set("2026-11-24 09:02")
    await call(client, "c3")
    clock.set("2026-11-24 09:03")
    await call(client, "c4", language="sv", urgency="P3")  # due 10:03
    clock.set("2026-11-24 09:04")
    assert (await call(client, "c5", urgency="P0"))["action"] == "redirect"
    clock.set("2026-11-24 09:05")
    await request(client, "POST", f"{CALLS}/c3/abandoned", "telephony", {})
    # Each agent that logs in is offered the earliest due contact it can serve.
    clock.set("2026-11-24 09:20")
    await act(client, "a002", "login")  # Finnish only
    await take(client, "a002", "phone-c1")  # waited 1200 s, late
    clock.set("2026-11-24 09:30")
    await act(client, "a001", "login")  # speaks Swedish
    await take(client, "a001", "phone-c4")  # waited 1620 s
    clock.set("2026-11-24 09:45")
    await act(client, "a003", "login")
    await take(client, "a003", "phone-c2")  # waited 2640 s
    clock.set("2026-11-24 09:50")
    cb6 = await callback(client)  # every agent has a call: it waits
    clock.set("2026-11-24 10:00")
    await complete(client, "a002", "phone-c1")
    await take(client, "a002", cb6)
    clock.set("2026-11-24 10:01")
    await attempt(client, "a002", cb6, "no_answer")
    clock.set("2026-11-24 10:16")
    await service.runtime.submit(TimerDue())
    await take(client, "a002", cb6)  # answered: waited 1560 s
    clock.set("2026-11-24 10:17")
    await attempt(client, "a002", cb6, "reached")
    clock.set("2026-11-24 10:20")
    await complete(client, "a002", cb6)
    cb7 = await callback(client, "+358402223333")
    await take(client, "a002", cb7)
    clock.set("2026-11-24 10:21")
    await attempt(client, "a002", cb7, "invalid_number")  # unreachable
    clock.set("2026-11-24 10:30")
    await complete(client, "a001", "phone-c4")
    await complete(client, "a003", "phone-c2")
    # The next day does not count.
    clock.set("2026-11-25 09:00")
    await call(client, "c8")


TUESDAY = {
    "contacts": 7,
    "answered": 4,
    "answered_within_target": 3,
    "answered_within_target_pct": 75.0,
    "same_day": 4,
    "same_day_pct": 66.7,  # of the 6 not redirected
    "wait_avg_s": 1755.0,  # (1200 + 1620 + 2640 + 1560) / 4
    "wait_p90_s": 2640.0,
    "abandoned": 1,
    "abandoned_pct": 16.7,  # of the 6 not redirected
    "callback_contacts": 2,
    "callback_attempts": 3,
    "callback_attempts_per_contact": 1.5,
    "unreachable": 1,
    "redirected": 1,
    "cancelled": 0,
    "merged": 0,
    "open": 0,
    "refused": 0,  # turned away after hours (not among the contacts)
    "answered_by_partner": 0,  # no partner agent (``partners:``) logged in
    # The survey after resolved nursing-advice calls and callbacks: the three resolved
    # calls share one number (asked once), the resolved callback has its own.
    "feedback_requests": 2,
    "feedback_answers": 0,
    "feedback_response_pct": 0.0,
    "nps": None,
}


async def test_the_daily_report_on_a_known_day(served: Served) -> None:
    client, service, clock = served
    await _a_known_day(client, service, clock)

    report = await request(client, "GET", f"{DAILY}?date=2026-11-24")
    assert report["date"] == "2026-11-24" and report["timezone"] == "Europe/Helsinki"
    assert report["total"] == TUESDAY
    assert "rows" not in report

    by_language = await request(client, "GET", f"{DAILY}?date=2026-11-24&by=language")
    rows = {row["language"]: row for row in by_language["rows"]}
    assert list(rows) == ["fi", "sv", "en"]
    assert rows["sv"]["contacts"] == 1 and rows["sv"]["answered_within_target_pct"] == 100.0
    assert rows["sv"]["wait_avg_s"] == 1620.0
    assert rows["fi"]["contacts"] == 6 and rows["fi"]["wait_p90_s"] == 2640.0
    assert rows["fi"]["answered_within_target"] == 2 and rows["fi"]["abandoned"] == 1
    assert rows["en"]["contacts"] == 0 and rows["en"]["wait_avg_s"] is None
    assert by_language["total"] == TUESDAY

    by_channel = await request(client, "GET", f"{DAILY}?date=2026-11-24&by=channel")
    channels = {row["channel"]: row for row in by_channel["rows"]}
    assert channels["voice"]["contacts"] == 5 and channels["voice"]["callback_contacts"] == 0
    assert channels["callback"]["contacts"] == 2
    assert channels["callback"]["callback_attempts_per_contact"] == 1.5
    assert channels["callback"]["unreachable"] == 1

    by_service = await request(client, "GET", f"{DAILY}?date=2026-11-24&by=service")
    services = {row["service"]: row for row in by_service["rows"]}
    assert services["nursing_advice"] == {"service": "nursing_advice", **TUESDAY}
    assert services["oral_health"]["contacts"] == 0
    by_site = await request(client, "GET", f"{DAILY}?date=2026-11-24&by=site")
    assert {row["site"]: row["contacts"] for row in by_site["rows"]}["vaasa"] == 7

    # CSV: a header, one line per group and the total.
    text = await request(client, "GET", f"{DAILY}?date=2026-11-24&by=language&format=csv")
    rows_csv = list(csv.DictReader(io.StringIO(text)))
    assert [(r["by"], r["group"]) for r in rows_csv] == [
        ("language", "fi"),
        ("language", "sv"),
        ("language", "en"),
        ("total", ""),
    ]
    assert rows_csv[-1]["wait_p90_s"] == "2640.0"
    assert rows_csv[-1]["answered_within_target_pct"] == "75.0"
    assert rows_csv[2]["wait_avg_s"] == ""

    # The next day holds only its own call, still open; the default day is today.
    wednesday = await request(client, "GET", DAILY)
    assert wednesday["date"] == "2026-11-25"
    assert wednesday["total"]["contacts"] == 1 and wednesday["total"]["open"] == 1
    assert wednesday["total"]["same_day_pct"] == 0.0


async def test_the_daily_charts_on_a_known_day(served: Served) -> None:
    client, service, clock = served
    await _a_known_day(client, service, clock)

    body = await request(client, "GET", f"{CHARTS}?date=2026-11-24&service=nursing_advice")
    assert (body["date"], body["service"]) == ("2026-11-24", "nursing_advice")
    # The four answered waited 1200, 1620, 1560 (the 20-30 min band) and 2640 s.
    histogram = {(b["from_s"], b["to_s"]): b["answered"] for b in body["wait_histogram"]}
    assert histogram == {
        (0, 60): 0,
        (60, 120): 0,
        (120, 300): 0,
        (300, 600): 0,
        (600, 1200): 0,
        (1200, 1800): 3,
        (1800, 3600): 1,
        (3600, 7200): 0,
        (7200, 14400): 0,
        (14400, None): 0,
    }
    hours = {row["hour"]: row for row in body["by_hour"]}
    assert list(hours) == list(range(24))
    # 09:00-09:59: c1..c5 and the callback at 09:50; c1 answered late (P1, due 09:10).
    assert hours[9] == {
        "hour": 9,
        "contacts": 6,
        "answered": 4,
        "answered_within_target": 3,
        "answered_within_target_pct": 75.0,
    }
    assert hours[10]["contacts"] == 1 and hours[10]["answered_within_target_pct"] is None
    assert sum(row["contacts"] for row in body["by_hour"]) == TUESDAY["contacts"]

    every = await request(client, "GET", f"{CHARTS}?date=2026-11-24")
    assert every["service"] is None and every["by_hour"] == body["by_hour"]
    dental = await request(client, "GET", f"{CHARTS}?date=2026-11-24&service=oral_health")
    assert sum(b["answered"] for b in dental["wait_histogram"]) == 0
    today = await request(client, "GET", CHARTS)  # the default day is today
    assert today["date"] == "2026-11-25" and today["by_hour"][9]["contacts"] == 1

    bad = await request(client, "GET", f"{CHARTS}?date=2026-13-01&service=nope", status=400)
    assert problem_fields(bad) == {"date", "service"}


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("?date=2026-02-30", {"date"}),
        ("?date=tomorrow", {"date"}),
        ("?by=agent", {"by"}),
        ("?format=xlsx", {"format"}),
    ],
)
async def test_a_report_with_a_bad_query_is_a_clear_400(
    served: Served, query: str, fields: set[str]
) -> None:
    client, _, _ = served
    body = await request(client, "GET", f"{DAILY}{query}", status=400)
    assert problem_fields(body) == fields


# ------------------------------------------------------------------ roles


@pytest.mark.parametrize("token", ["agent-a001", "telephony", "website", "omaolo", "public"])
async def test_only_supervisors_read_the_audit_and_reports(served: Served, token: str) -> None:
    client, _, _ = served
    await call(client, "s1")
    for path in (
        f"{AUDIT}/contacts/phone-s1",
        f"{AUDIT}/export?from=2026-11-24",
        f"{DAILY}?date=2026-11-24",
        f"{CHARTS}?date=2026-11-24",
    ):
        body = await request(client, "GET", path, token, status=403)
        assert body["error"]["code"] == "forbidden"
        r = await client.get(path)
        assert r.status == 401


# ------------------------------------------------------------------ memory


def _apply(service: Service, now: float, event: Event) -> None:
    """What the dispatch loop does with one event, without the loop."""
    decisions = service.engine.apply(now, event)
    for on_applied in service.runtime.applied_listeners:
        on_applied(event, now)
    for decision in decisions:
        for listener in service.runtime.listeners:
            listener(decision, now)


def _arrival(contact_id: str) -> ContactArrived:
    return ContactArrived(
        ContactSpec(
            contact_id,
            Channel.VOICE,
            "nursing_advice",
            language="fi",
            attributes={"caller": NUMBER},
        )
    )


async def test_the_size_bound_never_drops_an_open_contacts_record(
    aiohttp_client: MakeClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("YHTEYS_AUDIT_MAX_CONTACTS", "5")
    clock = WallClock(at("2026-11-24 09:00"))
    service = Service(region(), Settings(heartbeat_timeout_s=NEVER_SILENT_S), clock=clock)
    client = await aiohttp_client(build(service))
    for i in range(10):  # nobody logged in: all ten wait
        assert (await call(client, f"o{i}"))["action"] == "queue"
    for i in range(10):
        record = await trail(client, f"phone-o{i}")
        assert record["state"] == "open", record
    assert "audit bound of 5 contacts cannot be met" in caplog.text
    scraped = await (await client.get("/metrics")).text()
    assert "yhteys_audit_records 10.0" in scraped and "yhteys_audit_bound 5.0" in scraped
    # Closed records are what the bound drops, oldest first, and are counted.
    for i in (7, 3):
        await request(client, "POST", f"{CALLS}/o{i}/abandoned", "telephony", {})
    assert (await call(client, "o10"))["action"] == "queue"
    await request(client, "GET", f"{AUDIT}/contacts/phone-o7", status=404)
    await request(client, "GET", f"{AUDIT}/contacts/phone-o3", status=404)
    for i in (0, 1, 2, 4, 5, 6, 8, 9, 10):
        assert (await trail(client, f"phone-o{i}"))["state"] == "open"
    scraped = await (await client.get("/metrics")).text()
    assert "yhteys_audit_records 9.0" in scraped
    assert "yhteys_audit_dropped_early_total 2.0" in scraped


def test_records_are_kept_for_the_retention_and_within_the_bound() -> None:
    service = Service(region(), Settings())
    kept = audit_for(service, AuditSettings(retention_days=2, max_contacts=3))
    start = at("2026-11-20 12:00")
    _apply(service, start, _arrival("a"))
    _apply(service, start + 60, _arrival("b"))
    _apply(service, start + 86_400, _arrival("c"))
    assert list(kept.live) == ["a", "b", "c"]
    # Over the bound, but every record is an open contact's: none is dropped.
    _apply(service, start + 86_400 + 60, _arrival("d"))
    assert list(kept.live) == ["a", "b", "c", "d"] and kept.evicted == 0
    _apply(service, start + 86_400 + 90, ContactAbandoned("b"))
    _apply(service, start + 86_400 + 95, ContactAbandoned("c"))
    # Over the bound again: the closed records go, oldest first (b, c); open a stays.
    _apply(service, start + 86_400 + 120, _arrival("e"))
    assert list(kept.live) == ["a", "d", "e"] and kept.evicted == 2
    _apply(service, start + 86_400 + 130, ContactAbandoned("a"))
    _apply(service, start + 3 * 86_400, _arrival("f"))  # a, c, d past their 2 days
    assert list(kept.live) == ["d", "e", "f"]
    assert kept.get("a") is None and kept.get("b") is None and kept.get("c") is None
    assert kept.by_day == {"2026-11-21": {"d": None, "e": None}, "2026-11-23": {"f": None}}
    assert kept.retained_from() == "2026-11-21"


def test_closed_records_are_sealed_and_still_read_reopened_and_dropped_in_time() -> None:
    service = Service(region(), Settings())
    kept = audit_for(service, AuditSettings(retention_days=2, seal_every=2))
    start = at("2026-11-20 12:00")
    for i, cid in enumerate(("a", "b", "c")):
        _apply(service, start + i, _arrival(cid))
    _apply(service, start + 10, ContactAbandoned("a"))
    _apply(service, start + 11, ContactAbandoned("b"))
    assert list(kept.live) == ["c"] and kept.sealed == {"a": 1, "b": 1}
    assert kept.count == 3 and kept.closed == []
    _apply(service, start + 12, ContactAbandoned("c"))  # not sealed yet: one of two
    sealed = kept.get("a")
    assert sealed is not None and sealed.outcome == "abandoned"
    assert changes(kept.contact_json(sealed)) == ["arrived", "queued", "closed"]
    assert [r.id for r in kept.day(datetime(2026, 11, 20).date())] == ["a", "b", "c"]
    # The same id again: its record goes on, live.
    _apply(service, start + 20, _arrival("a"))
    assert "a" in kept.live and "a" not in kept.sealed and ("a", 1) in kept.superseded
    reopened = kept.get("a")
    assert reopened is not None and reopened.open
    assert changes(kept.contact_json(reopened)) == [
        *("arrived", "queued", "closed"),
        *("arrived", "queued"),
    ]
    # A snapshot carries sealed segments as they are.
    blob = encode(kept.capture())
    copy = audit_for(Service(region(), Settings()), AuditSettings(seal_every=2))
    copy.restore(decode(blob))
    assert copy.capture() == kept.capture()
    assert copy.sealed == {"b": 1} and list(copy.live) == ["c", "a"]
    # Past the retention the segment goes (b), and the closed live records that old (c);
    # an open contact keeps its record (a).
    _apply(service, start + 2 * 86_400 + 30, _arrival("d"))
    assert kept.segments == {} and kept.sealed == {} and kept.superseded == set()
    assert list(kept.live) == ["a", "d"]
    assert kept.get("b") is None and kept.evicted == 0


def test_the_audit_travels_in_a_snapshot_and_two_replicas_record_the_same() -> None:
    one, two = Service(region(), Settings()), Service(region(), Settings())
    audits = [audit_for(one), audit_for(two)]
    start = at("2026-11-24 09:00")
    for service in (one, two):
        for i in range(3):
            _apply(service, start + i, _arrival(f"phone-{i}"))
        _apply(service, start + 3600, TimerDue())
    data = [a.capture() for a in audits]
    assert encode(data[0]) == encode(data[1])
    fresh = Service(region(), Settings())
    restored = audit_for(fresh)
    restored.restore(decode(encode(data[0])))
    assert restored.capture() == data[0]
    record, original = restored.get("phone-1"), audits[0].get("phone-1")
    assert record is not None and original is not None
    assert restored.contact_json(record) == audits[0].contact_json(original)
    assert changes(restored.contact_json(record))[:2] == ["arrived", "queued"]


# ------------------------------------------------------------------ Redis mode

FAST = ReplicaSettings(
    lease_ttl_s=0.6, renew_every_s=0.1, acquire_every_s=0.05, read_block_ms=100, retry_s=0.05
)


async def test_in_redis_mode_every_instance_keeps_the_same_audit(
    aiohttp_client: MakeClient,
) -> None:
    shared = MemoryStore()
    services: list[Service] = []
    clients: list[Client] = []
    for _ in range(2):
        service = Service(region(), Settings(), store=shared, replica=FAST)
        clients.append(await aiohttp_client(build(service)))
        services.append(service)
        await until(lambda s=service: s.runtime.healthy, timeout=5)  # type: ignore[misc]
    a, b = clients
    await call(a, "m1")
    # The removal is asked of the other instance: who and why travel through the log.
    record = await request(
        b, "POST", "/api/supervisor/contacts/phone-m1/remove", body={"reason": "duplicate"}
    )
    assert record["removed_by"] == "supervisor"

    def closed_everywhere() -> bool:
        records = [audit_for(s).get("phone-m1") for s in services]
        return all(r is not None and not r.open for r in records)

    await until(closed_everywhere, timeout=5)
    assert (await trail(a, "phone-m1")) == record
    assert audit_for(services[0]).capture() == audit_for(services[1]).capture()
    # A snapshot carries it to an instance that starts later.
    leader = next(s for s in services if s.runtime.is_leader)
    assert isinstance(leader.runtime, ReplicatedRuntime)
    assert await leader.runtime.snapshot()
    late = Service(region(), Settings(), store=shared, replica=FAST)
    c = await aiohttp_client(build(late))
    await until(lambda: audit_for(late).get("phone-m1") is not None, timeout=5)
    assert (await trail(c, "phone-m1")) == record


async def test_a_callback_attempt_that_hands_the_callback_back_changes_the_agents_version(
    served: Served,
) -> None:
    """The console reloads its agents table when its version changes: a missed callback
    attempt frees the agent (its contacts and status change) with no other decision."""
    client, _, _ = served
    await act(client, "a002", "login")
    cb = await callback(client)
    await take(client, "a002", cb)
    stats = "/api/supervisor/stats"
    before = (await request(client, "GET", stats))["versions"]
    await attempt(client, "a002", cb, "no_answer")
    after = (await request(client, "GET", stats))["versions"]
    assert after["agents"] != before["agents"]


async def test_closed_by_names_only_an_agent_who_had_the_contact_in_hand(served: Served) -> None:
    """A caller who hangs up, or a supervisor who removes a contact, while it is only
    offered to an agent: the agent never took it, so it did not close it."""
    client, _, clock = served
    clock.set("2026-11-24 10:00")
    await act(client, "a002", "login")
    await call(client, "h1")  # offered to a002
    await request(client, "POST", f"{CALLS}/h1/abandoned", "telephony", {})
    hung_up = await trail(client, "phone-h1")
    assert (hung_up["outcome"], hung_up["closed_by"], hung_up["answered_by"]) == (
        "abandoned",
        None,
        None,
    )
    assert hung_up["trail"][-1]["change"] == "closed"
    assert hung_up["trail"][-1]["agent_id"] is None
    await call(client, "h2")  # offered to a002
    removal = {"reason": "duplicate"}
    await request(client, "POST", "/api/supervisor/contacts/phone-h2/remove", body=removal)
    removed = await trail(client, "phone-h2")
    assert (removed["closed_by"], removed["removed_by"]) == (None, "supervisor")
    await call(client, "h3")
    await take(client, "a002", "phone-h3")
    await complete(client, "a002", "phone-h3")
    done = await trail(client, "phone-h3")
    assert (done["closed_by"], done["answered_by"]) == ("a002", "a002")
