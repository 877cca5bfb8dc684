"""A contact's ``original_urgency`` is the class it arrived in, through a supervisor's move
and an overflow into a service with other classes (the audit keeps the same), over real
loopback HTTP on the sample region."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from tests.service_support import bearer, login, served_at

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


async def test_a_callback_moved_to_appointments_still_shows_the_class_it_arrived_in(
    aiohttp_client: MakeClient,
) -> None:
    client, _, _ = await served_at(aiohttp_client, "2026-11-24 10:00")
    r = await client.post(
        "/api/channels/callbacks",
        json={"number": "+358401112222", "service": "nursing_advice", "urgency": "P4"},
        headers=bearer("telephony"),
    )
    assert r.status == 201, await r.text()
    cid = (await r.json())["contact_id"]
    sup = bearer("supervisor")
    r = await client.post(
        f"/api/supervisor/contacts/{cid}/move", json={"service": "appointments"}, headers=sup
    )
    assert r.status == 200, await r.text()
    moved = await r.json()
    assert (moved["service"], moved["urgency"], moved["original_urgency"]) == (
        "appointments",
        "normal",
        "P4",
    )
    page = await (await client.get("/api/supervisor/contacts", headers=sup)).json()
    (listed,) = [c for c in page["contacts"] if c["id"] == cid]
    assert (listed["urgency"], listed["original_urgency"]) == ("normal", "P4")
    # Moved back, its class is mapped again (normal, four hours, is P5 there); the class
    # it arrived in stays P4 through both moves.
    r = await client.post(
        f"/api/supervisor/contacts/{cid}/move", json={"service": "nursing_advice"}, headers=sup
    )
    back = await r.json()
    assert (back["urgency"], back["original_urgency"]) == ("P5", "P4")
    r = await client.get(f"/api/supervisor/audit/contacts/{cid}", headers=sup)
    assert (await r.json())["urgency"] == "P4"


async def test_an_overflowed_call_shows_the_class_it_arrived_in(
    aiohttp_client: MakeClient,
) -> None:
    client, _, _ = await served_at(aiohttp_client, "2026-11-24 10:00")
    await login(client, "a021")  # mental health, chats only: the call overflows at once
    body = {
        "call_id": "mh1",
        "caller": "+358401000601",
        "site": "vaasa",
        "ivr": {"service": "mental_health", "language": "fi", "urgency": "urgent"},
    }
    r = await client.post("/api/channels/phone/calls", json=body, headers=bearer("telephony"))
    assert (await r.json())["action"] == "queue"
    sup = bearer("supervisor")
    page = await (await client.get("/api/supervisor/contacts", headers=sup)).json()
    (listed,) = [c for c in page["contacts"] if c["id"] == "phone-mh1"]
    assert listed["service"] == "nursing_advice"
    assert (listed["urgency"], listed["original_urgency"]) == ("P2", "urgent")
