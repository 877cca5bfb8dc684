"""The channel webhooks' bodies, each one pydantic model (``channels.shapes``): a bad body
is refused with every problem at once in the region file readers' words, and the OpenAPI
document's request schema is the model's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web
from pydantic import BaseModel

from channels.common import HIDDEN_REASON, Own
from channels.shapes import (
    AnsweredBody,
    CallbackRequestBody,
    CallBody,
    CallCallbackBody,
    WebRequestBody,
    WorkItemBody,
    own_of,
)
from router.app import build_app
from router.service.body_shapes import check_body
from router.service.http import ApiError
from tests.service_support import Client, agent_ws, bearer, make_service

MakeClient = Callable[[web.Application], Awaitable[Client]]

SERVICES = (
    "nursing_advice, symptom_assessment, oral_health, child_family, mental_health, "
    "social_services, prescriptions, appointments"
)
REF = "expected 1-128 letters, digits, '_', '.', ':' or '-'"
CALL_KEYS = "call_id, caller, ivr, site, own_agent, own_team"
CALL = {"call_id": "k1", "caller": "+358401234567", "ivr": {"service": "nursing_advice"}}
WEB = {
    "service": "nursing_advice",
    "message": "please call",
    "contact_preference": {"method": "phone", "value": "+358401234567"},
}
CALLBACK = {"number": "+358401234567", "service": "nursing_advice"}

# (path, token, body, the problems exactly as the answer lists them)
REFUSED: list[tuple[str, str, object, list[tuple[str, str]]]] = [
    (
        "/api/channels/phone/calls",
        "telephony",
        {
            "call_id": "has space",
            "caller": "12345",
            "ivr": {"service": "astrology", "language": "de"},
            "extra": 1,
        },
        [
            ("extra", f"unknown key 'extra'; expected one of: {CALL_KEYS}"),
            ("call_id", REF),
            ("caller", "expected an E.164 number such as +358401234567, or 'hidden'"),
            ("ivr.service", f"unknown service 'astrology'; expected one of: {SERVICES}"),
            ("ivr.language", "unknown language 'de'; expected one of: fi, sv, en"),
        ],
    ),
    (
        "/api/channels/phone/calls",
        "telephony",
        {"calld": "k1", "caller": None, "ivr": {"service": "nursing_advice", "urgency": "P9"}},
        [
            ("calld", f"unknown key 'calld'; did you mean 'call_id'? expected one of: {CALL_KEYS}"),
            ("call_id", "required key is missing"),
            ("caller", "expected a string, got null"),
            (
                "ivr.urgency",
                "unknown urgency 'P9' for nursing_advice; expected one of: "
                "P0, P1, P2, P3, P4, P5, P6, P7, P8",
            ),
        ],
    ),
    (
        "/api/channels/phone/calls",
        "telephony",
        [CALL],
        [("(body)", "expected a mapping, got list")],
    ),
    (
        "/api/channels/phone/calls",
        "telephony",
        {**CALL, "ivr": "nursing_advice", "own_agent": "nobody", "site": 3},
        [
            ("ivr", "expected a mapping, got string 'nursing_advice'"),
            ("site", "expected a string, got integer 3"),
            ("own_agent", "unknown agent 'nobody'; expected an agent id"),
        ],
    ),
    (
        "/api/channels/phone/calls/k1/answered",
        "telephony",
        {"agent_id": "  "},
        [("agent_id", "must not be empty")],
    ),
    (
        "/api/channels/web/requests",
        "website",
        {**WEB, "message": "x" * 4001, "contact_preference": {"method": "email", "value": "x"}},
        [
            ("message", "must be at most 4000 characters, got 4001"),
            ("contact_preference.value", "expected an e-mail address such as name@example.fi"),
        ],
    ),
    (
        "/api/channels/web/requests",
        "website",
        {**WEB, "message": 12, "contact_preference": {"method": "pigeon"}},
        [
            ("contact_preference.value", "required key is missing"),
            ("message", "expected a string, got integer 12"),
            (
                "contact_preference.method",
                "unknown method 'pigeon'; expected one of: phone, email, sms",
            ),
        ],
    ),
    (
        "/api/channels/workitems",
        "omaolo",
        {"source": "omaolo", "item_id": "i 1", "link": "http://x.example/"},
        [
            ("service", "required key is missing"),
            ("topic", "required key is missing"),
            ("urgency", "required key is missing"),
            ("item_id", REF),
            ("link", "expected an https:// URL of at most 2048 characters"),
        ],
    ),
    (
        "/api/channels/callbacks",
        "telephony",
        {**CALLBACK, "number": "Anonymous", "window_start": -1},
        [("number", HIDDEN_REASON), ("window_start", "must be non-negative, got -1")],
    ),
    (
        "/api/channels/callbacks",
        "telephony",
        {**CALLBACK, "number": "+4412345678", "window_start": True},
        [
            ("number", "only Finnish numbers (+358) are called back"),
            ("window_start", "expected a number, got boolean true"),
        ],
    ),
]


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    client = await aiohttp_client(build_app(make_service()))
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    assert r.status == 201
    return client


@pytest.mark.parametrize(
    ("path", "token", "body", "problems"),
    REFUSED,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(REFUSED)],
)
async def test_a_bad_body_is_refused_with_every_problem_in_the_readers_words(
    client: Client, path: str, token: str, body: object, problems: list[tuple[str, str]]
) -> None:
    r = await client.post(path, json=body, headers=bearer(token))
    assert r.status == 400, await r.text()
    error = (await r.json())["error"]
    assert error["code"] == "invalid_input"
    assert [(p["field"], p["reason"]) for p in error["problems"]] == problems
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    assert error["message"] == f"{problems[0][0]}: {problems[0][1]}{more}"


def test_a_hidden_caller_is_kept_in_lower_case_and_a_nurse_gives_team_and_site() -> None:
    service = make_service()
    body = check_body({**CALL, "caller": "Hidden", "own_agent": "a001"}, CallBody, service)
    assert body.caller == "hidden"
    nurse = service.region.agents["a001"]
    assert own_of(service, body.own_agent, body.own_team, body.site) == Own(
        "a001", nurse.team, nurse.site
    )
    assert own_of(service, "a001", "kp-nurses", "kokkola") == Own("a001", "kp-nurses", "kokkola")


def test_without_a_service_only_the_shape_is_checked() -> None:
    """The region's names need the running service; the shape alone is still exact."""
    body = {**CALL, "ivr": {"service": "astrology"}}
    assert check_body(body, CallBody).ivr.service == "astrology"
    with pytest.raises(ApiError) as refused:
        check_body({**body, "caller": 5}, CallBody)
    assert refused.value.problems == [("caller", "expected a string, got integer 5")]


BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("/api/channels/phone/calls", "post"): CallBody,
    ("/api/channels/phone/calls/{call_id}/answered", "post"): AnsweredBody,
    ("/api/channels/phone/calls/{call_id}/callback", "post"): CallCallbackBody,
    ("/api/channels/web/requests", "post"): WebRequestBody,
    ("/api/channels/workitems", "post"): WorkItemBody,
    ("/api/channels/callbacks", "post"): CallbackRequestBody,
}


def _keys(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    return set(schema["properties"]), set(schema.get("required", ()))


async def test_the_documented_request_bodies_are_the_models(client: Client) -> None:
    doc = await (await client.get("/openapi.json")).json()
    for (path, method), shape in BODIES.items():
        schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
        documented = schema["schema"]
        fields = shape.model_fields
        assert _keys(documented) == (
            set(fields),
            {name for name, f in fields.items() if f.is_required()},
        ), path
        assert documented["additionalProperties"] is False, path
    call = doc["paths"]["/api/channels/phone/calls"]["post"]["requestBody"]["content"]
    ivr = call["application/json"]["schema"]["properties"]["ivr"]
    assert _keys(ivr) == ({"service", "language", "urgency"}, {"service"})


# ---------------------------------------------------------------- the answers

ITEM = {
    "source": "omaolo",
    "item_id": "OA-1",
    "service": "symptom_assessment",
    "topic": "respiratory",
    "urgency": "P3",
    "link": "https://omaolo.example/items/OA-1",
}
TELEPHONY, WEBSITE, OMAOLO = bearer("telephony"), bearer("website"), bearer("omaolo")


class Answers:
    """Every answer a scenario got, by (documented path, method, status)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: list[tuple[str, str, int, Any]] = []

    async def send(
        self, method: str, url: str, path: str, headers: dict[str, str], body: object = None
    ) -> Any:
        r = await self.client.request(method, url, json=body, headers=headers)
        assert r.status < 300, (url, r.status, await r.text())
        answer = await r.json()
        self.seen.append((path, method.lower(), r.status, answer))
        return answer


async def test_the_channels_answers_match_their_documented_schemas(
    aiohttp_client: MakeClient,
) -> None:
    """Each kind of answer of the phone, web, work item and callback webhooks - queue,
    connect, connected, redirect, hangup, callback; open, closed and redirected statuses;
    a work item's kept class; the callback windows - is valid against the OpenAPI
    document's schema for that route and status, and the schemas are closed."""
    client = await aiohttp_client(build_app(make_service()))
    doc = await (await client.get("/openapi.json")).json()
    a = Answers(client)
    calls, call = "/api/channels/phone/calls", "/api/channels/phone/calls/{call_id}"
    actions = {(await a.send("POST", calls, calls, TELEPHONY, CALL))["action"]}
    actions.add((await a.send("POST", calls, calls, TELEPHONY, CALL))["action"])
    actions.add((await a.send("GET", f"{calls}/k1", call, TELEPHONY))["action"])
    cb = f"{call}/callback"
    actions.add((await a.send("POST", f"{calls}/k1/callback", cb, TELEPHONY, {}))["action"])
    actions.add((await a.send("DELETE", f"{calls}/k1/callback", cb, TELEPHONY))["action"])
    urgent = {**CALL, "call_id": "k2", "ivr": {"service": "nursing_advice", "urgency": "P0"}}
    actions.add((await a.send("POST", calls, calls, TELEPHONY, urgent))["action"])
    ws = await agent_ws(client, "a001")
    k3 = {**CALL, "call_id": "k3", "site": "vaasa", "ivr": {"service": "nursing_advice"}}
    actions.add((await a.send("POST", calls, calls, TELEPHONY, k3))["action"])
    answered = {"agent_id": "a001"}
    ok = await a.send("POST", f"{calls}/k3/answered", f"{call}/answered", TELEPHONY, answered)
    actions.add(ok["action"])
    await ws.close()
    assert actions == {"queue", "callback", "hangup", "redirect", "connect", "connected"}

    web_url, web_one = "/api/channels/web/requests", "/api/channels/web/requests/{contact_id}"
    made = await a.send("POST", web_url, web_url, WEBSITE, WEB)
    await a.send("GET", f"{web_url}/{made['contact_id']}", web_one, WEBSITE)
    await a.send("DELETE", f"{web_url}/{made['contact_id']}", web_one, WEBSITE)

    items, item = "/api/channels/workitems", "/api/channels/workitems/{source}/{item_id}"
    await a.send("POST", items, items, OMAOLO, ITEM)
    again = await a.send("POST", items, items, OMAOLO, {**ITEM, "urgency": "P2"})
    assert again["urgency_unchanged"]["kept"] == "P3"
    await a.send("GET", f"{items}/omaolo/OA-1", item, OMAOLO)
    await a.send("DELETE", f"{items}/omaolo/OA-1", item, OMAOLO)
    redirected = await a.send(
        "POST", items, items, OMAOLO, {**ITEM, "item_id": "OA-2", "urgency": "P0"}
    )
    assert redirected["action"] == "redirect"

    callbacks = "/api/channels/callbacks"
    one = "/api/channels/callbacks/{contact_id}"
    windows = f"{callbacks}/windows"
    await a.send("GET", f"{windows}?service=nursing_advice", windows, TELEPHONY)
    made = await a.send("POST", callbacks, callbacks, TELEPHONY, CALLBACK)
    await a.send("GET", f"{callbacks}/{made['contact_id']}", one, TELEPHONY)
    closed = await a.send("DELETE", f"{callbacks}/{made['contact_id']}", one, TELEPHONY)
    assert closed["outcome"] == "cancelled"
    await a.send("POST", callbacks, callbacks, TELEPHONY, {**CALLBACK, "urgency": "P0"})

    for path, method, status, answer in a.seen:
        documented = doc["paths"][path][method]["responses"][str(status)]
        schema = documented["content"]["application/json"]["schema"]
        errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(answer)]
        assert errors == [], (path, method, status, answer, errors)
        # Closed: an answer with a key the shape does not know is not valid.
        assert not jsonschema_rs.validator_for(schema).is_valid({**answer, "surprise": 1})
