"""A work item posted again under a known (source, item_id): a retry is answered with
the item's status and changes nothing; a changed item is refused (409
``item_id_reused``, the fields that differ named) and changes nothing either; a changed
urgency keeps its own answer (``urgency_unchanged``). Real HTTP against the real app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from router.app import build_app
from router.service.service import Service, Settings
from tests.service_support import WallClock, at, bearer, region

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
PATH = "/api/channels/workitems"
CONTACT = "wi-omaolo-OA-7"
ITEM: dict[str, Any] = {
    "source": "omaolo",
    "item_id": "OA-7",
    "service": "symptom_assessment",
    "topic": "respiratory",
    "urgency": "P5",
    "link": "https://omaolo.example/items/OA-7",
    "language": "fi",
    "phone": "+358401234567",
}


async def posted(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = Service(region(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    r = await client.post(PATH, json=ITEM, headers=bearer("omaolo"))
    assert r.status == 201, await r.text()
    return client, service


@pytest.mark.parametrize(
    "changed",
    [
        {"service": "nursing_advice"},
        {"language": "sv"},
        {"site": "vaasa"},
        {"topic": "skin"},
        {"link": "https://omaolo.example/items/OA-8"},
        {"phone": "+358401112223"},
        {"person_ref": "P-12"},
    ],
    ids=lambda changed: next(iter(changed)),
)
async def test_an_item_posted_again_with_another_field_is_refused_and_nothing_changes(
    aiohttp_client: MakeClient, changed: dict[str, str]
) -> None:
    client, service = await posted(aiohttp_client)
    before = service.engine.contact(CONTACT)
    r = await client.post(PATH, json={**ITEM, **changed}, headers=bearer("omaolo"))
    assert r.status == 409
    error = (await r.json())["error"]
    assert error["code"] == "item_id_reused"
    assert [p["field"] for p in error["problems"]] == list(changed)
    assert "nothing was changed" in error["message"]
    assert service.engine.contact(CONTACT) == before
    status = await (await client.get(f"{PATH}/omaolo/OA-7", headers=bearer("omaolo"))).json()
    assert status["state"] == "waiting"


async def test_every_differing_field_is_named_at_once(aiohttp_client: MakeClient) -> None:
    client, _ = await posted(aiohttp_client)
    body = {**ITEM, "service": "nursing_advice", "topic": "skin", "urgency": "P2"}
    r = await client.post(PATH, json=body, headers=bearer("omaolo"))
    assert r.status == 409
    fields = [p["field"] for p in (await r.json())["error"]["problems"]]
    assert fields == ["service", "topic"]  # the urgency has its own answer, not this one


async def test_an_identical_repost_is_a_retry_and_a_new_urgency_is_noted_not_applied(
    aiohttp_client: MakeClient,
) -> None:
    client, service = await posted(aiohttp_client)
    r = await client.post(PATH, json=ITEM, headers=bearer("omaolo"))
    assert r.status == 200
    again = await r.json()
    assert again["contact_id"] == CONTACT and "urgency_unchanged" not in again
    r = await client.post(PATH, json={**ITEM, "urgency": "P2"}, headers=bearer("omaolo"))
    assert r.status == 200
    assert (await r.json())["urgency_unchanged"]["kept"] == "P5"
    assert service.engine.contact(CONTACT).urgency == "P5"
