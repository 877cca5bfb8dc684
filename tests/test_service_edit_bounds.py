"""A supervisor's live edit is held to the region file's bounds over real HTTP: a
duration past a year and a day, or a capacity past a thousand, is refused with a 400
naming the field, and nothing changes (an offer that never expires once emptied the
day's audit export)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient

from router.app import build_app
from tests.service_support import bearer, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


async def test_a_service_edit_past_a_year_is_refused_and_changes_nothing(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    before = service.engine.service("nursing_advice")
    for body, field in (
        ({"offer_timeout_s": 1e308}, "offer_timeout_s"),
        ({"wrapup_s": 31_622_401}, "wrapup_s"),
        ({"callback": {"retry_s": 1e300}}, "callback.retry_s"),
        ({"urgencies": {"P3": {"target_s": 1e15}}}, "urgencies.P3.target_s"),
    ):
        r = await client.patch(
            "/api/supervisor/services/nursing_advice", json=body, headers=bearer("supervisor")
        )
        assert r.status == 400, (body, await r.text())
        problems = (await r.json())["error"]["problems"]
        assert any(
            p["field"].endswith(field) and "at most 31,622,400" in p["reason"] for p in problems
        ), problems
    assert service.engine.service("nursing_advice") == before
    r = await client.patch(
        "/api/supervisor/services/nursing_advice",
        json={"offer_timeout_s": 31_622_400},
        headers=bearer("supervisor"),
    )
    assert r.status == 200, await r.text()
    assert service.engine.service("nursing_advice").offer_timeout_s == 31_622_400


async def test_an_agent_edit_past_a_thousand_contacts_is_refused(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.get("/api/supervisor/agents/a008", headers=bearer("supervisor"))
    assert r.status == 200
    entry = await r.json()
    before = service.engine.agent("a008").spec.capacity
    entry["capacity"] = {**entry["capacity"], "chat": 99999999999999999999}
    r = await client.put("/api/supervisor/agents/a008", json=entry, headers=bearer("supervisor"))
    assert r.status == 400, await r.text()
    assert "capacity must be 0..1000" in await r.text()
    assert service.engine.agent("a008").spec.capacity == before
