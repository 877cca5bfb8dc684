"""The eligible agents a supervisor's contacts list names (``?eligible=true``) are
bounded, because the answer is built in one synchronous block of the dispatch loop: at
most ``ELIGIBLE_MAX_LIMIT`` rows, at most ``ELIGIBLE_SHOWN`` agents per contact (free
ones first, with ``eligible_total``), each distinct requirement compiled once."""

from __future__ import annotations

from typing import Any

import pytest

from router.service import supervisor_contacts as contacts
from router.service.service import Service
from skills.expression import parse_requirement
from tests.service_support import bearer
from tests.test_service_supervisor import Client, call, get, problem_fields, send, served

__all__ = ["served"]


async def test_the_eligible_agents_in_the_list_are_bounded_free_ones_first_with_a_count(
    served: tuple[Client, Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page with eligibility is built in one block of the dispatch loop: a bounded
    number of rows, and a bounded number of agents per contact with how many in all."""
    client, service = served
    monkeypatch.setattr(contacts, "ELIGIBLE_SHOWN", 1)
    for agent in ("agent-a001", "agent-a002"):
        r = await client.post("/api/agent/login", json={}, headers=bearer(agent))
        assert r.status == 200
        await send(
            client,
            "POST",
            f"/api/supervisor/agents/{agent[6:]}/presence",
            {"presence": "not_ready", "force": True},
        )
    await call(client, "b1")
    await call(client, "b2")
    await send(client, "POST", "/api/supervisor/contacts/phone-b1/offer", {"agent_id": "a001"})
    assert service.engine.contact("phone-b1").agent_id == "a001"  # no room for a second
    one = await get(client, "/api/supervisor/contacts/phone-b2/eligible")
    assert [a["id"] for a in one["agents"]] == ["a001", "a002"]  # unchanged, all of them
    page = await get(client, "/api/supervisor/contacts?eligible=true&state=waiting")
    (row,) = page["contacts"]
    assert [(a["id"], a["free"]) for a in row["eligible"]] == [("a002", True)]
    assert row["eligible_total"] == 2
    most = contacts.ELIGIBLE_MAX_LIMIT
    fine = await get(client, f"/api/supervisor/contacts?eligible=true&limit={most}")
    assert fine["limit"] == contacts.ELIGIBLE_MAX_LIMIT
    error = await get(client, "/api/supervisor/contacts?eligible=true&limit=101", 400)
    assert problem_fields(error) == {"limit"}
    assert (await get(client, "/api/supervisor/contacts?limit=1000"))["limit"] == 1000


async def test_a_page_compiles_each_distinct_requirement_once(
    served: tuple[Client, Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = served
    for call_id in ("c1", "c2", "c3"):
        await call(client, call_id)
    await call(client, "c4", language="sv")
    compiled: list[str] = []

    def counted(text: str, catalogue: Any) -> Any:
        compiled.append(text)
        return parse_requirement(text, catalogue)

    monkeypatch.setattr("router.service.desk.parse_requirement", counted)
    page = await get(client, "/api/supervisor/contacts?eligible=true&state=waiting")
    assert len(page["contacts"]) == 4
    assert len(compiled) == len(set(compiled)) == 2
