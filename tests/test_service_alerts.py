"""Deadline alerts are state, not only events: ``GET /api/supervisor/alerts`` names the
alerts still standing, so a console opened after the websocket pushed them still shows
them; an answered or closed contact's go away; every instance in Redis mode answers the
same. Real HTTP and websockets on a settable clock (``served_at``), and two instances on
one store (memory shared in process, and a real Redis) on the wall clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.core.events import TimerDue
from router.service.service import Settings
from tests.service_support import Socket, bearer, login, served_at
from tests.test_replica_service import two_instances

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
SUP = bearer("supervisor")
ALERTS = "/api/supervisor/alerts"
START = "2026-11-24 10:00"  # a Tuesday, the office open


async def standing(client: Client) -> list[tuple[str, str]]:
    r = await client.get(ALERTS, headers=SUP)
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["total"] == len(body["alerts"])
    return [(a["kind"], a["contact_id"]) for a in body["alerts"]]


async def urgent_callback(client: Client, number: str = "+358401112222") -> str:
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": number, "service": "social_services", "urgency": "urgent"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    cid: str = (await r.json())["contact_id"]
    return cid


async def short_target(client: Client) -> None:
    """Urgent social services due in 60 s, warned 12 s before (warn_fraction 0.2)."""
    r = await client.patch(
        "/api/supervisor/services/social_services",
        json={"urgencies": {"urgent": {"target_s": 60}}},
        headers=SUP,
    )
    assert r.status == 200, await r.text()


async def test_a_console_opened_after_the_alerts_were_pushed_still_reads_them(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, START)
    await short_target(client)
    cid = await urgent_callback(client)  # nobody with social work logged in: it waits
    due = service.engine.contact(cid).due_at
    first = Socket(await client.ws_connect("/api/supervisor/ws?access_token=demo-supervisor"))
    await first.next("stats")
    assert await standing(client) == []

    clock.t = due - 10  # inside the warning window
    await service.runtime.submit(TimerDue())
    assert (await first.next("alert"))["kind"] == "escalation_warning"
    assert await standing(client) == [("escalation_warning", cid)]

    clock.t = due + 120  # two minutes past due
    await service.runtime.submit(TimerDue())
    assert (await first.next("alert"))["kind"] == "deadline_missed"

    # A console opened now is pushed nothing (the alerts were events) ...
    later = Socket(await client.ws_connect("/api/supervisor/ws?access_token=demo-supervisor"))
    await later.next("stats")
    assert not [m for m in await later.quiet(0.2) if m["type"] == "alert"]
    # ... but reads both standing, the newest first, in the pushed alerts' keys.
    body = await (await client.get(ALERTS, headers=SUP)).json()
    assert [(a["kind"], a["contact_id"]) for a in body["alerts"]] == [
        ("deadline_missed", cid),
        ("escalation_warning", cid),
    ]
    missed = body["alerts"][0]
    assert (missed["service"], missed["urgency"], missed["due_at"]) == (
        "social_services",
        "urgent",
        due,
    )
    assert missed["since"] == due and body["alerts"][1]["since"] == due - 12
    assert body["at"] == clock.t

    # Removed by the supervisor: it no longer stands.
    r = await client.post(
        f"/api/supervisor/contacts/{cid}/remove", json={"reason": "dup"}, headers=SUP
    )
    assert r.status == 200, await r.text()
    assert await standing(client) == []
    await first.close()
    await later.close()


async def test_an_answered_contact_s_alerts_go_away_and_a_new_target_lifts_them(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, START)
    await short_target(client)
    one = await urgent_callback(client, "+358401112222")
    two = await urgent_callback(client, "+358401113333")
    clock.t = service.engine.contact(two).due_at + 1
    await service.runtime.submit(TimerDue())
    assert {c for _, c in await standing(client)} == {one, two}

    # Offered is not yet answered: still standing. Accepted: gone.
    agent = await login(client, "a014")  # social_work=4, the Vaasa social team
    offer = (await agent.next("offer"))["contact"]["id"]
    assert {c for _, c in await standing(client)} == {one, two}
    await agent.send({"type": "accept", "contact_id": offer})
    await agent.next("assigned")
    other = two if offer == one else one
    assert {c for _, c in await standing(client)} == {other}

    # A supervisor gives urgent contacts an hour again: the other is no longer late.
    r = await client.patch(
        "/api/supervisor/services/social_services",
        json={"urgencies": {"urgent": {"target_s": 3600}}},
        headers=SUP,
    )
    assert r.status == 200
    assert await standing(client) == []
    await agent.close()


async def test_only_a_supervisor_reads_the_alerts_and_the_limit_is_checked(
    aiohttp_client: MakeClient,
) -> None:
    client, service, clock = await served_at(aiohttp_client, START)
    assert (await client.get(ALERTS)).status == 401
    assert (await client.get(ALERTS, headers=bearer("agent-a001"))).status == 403
    r = await client.get(f"{ALERTS}?limit=0", headers=SUP)
    assert r.status == 400
    assert [p["field"] for p in (await r.json())["error"]["problems"]] == ["limit"]
    await short_target(client)
    for n in range(3):
        await urgent_callback(client, f"+35840111222{n}")
    clock.t += 3600
    await service.runtime.submit(TimerDue())
    body = await (await client.get(f"{ALERTS}?limit=2", headers=SUP)).json()
    assert (body["total"], len(body["alerts"])) == (6, 2)  # a warning and a miss each
    assert {a["kind"] for a in body["alerts"]} == {"deadline_missed"}  # the newest


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client]]:
    async with two_instances(request, aiohttp_client, Settings()) as clients:
        yield clients


async def test_every_instance_in_redis_mode_reads_the_same_standing_alerts(
    pair: tuple[Client, Client],
) -> None:
    a, b = pair
    r = await a.patch(
        "/api/supervisor/services/social_services",
        json={"urgencies": {"urgent": {"target_s": 0.5}}},
        headers=SUP,
    )
    assert r.status == 200
    cid = await urgent_callback(b)

    async def missed_on(client: Client) -> None:
        while ("deadline_missed", cid) not in await standing(client):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(asyncio.gather(missed_on(a), missed_on(b)), 5)
    body_a = await (await a.get(ALERTS, headers=SUP)).json()
    body_b = await (await b.get(ALERTS, headers=SUP)).json()
    assert [{**x, "at": 0} for x in body_a["alerts"]] == [{**x, "at": 0} for x in body_b["alerts"]]
    assert [x["kind"] for x in body_a["alerts"]] == ["deadline_missed", "escalation_warning"]

    # Removed through one instance: gone on both.
    r = await a.post(f"/api/supervisor/contacts/{cid}/remove", json={"reason": "dup"}, headers=SUP)
    assert r.status == 200, await r.text()

    async def gone_on(client: Client) -> None:
        while await standing(client):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(asyncio.gather(gone_on(a), gone_on(b)), 5)
