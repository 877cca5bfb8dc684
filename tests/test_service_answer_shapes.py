"""The supervisor API's and the feedback survey's JSON answers are what the OpenAPI
document says: real answers, provoked on every branch the handlers have, validated
against the response schemas ``/openapi.json`` publishes (written from the models in
``router.service.supervisor_shapes``, ``router.service.feedback_shapes`` and
``router.service.audit_shapes``)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from router.service.body_shapes import check_body
from router.service.feedback_shapes import AnswerBody
from router.service.http import ApiError
from tests.service_support import agent_ws, next_of, sample_region, served_at
from tests.test_service_feedback import ANSWERS, OPT_OUTS, SMS, SUP, resolved_call, world
from tests.test_service_supervisor import Client, MakeClient, call, get, send


async def _schemas(client: Client) -> dict[tuple[str, str], Any]:
    doc = await (await client.get("/openapi.json")).json()
    found = {}
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            content = op.get("responses", {}).get("200", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if schema is not None:
                found[(method.upper(), path)] = schema
    return found


def _problems(schema: Any, body: object) -> list[str]:
    return [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(body)]


async def test_the_supervisor_contact_and_statistics_answers_are_what_the_openapi_says(
    aiohttp_client: MakeClient,
) -> None:
    # An hour before the dental line closes: its statistics carry today's closing block.
    client, _service, _clock = await served_at(aiohttp_client, "2026-11-24 15:00", sample_region())
    schemas = await _schemas(client)
    answers: list[tuple[str, str, object]] = []

    async def check(method: str, template: str, path: str, body: object = None) -> Any:
        got = await (get(client, path) if method == "GET" else send(client, method, path, body))
        answers.append((method, template, got))
        return got

    a005 = await agent_ws(client, "a005", login=False)
    await a005.send_json({"type": "login", "presence": "not_ready"})
    await next_of(a005, "ack")
    await call(client, "k1")
    await call(client, "k2", site="jakobstad")
    await check("GET", "/api/supervisor/contacts", "/api/supervisor/contacts?limit=1")
    page = await check("GET", "/api/supervisor/contacts", "/api/supervisor/contacts")
    assert [c["state"] for c in page["contacts"]] == ["waiting", "waiting"]
    contact = "/api/supervisor/contacts/{contact_id}"
    moved = await check(
        "POST",
        f"{contact}/move",
        "/api/supervisor/contacts/phone-k1/move",
        {"service": "nursing_advice"},
    )
    assert moved["position"] == 1
    eligible = await check(
        "GET", f"{contact}/eligible", "/api/supervisor/contacts/phone-k1/eligible"
    )
    assert [a["id"] for a in eligible["agents"]] == ["a005"]
    offered = await check(
        "POST", f"{contact}/offer", "/api/supervisor/contacts/phone-k1/offer", {"agent_id": "a005"}
    )
    assert offered["state"] == "offered" and "offer_expires_at" in offered
    page = await check("GET", "/api/supervisor/contacts", "/api/supervisor/contacts")
    assert {c["state"] for c in page["contacts"]} == {"waiting", "offered"}
    removed = await check(
        "POST", f"{contact}/remove", "/api/supervisor/contacts/phone-k2/remove", {"reason": "x"}
    )
    assert removed["state"] == "closed" and removed["removed_by"] == "supervisor"
    audit = "/api/supervisor/audit/contacts/{contact_id}"
    record = await check("GET", audit, "/api/supervisor/audit/contacts/phone-k1")
    assert [c["change"] for c in record["trail"]] == ["arrived", "queued", "offered"]
    stats = await check("GET", "/api/supervisor/stats", "/api/supervisor/stats")
    assert any("today" in s for s in stats["services"])
    assert any(s["service_level"] is None for s in stats["services"])
    for method, template, body in answers:
        assert _problems(schemas[(method, template)], body) == [], (method, template, body)
    # The schemas are closed: an answer with a key the model lacks is not one.
    assert _problems(schemas[("GET", "/api/supervisor/stats")], {**stats, "extra": 1})
    await a005.close()


async def test_the_feedback_answers_are_what_the_openapi_says(aiohttp_client: MakeClient) -> None:
    async with world(aiohttp_client) as w:
        schemas = await _schemas(w.client)
        answer, opted = schemas[("POST", ANSWERS)], schemas[("POST", OPT_OUTS)]
        cid = await resolved_call(w, "c1", "+358401112222")
        rid = (await w.gateway.next(1))["request_id"]
        answers = []
        for body in ({"request_id": rid, "score": 9}, {"request_id": rid, "score": 9}):
            r = await w.client.post(ANSWERS, json=body, headers=SMS)
            assert r.status == 200
            answers.append(await r.json())
        await resolved_call(w, "c2", "+358401113333")
        rid = (await w.gateway.next(2))["request_id"]
        await resolved_call(w, "c3", "+358401114444")
        r3 = (await w.gateway.next(3))["request_id"]
        for body in (
            {"request_id": rid, "score": 3, "text": "soittakaa 0401234567"},
            {"request_id": r3, "text": "stop"},
        ):
            r = await w.client.post(ANSWERS, json=body, headers=SMS)
            assert r.status == 200
            answers.append(await r.json())
        assert answers[-1] == {"request_id": r3, "opted_out": True}
        assert answers[-2]["text"] is not None
        for body in answers:
            assert _problems(answer, body) == [], body
        # The audit record of a surveyed contact carries its survey.
        r = await w.client.get(f"/api/supervisor/audit/contacts/{cid}", headers=SUP)
        record = await r.json()
        assert record["feedback_score"] == 9 and record["outcome"] == "resolved"
        audit = schemas[("GET", "/api/supervisor/audit/contacts/{contact_id}")]
        assert _problems(audit, record) == []
        assert _problems(audit, {**record, "trail": [{**record["trail"][0], "x": 1}]})
        r = await w.client.post(OPT_OUTS, json={"number": "+358401115555"}, headers=SMS)
        assert r.status == 200
        assert _problems(opted, await r.json()) == []
        assert _problems(answer, {"request_id": rid, "opted_out": False})
        assert _problems(opted, {})


async def test_the_published_answer_body_schema_takes_what_the_handler_takes(
    aiohttp_client: MakeClient,
) -> None:
    """The answer body's either-a-score-or-a-keyword rule, as published, agrees with the
    model's check of the same bodies."""
    async with world(aiohttp_client) as w:
        doc = await (await w.client.get("/openapi.json")).json()
        body = doc["paths"][ANSWERS]["post"]["requestBody"]["content"]["application/json"]
        published = jsonschema_rs.validator_for(body["schema"])
    bodies: list[tuple[dict[str, Any], bool]] = [
        ({"request_id": "r", "score": 9}, True),
        ({"request_id": "r", "score": 9, "text": "kiitos"}, True),
        ({"request_id": "r", "text": "Stop"}, True),
        ({"request_id": "r", "text": "stop", "score": None}, True),
        ({"request_id": "r", "text": "kiitos", "score": None}, False),
        ({"request_id": "r", "text": "kiitos"}, False),
        ({"request_id": "r"}, False),
        ({"request_id": "r", "score": 11}, False),
    ]
    for sent, valid in bodies:
        assert published.is_valid(sent) is valid, sent
        try:
            check_body(sent, AnswerBody)
        except ApiError:
            assert not valid, sent
        else:
            assert valid, sent
