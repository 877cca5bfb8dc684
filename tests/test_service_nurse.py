"""What a nurse (and the systems around her) can express: the person's own nurse and team
on every channel, re-classification by the professional handling a contact, and the name
a chat customer is told. Over real loopback HTTP, on a settable clock."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.config.region import Region
from router.core.events import TimerDue
from router.core.model import Step, StepKind
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


def call(call_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": "+358401234567",
        "ivr": {"service": "nursing_advice", "language": "fi"},
        **extra,
    }


CALLBACK: dict[str, Any] = {
    "number": "+358401234567",
    "service": "nursing_advice",
    "language": "fi",
}
WEB: dict[str, Any] = {
    "service": "nursing_advice",
    "language": "fi",
    "message": "Could my own nurse call me?",
    "contact_preference": {"method": "phone", "value": "+358401234567"},
}
ITEM: dict[str, Any] = {
    "source": "omaolo",
    "item_id": "OA-1",
    "service": "symptom_assessment",
    "topic": "respiratory",
    "urgency": "P5",
    "link": "https://omaolo.example/items/OA-1",
}


def own_first() -> Region:
    """The sample region with nursing advice going to the caller's own nurse for a
    minute, then the own team for a minute, then the whole region."""
    base = region()
    svc = base.services["nursing_advice"]
    steps = (Step(StepKind.OWN_AGENT, 60), Step(StepKind.OWN_TEAM, 60), Step(StepKind.REGION))
    return replace(base, services={**base.services, svc.name: replace(svc, steps=steps)})


async def tick(service: Service, clock: WallClock, seconds: float) -> None:
    """Virtual time passes: timers due by then fire."""
    clock.t += seconds
    await service.runtime.submit(TimerDue())


async def instruction(client: Client, call_id: str) -> dict[str, Any]:
    r = await client.get(f"{CALLS}/{call_id}", headers=bearer("telephony"))
    assert r.status == 200
    body: dict[str, Any] = await r.json()
    return body


# ---------------------------------------------------------------- own nurse, own team


async def test_a_call_for_an_own_nurse_goes_to_that_nurse_though_another_is_free_longer(
    aiohttp_client: MakeClient,
) -> None:
    service = Service(own_first(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    await login(client, "a002")  # free first: the longest idle
    await login(client, "a003")
    r = await client.post(CALLS, json=call("o1", own_agent="a003"), headers=bearer("telephony"))
    assert r.status == 201
    answer = await r.json()
    assert (answer["action"], answer["agent_id"]) == ("connect", "a003")


async def test_an_own_nurse_call_waits_for_that_nurse_then_widens_to_the_team_and_region(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00", own_first())
    tel = bearer("telephony")
    # a009 (neuvola team, nursing 2) is free longest, a002 is in a003's team, and a003,
    # the caller's own nurse, is logged in but not ready.
    await login(client, "a009")
    await login(client, "a002")
    await login(client, "a003", presence="not_ready")
    r = await client.post(CALLS, json=call("w1", own_agent="a003"), headers=tel)
    assert (await r.json())["action"] == "queue"  # two nurses free, yet it waits for its own
    await tick(service, clock, 60)  # the own-agent step is over: a003's team
    now = await instruction(client, "w1")
    assert (now["action"], now["agent_id"]) == ("connect", "a002")
    r = await client.post(f"{CALLS}/w1/answered", json={"agent_id": "a002"}, headers=tel)
    assert (await r.json())["action"] == "connected"
    # The next one: own nurse not ready, team-mate busy: it waits the team's minute, then
    # the region's nurse has it.
    r = await client.post(CALLS, json=call("w2", own_agent="a003"), headers=tel)
    assert (await r.json())["action"] == "queue"
    await tick(service, clock, 60)
    assert (await instruction(client, "w2"))["action"] == "queue"
    await tick(service, clock, 60)
    now = await instruction(client, "w2")
    assert (now["action"], now["agent_id"]) == ("connect", "a009")


async def test_an_own_team_from_a_callback_request_is_served_by_the_team_first(
    aiohttp_client: MakeClient,
) -> None:
    service = Service(own_first(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    other = await login(client, "a009")  # not in vaasa-nurses, free longest
    mate = await login(client, "a004")  # in vaasa-nurses
    body = {**CALLBACK, "own_team": "vaasa-nurses"}
    r = await client.post("/api/channels/callbacks", json=body, headers=bearer("telephony"))
    assert r.status == 201, await r.text()
    offer = await mate.next("offer")
    assert offer["contact"]["id"] == (await r.json())["contact_id"]
    assert [m for m in await other.quiet() if m["type"] == "offer"] == []


CHANNELS = [
    ("phone", CALLS, call("v1"), "telephony"),
    ("callback", "/api/channels/callbacks", CALLBACK, "telephony"),
    ("web", "/api/channels/web/requests", WEB, "website"),
    ("workitem", "/api/channels/workitems", ITEM, "omaolo"),
]


@pytest.mark.parametrize(("name", "path", "body", "token"), CHANNELS, ids=[c[0] for c in CHANNELS])
async def test_every_channel_checks_the_own_nurse_and_team_against_the_roster(
    aiohttp_client: MakeClient, name: str, path: str, body: dict[str, Any], token: str
) -> None:
    service = Service(own_first(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    bad = {**body, "own_agent": "a999", "own_team": "nowhere"}
    r = await client.post(path, json=bad, headers=bearer(token))
    assert r.status == 400, await r.text()
    problems = {p["field"]: p["reason"] for p in (await r.json())["error"]["problems"]}
    assert set(problems) == {"own_agent", "own_team"}
    assert "unknown agent 'a999'" in problems["own_agent"]
    assert "unknown team 'nowhere'" in problems["own_team"]
    assert list(service.engine.contacts()) == []  # nothing queued
    # Known ones are accepted, and the contact carries them.
    good = {**body, "own_agent": "a003", "own_team": "vaasa-nurses"}
    r = await client.post(path, json=good, headers=bearer(token))
    assert r.status == 201, await r.text()
    (view,) = service.engine.contacts()
    assert (view.spec.preferred_agent, view.spec.preferred_team) == ("a003", "vaasa-nurses")


# ---------------------------------------------------------------- re-classification


async def reclassify(client: Client, agent: str, contact_id: str, urgency: str) -> Any:
    return await client.post(
        f"/api/agent/contacts/{contact_id}/urgency",
        json={"urgency": urgency},
        headers=bearer(f"agent-{agent}"),
    )


async def test_the_nurse_handling_a_call_reclassifies_it_and_both_classes_are_kept(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, "2026-11-24 10:00")
    tel = bearer("telephony")
    await login(client, "a001")
    body = call("r1", ivr={"service": "nursing_advice", "language": "fi", "urgency": "P4"})
    r = await client.post(CALLS, json=body, headers=tel)
    assert (await r.json())["agent_id"] == "a001"
    await client.post(f"{CALLS}/r1/answered", json={"agent_id": "a001"}, headers=tel)
    r = await client.post(CALLS, json=call("r2"), headers=tel)
    assert (await r.json())["action"] == "queue"
    clock.set("2026-11-24 10:05")
    # Only the professional handling it: another agent, or a contact nobody has, is 409.
    r = await reclassify(client, "a002", "phone-r1", "P2")
    text = await r.text()
    assert r.status == 409 and "not offered or assigned to you" in text and "a001" not in text
    r = await reclassify(client, "a001", "phone-r2", "P2")
    assert r.status == 409, await r.text()
    r = await reclassify(client, "a001", "phone-r1", "P9")
    assert r.status == 400
    problems = (await r.json())["error"]["problems"]
    assert [p["field"] for p in problems] == ["urgency"] and "P1" in problems[0]["reason"]
    # A class that redirects (P0: 112) is refused by the engine; the problem names the field.
    r = await reclassify(client, "a001", "phone-r1", "P0")
    assert r.status == 400
    problems = (await r.json())["error"]["problems"]
    assert [p["field"] for p in problems] == ["urgency"] and "112" in problems[0]["reason"]
    assert service.engine.contact("phone-r1").urgency == "P4"
    # P4 -> P2: due 30 minutes after the original arrival, not after the change.
    r = await reclassify(client, "a001", "phone-r1", "P2")
    assert r.status == 200, await r.text()
    contact = (await r.json())["contact"]
    assert (contact["urgency"], contact["original_urgency"]) == ("P2", "P4")
    assert contact["arrived_at"] == at("2026-11-24 10:00")
    assert contact["due_at"] == at("2026-11-24 10:30")
    state = await (await client.get("/api/agent/state", headers=bearer("agent-a001"))).json()
    (shown,) = state["contacts"]
    assert (shown["urgency"], shown["original_urgency"]) == ("P2", "P4")
    # The audit keeps both classes and who changed it, when.
    r = await client.get("/api/supervisor/audit/contacts/phone-r1", headers=bearer("supervisor"))
    record = await r.json()
    assert (record["urgency"], record["urgency_final"]) == ("P4", "P2")
    assert record["due_at_final"] == at("2026-11-24 10:30")
    (change,) = [c for c in record["trail"] if c["change"] == "reclassified"]
    assert change["agent_id"] == "a001" and change["at"] == at("2026-11-24 10:05")
    assert (change["from"], change["to"], change["due_at"]) == ("P4", "P2", at("2026-11-24 10:30"))


async def test_a_reclassified_due_time_follows_the_same_day_rule_of_the_service(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(
        aiohttp_client, "2026-11-24 15:30", sample_region()
    )  # Tuesday; the dental line closes at 16:00
    tel = bearer("telephony")
    await login(client, "a007")
    body = call("d1", ivr={"service": "oral_health", "language": "fi"})
    assert (await (await client.post(CALLS, json=body, headers=tel)).json())["action"] == "connect"
    await client.post(f"{CALLS}/d1/answered", json={"agent_id": "a007"}, headers=tel)
    assert service.engine.contact("phone-d1").due_at == at("2026-11-24 16:00")  # normal, capped
    clock.set("2026-11-24 15:35")
    r = await reclassify(client, "a007", "phone-d1", "urgent")
    contact = (await r.json())["contact"]
    assert (contact["urgency"], contact["original_urgency"]) == ("urgent", "normal")
    assert contact["due_at"] == at("2026-11-24 15:45")  # 15:30 + 15 minutes


async def test_a_work_item_posted_again_with_another_class_says_its_class_was_not_changed(
    aiohttp_client: MakeClient,
) -> None:
    service = Service(region(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    path, omaolo = "/api/channels/workitems", bearer("omaolo")
    r = await client.post(path, json=ITEM, headers=omaolo)
    assert r.status == 201 and (await r.json())["urgency"] == "P5"
    r = await client.post(path, json={**ITEM, "urgency": "P2"}, headers=omaolo)
    assert r.status == 200
    answer = await r.json()
    assert answer["urgency"] == "P5"
    note = answer["urgency_unchanged"]
    assert (note["posted"], note["kept"]) == ("P2", "P5")
    assert "only the professional handling it may re-classify it" in note["reason"]
    assert service.engine.contact("wi-omaolo-OA-1").urgency == "P5"
    r = await client.post(path, json=ITEM, headers=omaolo)  # the same class: no note
    assert "urgency_unchanged" not in await r.json()
    # Once the nurse re-classifies it, the item's status shows both classes.
    await login(client, "a001")
    await client.post("/api/agent/offers/wi-omaolo-OA-1/accept", headers=bearer("agent-a001"))
    assert (await reclassify(client, "a001", "wi-omaolo-OA-1", "P3")).status == 200
    status = await (await client.get(f"{path}/omaolo/OA-1", headers=omaolo)).json()
    assert (status["urgency"], status["original_urgency"]) == ("P3", "P5")
    r = await client.post(path, json={**ITEM, "urgency": "P5"}, headers=omaolo)
    assert (await r.json())["urgency_unchanged"]["kept"] == "P3"


# ---------------------------------------------------------------- the name a customer sees


@pytest.mark.parametrize(
    ("display_name", "told"), [(None, "Johanna"), ("Jossu", "Jossu")], ids=["default", "alias"]
)
async def test_a_chat_customer_is_told_the_agents_display_name_not_the_full_name(
    aiohttp_client: MakeClient, display_name: str | None, told: str
) -> None:
    base = region()
    if display_name is not None:
        a004 = replace(base.agents["a004"], display_name=display_name)
        base = replace(base, agents={**base.agents, "a004": a004})
    service = Service(base, Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    cust = await customer(client)
    await cust.send({"type": "start", "service": "nursing_advice", "language": "sv"})
    cid = (await cust.next("session"))["contact_id"]
    agent = await login(client, "a004")  # Johanna Björklund
    await agent.next("offer")
    await agent.send({"type": "accept", "contact_id": cid})
    assert await cust.next("joined") == {"type": "joined", "agent_name": told}
