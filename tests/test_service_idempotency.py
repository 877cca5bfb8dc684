"""Retries and their keys over real HTTP: an ``Idempotency-Key`` (callbacks, web
requests) or a ``call_id`` (phone) names one request of one integration. A true retry
answers with the contact it made; the same key from another integration, or for a
different request, is refused with 409 and changes nothing; nobody sees or cancels
another integration's callback. Also on two instances sharing one log."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from channels.status import StatusBook
from router.app import SERVICE, build_app
from router.service.service import Service, Settings
from tests.service_support import WallClock, at, bearer, make_service, region
from tests.test_replica_service import two_instances

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
CALLBACKS = "/api/channels/callbacks"
WEB = "/api/channels/web/requests"
CALLS = "/api/channels/phone/calls"
WEBSITE_ASKS = {
    "service": "nursing_advice",
    "language": "fi",
    "number": "+358402222301",
    "urgency": "P3",
}
TELEPHONY_ASKS = {
    "service": "nursing_advice",
    "language": "sv",
    "number": "+358402222302",
    "urgency": "P2",
}


def keyed(token: str, key: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **bearer(token)}


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    return await aiohttp_client(build_app(service)), service


def waiting(service: Service) -> list[tuple[str, str, str | None, str]]:
    """Every open contact: id, service, language and number, as the engine has them."""
    return sorted(
        (c.id, c.spec.service, c.spec.language, c.spec.attributes.get("number", ""))
        for c in service.engine.contacts()
    )


async def refused_as_reused(response: Any) -> str:
    assert response.status == 409
    error = (await response.json())["error"]
    assert error["code"] == "idempotency_key_reused"
    message: str = error["message"]
    return message


async def test_a_key_another_integration_used_is_refused_and_nothing_is_lost_or_changed(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    first = await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("website", "shared1"))
    assert first.status == 201
    assert (await first.json())["contact_id"] == "cb-shared1"
    before = waiting(service)
    other = await client.post(CALLBACKS, json=TELEPHONY_ASKS, headers=keyed("telephony", "shared1"))
    message = await refused_as_reused(other)
    assert "'shared1'" in message and "another integration" in message
    # Even the very same body: the key is the website's.
    same = await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("telephony", "shared1"))
    assert "another integration" in await refused_as_reused(same)
    assert waiting(service) == before
    # With its own key the telephony caller is queued.
    own = await client.post(CALLBACKS, json=TELEPHONY_ASKS, headers=keyed("telephony", "tel-1"))
    assert own.status == 201 and (await own.json())["contact_id"] == "cb-tel-1"


@pytest.mark.parametrize(
    "change",
    [
        {"service": "symptom_assessment"},
        {"language": "sv"},
        {"number": "+358402222399"},
        {"urgency": "P2"},
        {"site": "vaasa"},
        {"own_agent": "a001"},
    ],
)
async def test_the_same_key_for_a_different_request_is_refused(
    served: tuple[Client, Service], change: dict[str, str]
) -> None:
    client, service = served
    key = keyed("website", "form-1")
    assert (await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=key)).status == 201
    before = waiting(service)
    changed = await client.post(CALLBACKS, json={**WEBSITE_ASKS, **change}, headers=key)
    assert "a different request" in await refused_as_reused(changed)
    assert waiting(service) == before
    retry = await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=key)
    assert retry.status == 200 and (await retry.json())["contact_id"] == "cb-form-1"


async def test_the_same_key_for_another_window_is_refused(aiohttp_client: MakeClient) -> None:
    service = Service(region(), Settings(), clock=WallClock(at("2026-11-24 10:00")))
    client = await aiohttp_client(build_app(service))
    r = await client.get(f"{CALLBACKS}/windows?service=nursing_advice", headers=bearer("website"))
    first, second = [w["start"] for w in (await r.json())["windows"][:2]]
    key = keyed("website", "w-1")
    body = {**WEBSITE_ASKS, "window_start": first}
    assert (await client.post(CALLBACKS, json=body, headers=key)).status == 201
    other = await client.post(CALLBACKS, json={**body, "window_start": second}, headers=key)
    await refused_as_reused(other)
    assert (await client.post(CALLBACKS, json=body, headers=key)).status == 200


async def test_a_web_request_key_is_bound_to_its_request(served: tuple[Client, Service]) -> None:
    client, service = served
    form = {
        "service": "prescriptions",
        "message": "Renewal, please",
        "contact_preference": {"method": "phone", "value": "+358401234567"},
    }
    key = keyed("website", "form-77")
    first = await client.post(WEB, json=form, headers=key)
    assert first.status == 201 and (await first.json())["contact_id"] == "web-form-77"
    other = await client.post(WEB, json={**form, "message": "Another matter"}, headers=key)
    await refused_as_reused(other)
    assert service.engine.contact("web-form-77").spec.attributes["message"] == "Renewal, please"
    assert (await client.post(WEB, json=form, headers=key)).status == 200


async def test_a_retry_after_the_request_closed_is_still_checked(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    key = keyed("website", "gone-1")
    assert (await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=key)).status == 201
    r = await client.delete(f"{CALLBACKS}/cb-gone-1", headers=bearer("website"))
    assert (await r.json())["outcome"] == "cancelled"
    retry = await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=key)
    assert retry.status == 200 and (await retry.json())["state"] == "closed"
    other = await client.post(CALLBACKS, json=TELEPHONY_ASKS, headers=keyed("telephony", "gone-1"))
    await refused_as_reused(other)


async def test_retries_in_flight_at_once_make_one_contact_and_refuse_the_other_integration(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    answers = await asyncio.gather(
        client.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("website", "race")),
        client.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("website", "race")),
        client.post(CALLBACKS, json=TELEPHONY_ASKS, headers=keyed("telephony", "race")),
    )
    statuses = sorted(r.status for r in answers)
    winner = next(r for r in answers if r.status == 201)
    if winner is answers[2]:  # the telephony's came first: the website's two are refused
        assert statuses == [201, 409, 409]
    else:
        assert statuses == [200, 201, 409]
    assert [c[0] for c in waiting(service)] == ["cb-race"]


async def test_another_integrations_callback_is_unknown_to_it(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    assert (
        await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("website", "mine"))
    ).status == 201
    tel = bearer("telephony")
    for answer in (
        await client.get(f"{CALLBACKS}/cb-mine", headers=tel),
        await client.delete(f"{CALLBACKS}/cb-mine", headers=tel),
    ):
        assert answer.status == 404
        assert (await answer.json())["error"]["message"] == "no callback request 'cb-mine'"
    assert [c[0] for c in waiting(service)] == ["cb-mine"]  # not cancelled
    r = await client.get(f"{CALLBACKS}/cb-mine", headers=bearer("website"))
    assert r.status == 200 and (await r.json())["state"] == "waiting"
    r = await client.delete(f"{CALLBACKS}/cb-mine", headers=bearer("website"))
    assert r.status == 200 and (await r.json())["outcome"] == "cancelled"
    # Closed, it stays the website's.
    assert (await client.get(f"{CALLBACKS}/cb-mine", headers=tel)).status == 404


async def test_a_snapshot_of_an_earlier_version_loads_and_its_contacts_answer_as_before(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    key = keyed("website", "old-1")
    assert (await client.post(CALLBACKS, json=WEBSITE_ASKS, headers=key)).status == 201
    instance = client.app[SERVICE].instance
    assert instance is not None
    book: StatusBook = instance.callback.book
    finished, labels, _requests = book.capture()
    book.restore((finished, labels))  # as an earlier version captured it
    other = await client.post(CALLBACKS, json=TELEPHONY_ASKS, headers=keyed("telephony", "old-1"))
    assert other.status == 200  # no integration recorded: a retry, as before
    assert (await client.get(f"{CALLBACKS}/cb-old-1", headers=bearer("telephony"))).status == 200


@pytest.fixture(params=["memory", "redis"])
async def pair(
    request: pytest.FixtureRequest, aiohttp_client: MakeClient
) -> AsyncIterator[tuple[Client, Client]]:
    async with two_instances(request, aiohttp_client, Settings()) as clients:
        yield clients


async def test_the_key_is_checked_on_every_instance(pair: tuple[Client, Client]) -> None:
    a, b = pair
    first = await a.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("website", "shared1"))
    assert first.status == 201
    other = await b.post(CALLBACKS, json=TELEPHONY_ASKS, headers=keyed("telephony", "shared1"))
    await refused_as_reused(other)
    retry = await b.post(CALLBACKS, json=WEBSITE_ASKS, headers=keyed("website", "shared1"))
    assert retry.status == 200 and (await retry.json())["contact_id"] == "cb-shared1"
    assert (await b.get(f"{CALLBACKS}/cb-shared1", headers=bearer("telephony"))).status == 404


# ---------------------------------------------------------------- phone calls


def call(call_id: str, caller: str = "+358401234567", **ivr: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "caller": caller,
        "ivr": {"service": "nursing_advice", "language": "fi", **ivr},
    }


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        (call("se1", service="prescriptions", language="sv"), "ivr.service, ivr.language"),
        (call("se1", language="sv"), "ivr.language"),
        (call("se1", urgency="P2"), "ivr.urgency"),
        (call("se1", caller="+358409999999"), "caller"),
        ({**call("se1"), "site": "vaasa"}, "site"),
    ],
)
async def test_a_call_id_posted_again_for_another_call_is_refused(
    served: tuple[Client, Service], changed: dict[str, Any], field: str
) -> None:
    client, service = served
    tel = bearer("telephony")
    first = await client.post(CALLS, json=call("se1"), headers=tel)
    assert first.status == 201
    r = await client.post(CALLS, json=changed, headers=tel)
    assert r.status == 409
    error = (await r.json())["error"]
    assert error["code"] == "call_id_reused"
    assert error["message"].startswith(f"call 'se1' is already known with another {field};")
    spec = service.engine.contact("phone-se1").spec
    assert (spec.service, spec.language, spec.attributes["caller"]) == (
        "nursing_advice",
        "fi",
        "+358401234567",
    )
    retry = await client.post(CALLS, json=call("se1"), headers=tel)
    assert retry.status == 200 and (await retry.json())["action"] == "queue"
