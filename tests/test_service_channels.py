"""The web, work-item and callback channels over loopback: what each creates, who is
offered it, idempotency, refusals (which change nothing) and tokens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.common import HIDDEN_REASON
from router.app import build_app
from router.service.service import Service
from tests.service_support import bearer, login, make_service

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

WEB = "/api/channels/web/requests"
ITEMS = "/api/channels/workitems"
CALLBACKS = "/api/channels/callbacks"

WEB_REQUEST: dict[str, Any] = {
    "service": "appointments",
    "language": "en",
    "message": "I need to move my appointment next week.",
    "contact_preference": {"method": "email", "value": "pat@example.fi"},
    "topic": "rebooking",
}
ITEM: dict[str, Any] = {
    "source": "omaolo",
    "item_id": "OA-2024-0001",
    "service": "symptom_assessment",
    "topic": "respiratory",
    "urgency": "P3",
    "link": "https://omaolo.example/items/OA-2024-0001",
    "person_ref": "p:8812",
    "language": "fi",
    "site": "vaasa",
}
CALLBACK: dict[str, Any] = {
    "number": "+358401234567",
    "service": "nursing_advice",
    "language": "fi",
}


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    client = await aiohttp_client(build_app(service))
    return client, service


def snapshot(service: Service) -> tuple[int, list[str]]:
    return service.engine.waiting_count, sorted(c.id for c in service.engine.contacts())


async def refused(
    client: Client, path: str, body: object, token: str, status: int = 400
) -> dict[str, Any]:
    r = await client.post(path, json=body, headers=bearer(token))
    assert r.status == status, await r.text()
    error: dict[str, Any] = (await r.json())["error"]
    return error


def fields_of(error: dict[str, Any]) -> set[str]:
    return {p["field"] for p in error.get("problems", [])}


# ---------------------------------------------------------------- web


async def test_a_web_request_waits_with_its_position_and_is_handled_by_the_right_agent(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    r = await client.post(WEB, json=WEB_REQUEST, headers=bearer("website"))
    assert r.status == 201
    created = await r.json()
    cid = created["contact_id"]
    assert cid.startswith("web-")
    assert created == {
        "contact_id": cid,
        "state": "waiting",
        "position": 1,
        "estimated_wait": None,
    }
    # a020 takes web requests but has no appointments skill; a019 has both.
    other = await login(client, "a020")
    r = await client.get(f"{WEB}/{cid}", headers=bearer("website"))
    assert (await r.json())["estimated_wait"] is None  # nobody who can serve it yet
    agent = await login(client, "a019")
    offer = await agent.next("offer")
    assert offer["contact"]["id"] == cid and offer["contact"]["channel"] == "web"
    assert offer["contact"]["attributes"] == {
        "message": WEB_REQUEST["message"],
        "contact_method": "email",
        "contact_value": "pat@example.fi",
        "topic": "rebooking",
        "via": "website",  # the integration that registered it
    }
    r = await client.get(f"{WEB}/{cid}", headers=bearer("website"))
    assert await r.json() == {
        "contact_id": cid,
        "state": "offered",
        "position": None,
        "estimated_wait": None,
    }
    await agent.send({"type": "accept", "contact_id": cid})
    await agent.next("assigned")
    r = await client.delete(f"{WEB}/{cid}", headers=bearer("website"))
    assert r.status == 409
    await agent.send({"type": "complete", "contact_id": cid, "outcome": "resolved"})
    await agent.next("closed")
    r = await client.get(f"{WEB}/{cid}", headers=bearer("website"))
    body = await r.json()
    assert body["state"] == "closed" and body["outcome"] == "resolved"
    assert [m for m in await other.quiet() if m["type"] == "offer"] == []
    await agent.close()
    await other.close()


async def test_a_waiting_web_request_shows_an_estimate_and_can_be_withdrawn(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    # a019 (web capacity 3) is offered the first three and is full: serving, so the
    # requests after them wait with an estimate (a not-ready agent gives none).
    agent = await login(client, "a019")
    for _ in range(3):
        r = await client.post(WEB, json=WEB_REQUEST, headers=bearer("website"))
        assert service.engine.contact((await r.json())["contact_id"]).agent_id == "a019"
    first = await (await client.post(WEB, json=WEB_REQUEST, headers=bearer("website"))).json()
    phone_pref = {**WEB_REQUEST, "contact_preference": {"method": "sms", "value": "+358501112222"}}
    r = await client.post(WEB, json=phone_pref, headers=bearer("website"))
    second = await r.json()
    assert second["position"] == 2
    assert second["estimated_wait"]["min_s"] < second["estimated_wait"]["max_s"]
    r = await client.delete(f"{WEB}/{first['contact_id']}", headers=bearer("website"))
    assert r.status == 200
    assert (await r.json())["outcome"] == "cancelled"
    r = await client.delete(f"{WEB}/{first['contact_id']}", headers=bearer("website"))
    assert r.status == 200 and (await r.json())["outcome"] == "cancelled"  # no second effect
    r = await client.get(f"{WEB}/{second['contact_id']}", headers=bearer("website"))
    assert (await r.json())["position"] == 1
    assert service.engine.waiting_count == 1
    await agent.close()


async def test_bad_web_requests_are_refused_with_every_problem_and_change_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    before = snapshot(service)
    bad = {
        "service": "astrology",
        "language": "de",
        "site": "helsinki",
        "message": "x" * 4001,
        "contact_preference": {"method": "pigeon", "value": "roof"},
        "colour": "blue",
    }
    error = await refused(client, WEB, bad, "website")
    assert error["code"] == "invalid_input"
    assert fields_of(error) == {
        "service",
        "language",
        "site",
        "message",
        "contact_preference.method",
        "colour",
    }
    error = await refused(client, WEB, {}, "website")
    assert fields_of(error) == {"service", "message", "contact_preference"}
    for pref, field in (
        ({"method": "phone", "value": "0401234567"}, "contact_preference.value"),
        ({"method": "email", "value": "not-an-address"}, "contact_preference.value"),
        ({"method": "sms"}, "contact_preference.value"),
        ("email me", "contact_preference"),
    ):
        body = {**WEB_REQUEST, "contact_preference": pref}
        assert fields_of(await refused(client, WEB, body, "website")) == {field}
    for message in ("", "  ", 12):
        body = {**WEB_REQUEST, "message": message}
        assert fields_of(await refused(client, WEB, body, "website")) == {"message"}
    assert (await refused(client, WEB, [WEB_REQUEST], "website"))["code"] == "invalid_input"
    r = await client.post(WEB, data=b"{", headers=bearer("website"))
    assert r.status == 400 and (await r.json())["error"]["code"] == "invalid_json"
    r = await client.post(WEB, data=b"x" * 70_000, headers=bearer("website"))
    assert r.status == 413
    r = await client.get(f"{WEB}/web-nope", headers=bearer("website"))
    assert r.status == 404
    r = await client.delete(f"{WEB}/web-nope", headers=bearer("website"))
    assert r.status == 404
    assert snapshot(service) == before


async def test_web_requests_need_a_web_token(served: tuple[Client, Service]) -> None:
    client, service = served
    r = await client.post(WEB, json=WEB_REQUEST)
    assert r.status == 401
    for token in ("omaolo", "telephony", "public", "agent-a019", "supervisor"):
        r = await client.post(WEB, json=WEB_REQUEST, headers=bearer(token))
        assert r.status == 403, token
    # A web token cannot read other channels' contacts through the web status.
    await client.post(CALLBACKS, json=CALLBACK, headers=bearer("telephony"))
    cb = next(c.id for c in service.engine.contacts())
    r = await client.get(f"{WEB}/{cb}", headers=bearer("website"))
    assert r.status == 404
    assert service.engine.waiting_count == 1


# ---------------------------------------------------------------- work items


async def test_a_work_item_goes_only_to_an_agent_authorised_for_its_source(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    # a017 takes work items (prescriptions 3) but may not open Omaolo items; a002 is a
    # nurse without Omaolo (and no work items).
    a017 = await login(client, "a017")
    a002 = await login(client, "a002")
    prescription = {
        **ITEM,
        "item_id": "OA-RX-7",
        "service": "prescriptions",
        "urgency": "normal",
        "topic": "renewal",
    }
    r = await client.post(ITEMS, json=prescription, headers=bearer("omaolo"))
    assert r.status == 201
    rx = await r.json()
    assert rx["state"] == "waiting" and rx["contact_id"] == "wi-omaolo-OA-RX-7"
    r = await client.post(ITEMS, json=ITEM, headers=bearer("omaolo"))
    assert r.status == 201
    created = await r.json()
    cid = "wi-omaolo-OA-2024-0001"
    assert created == {
        "contact_id": cid,
        "source": "omaolo",
        "item_id": "OA-2024-0001",
        "urgency": "P3",
        "state": "waiting",
        "position": 1,
        "estimated_wait": None,
    }
    # a003: nursing 5 with Omaolo authorisation and five work items.
    a003 = await login(client, "a003")
    offer = await a003.next("offer")
    contact = offer["contact"]
    assert contact["id"] == cid and contact["channel"] == "workitem"
    assert contact["link"] == ITEM["link"] and contact["external_ref"] == "OA-2024-0001"
    assert contact["attributes"] == {
        "topic": "respiratory",
        "source": "omaolo",
        "person_ref": "p:8812",
    }
    assert contact["urgency"] == "P3"
    # a001 holds prescriptions 2 and the Omaolo authorisation: the prescription item is hers.
    a001 = await login(client, "a001")
    assert (await a001.next("offer"))["contact"]["id"] == "wi-omaolo-OA-RX-7"
    for ws in (a017, a002):
        assert [m for m in await ws.quiet() if m["type"] == "offer"] == []
    # Posting the same item again returns the same contact, 200, nothing new.
    r = await client.post(ITEMS, json=ITEM, headers=bearer("omaolo"))
    assert r.status == 200
    assert (await r.json())["contact_id"] == cid and (await r.json())["state"] == "offered"
    await a003.send({"type": "accept", "contact_id": cid})
    await a003.next("assigned")
    r = await client.delete(f"{ITEMS}/omaolo/OA-2024-0001", headers=bearer("omaolo"))
    assert r.status == 409
    await a003.send({"type": "complete", "contact_id": cid, "outcome": "resolved"})
    await a003.next("closed")
    # Still idempotent once closed: the outcome is remembered.
    r = await client.post(ITEMS, json=ITEM, headers=bearer("omaolo"))
    assert r.status == 200
    assert await r.json() == {
        "contact_id": cid,
        "state": "closed",
        "position": None,
        "estimated_wait": None,
        "urgency": "P3",
        "source": "omaolo",
        "item_id": "OA-2024-0001",
        "outcome": "resolved",
    }
    r = await client.get(f"{ITEMS}/omaolo/OA-2024-0001", headers=bearer("omaolo"))
    assert (await r.json())["outcome"] == "resolved"
    assert sum(1 for c in service.engine.contacts() if c.id == cid) == 0
    for ws in (a001, a002, a003, a017):
        await ws.close()


async def test_the_most_urgent_work_item_is_redirected_and_a_withdrawn_one_cancelled(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    urgent = {**ITEM, "item_id": "OA-P0", "urgency": "P0"}
    r = await client.post(ITEMS, json=urgent, headers=bearer("omaolo"))
    assert r.status == 201
    body = await r.json()
    assert body["action"] == "redirect" and body["target"] == "112"
    assert body["state"] == "closed" and body["outcome"] == "redirected"
    r = await client.post(ITEMS, json=urgent, headers=bearer("omaolo"))
    assert r.status == 200 and (await r.json())["action"] == "redirect"
    assert service.engine.waiting_count == 0
    r = await client.post(ITEMS, json=ITEM, headers=bearer("omaolo"))
    assert r.status == 201
    r = await client.delete(f"{ITEMS}/omaolo/OA-2024-0001", headers=bearer("omaolo"))
    assert r.status == 200
    assert (await r.json())["outcome"] == "cancelled"
    r = await client.get(f"{ITEMS}/omaolo/OA-2024-0001", headers=bearer("omaolo"))
    assert (await r.json())["state"] == "closed"
    assert service.engine.waiting_count == 0


async def test_bad_work_items_are_refused_with_every_problem_and_change_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    before = snapshot(service)
    bad = {
        "source": "omaolo",
        "item_id": "has space",
        "service": "symptom_assessment",
        "topic": "t" * 201,
        "urgency": "P9",
        "link": "http://omaolo.example/x",
        "person_ref": "p 1",
        "language": "de",
        "site": "helsinki",
        "extra": True,
    }
    error = await refused(client, ITEMS, bad, "omaolo")
    assert fields_of(error) == {
        "item_id",
        "topic",
        "urgency",
        "link",
        "person_ref",
        "language",
        "site",
        "extra",
    }
    error = await refused(client, ITEMS, {"source": "omaolo"}, "omaolo")
    assert fields_of(error) == {"item_id", "service", "topic", "urgency", "link"}
    for link in ("https://", "ftp://x.example/a", "https://a b.example/", "javascript:x"):
        assert fields_of(await refused(client, ITEMS, {**ITEM, "link": link}, "omaolo")) == {"link"}
    error = await refused(client, ITEMS, {**ITEM, "service": "astrology"}, "omaolo")
    assert fields_of(error) == {"service"}
    r = await client.post(ITEMS, data=b"x" * 70_000, headers=bearer("omaolo"))
    assert r.status == 413
    r = await client.get(f"{ITEMS}/omaolo/none", headers=bearer("omaolo"))
    assert r.status == 404
    r = await client.delete(f"{ITEMS}/omaolo/none", headers=bearer("omaolo"))
    assert r.status == 404
    assert snapshot(service) == before


async def test_a_work_item_source_must_be_one_of_the_tokens_sources(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    error = await refused(client, ITEMS, {**ITEM, "source": "kanta"}, "omaolo", 403)
    assert "kanta" in error["message"]
    await refused(client, ITEMS, ITEM, "website", 403)  # no workitems channel
    await refused(client, ITEMS, ITEM, "telephony", 403)
    r = await client.post(ITEMS, json=ITEM)
    assert r.status == 401
    assert service.engine.waiting_count == 0
    await client.post(ITEMS, json=ITEM, headers=bearer("omaolo"))
    r = await client.get(f"{ITEMS}/kanta/OA-2024-0001", headers=bearer("omaolo"))
    assert r.status == 403
    r = await client.delete(f"{ITEMS}/kanta/OA-2024-0001", headers=bearer("omaolo"))
    assert r.status == 403
    r = await client.get(f"{ITEMS}/omaolo/OA-2024-0001", headers=bearer("website"))
    assert r.status == 403
    assert service.engine.waiting_count == 1


# ---------------------------------------------------------------- callbacks


async def test_a_callback_request_is_queued_and_offered_with_its_number(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    r = await client.post(CALLBACKS, json={**CALLBACK, "site": "vaasa"}, headers=bearer("website"))
    assert r.status == 201
    created = await r.json()
    cid = created["contact_id"]
    assert cid.startswith("cb-") and created["state"] == "waiting" and created["position"] == 1
    agent = await login(client, "a001")
    offer = await agent.next("offer")
    assert offer["contact"]["id"] == cid and offer["contact"]["channel"] == "callback"
    assert offer["contact"]["attributes"] == {"number": "+358401234567", "via": "website"}
    r = await client.get(f"{CALLBACKS}/{cid}", headers=bearer("website"))
    assert (await r.json())["state"] == "offered"
    r = await client.post(
        CALLBACKS, json={**CALLBACK, "urgency": "P0"}, headers=bearer("telephony")
    )
    assert r.status == 201
    assert (await r.json())["target"] == "112"
    await agent.close()


async def test_a_hidden_number_cannot_be_called_back(served: tuple[Client, Service]) -> None:
    client, service = served
    before = snapshot(service)
    for number in ("hidden", "Anonymous", "restricted", "unknown"):
        error = await refused(client, CALLBACKS, {**CALLBACK, "number": number}, "telephony")
        assert error["problems"] == [{"field": "number", "reason": HIDDEN_REASON}]
        # A callback request has no call: nothing "stays in the live queue".
        assert "queue" not in error["message"]
    assert snapshot(service) == before


async def test_bad_callback_requests_are_refused_with_every_problem_and_change_nothing(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    before = snapshot(service)
    bad = {
        "number": "040 123 4567",
        "service": "nursing_advice",
        "urgency": "P42",
        "language": "de",
        "site": "helsinki",
        "note": "x",
    }
    error = await refused(client, CALLBACKS, bad, "telephony")
    assert fields_of(error) == {"number", "urgency", "language", "site", "note"}
    error = await refused(client, CALLBACKS, {}, "telephony")
    assert fields_of(error) == {"number", "service"}
    r = await client.post(CALLBACKS, data=b"x" * 70_000, headers=bearer("telephony"))
    assert r.status == 413
    await refused(client, CALLBACKS, CALLBACK, "omaolo", 403)
    await refused(client, CALLBACKS, CALLBACK, "public", 403)
    r = await client.post(CALLBACKS, json=CALLBACK)
    assert r.status == 401
    r = await client.get(f"{CALLBACKS}/cb-nope", headers=bearer("telephony"))
    assert r.status == 404
    assert snapshot(service) == before
