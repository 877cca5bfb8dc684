"""Operations endpoints over loopback: health, readiness, Prometheus metrics, OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from router.app import build_app, route_table
from router.core.model import ContactState
from router.instance import metrics_for
from router.service import ops
from router.service.openapi import strict, vocabulary
from router.service.routes import ROUTES
from router.service.service import Service, Settings
from tests.service_support import agent_ws, bearer, make_service, next_of, region

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

CALL = {
    "call_id": "k1",
    "caller": "+358401234567",
    "ivr": {"service": "nursing_advice", "language": "fi"},
    "site": "vaasa",
}
T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def served(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    service = make_service()
    return await aiohttp_client(build_app(service)), service


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(
    metrics: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return metrics[(name, frozenset(labels.items()))]


# ------------------------------------------------------------------ health and readiness


async def test_healthz_and_readyz_answer_without_a_token(served: tuple[Client, Service]) -> None:
    client, service = served
    r = await client.get("/healthz")
    assert r.status == 200 and await r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status == 200
    body = await r.json()
    assert body["status"] == "ready"
    assert body["waiting"] == 0 and body["websockets"] == 0
    assert body["events"] == service.runtime.applied
    await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    body = await (await client.get("/readyz")).json()
    assert body["waiting"] == 1 and body["events"] >= 1


async def test_readyz_is_503_until_the_dispatch_loop_runs() -> None:
    service = make_service()  # built, never started
    readyz = next(r for r in ops.routes(service, metrics_for(service)) if r.path == "/readyz")
    response = await readyz.handler(make_mocked_request("GET", "/readyz"), None)
    assert isinstance(response, web.Response)
    assert response.status == 503
    assert response.text is not None and json.loads(response.text) == {
        "status": "starting",
        "leader": True,  # alone, it keeps time itself
    }


# ------------------------------------------------------------------ metrics


async def test_metrics_after_a_call_is_routed_answered_and_completed(
    aiohttp_client: MakeClient,
) -> None:
    clock = FakeClock()
    service = Service(region(), Settings(), clock=clock)
    client = await aiohttp_client(build_app(service))
    ws = await agent_ws(client, "a001")
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    assert (await r.json())["action"] == "connect"
    await next_of(ws, "offer")
    clock.now = T0 + 12  # the nurse picks up 12 s after the call arrived
    r = await client.post(
        "/api/channels/phone/calls/k1/answered",
        json={"agent_id": "a001"},
        headers=bearer("telephony"),
    )
    assert (await r.json())["action"] == "connected"
    # A second caller waits: the nurse has a call in hand.
    clock.now = T0 + 20
    r = await client.post(
        "/api/channels/phone/calls", json={**CALL, "call_id": "k2"}, headers=bearer("telephony")
    )
    assert (await r.json())["action"] == "queue"
    clock.now = T0 + 50

    r = await client.get("/metrics")  # no token
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    during = samples(await r.text())
    assert value(during, "yhteys_queue_depth", service="nursing_advice") == 1
    assert value(during, "yhteys_oldest_wait_seconds", service="nursing_advice") == 30
    assert value(during, "yhteys_agents", status="busy") == 1
    assert sum(v for (name, _), v in during.items() if name == "yhteys_agents") == len(
        service.region.agents
    )
    for other in service.region.services:
        if other != "nursing_advice":
            assert value(during, "yhteys_queue_depth", service=other) == 0

    await ws.send_json({"type": "complete", "contact_id": "phone-k1", "outcome": "resolved"})
    await next_of(ws, "closed")
    r = await client.get("/metrics")
    text = await r.text()
    assert (
        'yhteys_contacts_total{channel="voice",outcome="resolved",service="nursing_advice"} 1.0'
        in text.splitlines()
    )
    after = samples(text)
    # The wait is observed when an agent takes the call (k2 is at most offered yet).
    assert value(after, "yhteys_wait_seconds_count", service="nursing_advice") == 1
    assert value(after, "yhteys_wait_seconds_sum", service="nursing_advice") == 12
    assert value(after, "yhteys_wait_seconds_bucket", service="nursing_advice", le="10.0") == 0
    assert value(after, "yhteys_wait_seconds_bucket", service="nursing_advice", le="20.0") == 1
    k2_waits = service.engine.contact("phone-k2").state is ContactState.WAITING
    assert value(after, "yhteys_queue_depth", service="nursing_advice") == int(k2_waits)
    assert value(after, "yhteys_decisions_total", kind="Assigned") == 1
    assert value(after, "yhteys_decisions_total", kind="Closed") == 1
    assert value(after, "yhteys_decisions_total", kind="Redirected") == 0  # exported at 0
    assert value(after, "yhteys_dispatch_seconds_count") == service.runtime.applied
    assert value(after, "yhteys_dispatch_seconds_sum") > 0
    await ws.close()


async def test_redirected_and_abandoned_calls_are_counted_with_their_outcome(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    p0 = {**CALL, "call_id": "k0", "ivr": {**CALL["ivr"], "urgency": "P0"}}  # type: ignore[dict-item]
    await client.post("/api/channels/phone/calls", json=p0, headers=bearer("telephony"))
    await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    await client.post("/api/channels/phone/calls/k1/abandoned", headers=bearer("telephony"))
    metrics = samples(await (await client.get("/metrics")).text())
    labels = {"channel": "voice", "service": "nursing_advice"}
    assert value(metrics, "yhteys_contacts_total", outcome="redirected", **labels) == 1
    assert value(metrics, "yhteys_contacts_total", outcome="abandoned", **labels) == 1
    assert ("yhteys_wait_seconds_count", frozenset({("service", "nursing_advice")})) in metrics


async def test_building_the_app_twice_delivers_each_decision_once(
    aiohttp_client: MakeClient,
) -> None:
    service = make_service()
    build_app(service)  # an app built and dropped (a test, a reload) wires nothing again
    client = await aiohttp_client(build_app(service))
    ws = await agent_ws(client, "a001")
    r = await client.post("/api/channels/phone/calls", json=CALL, headers=bearer("telephony"))
    assert (await r.json())["action"] == "connect"
    # Everything the call caused is queued to the socket before the answer to a later
    # frame: read up to that answer and count the offers.
    await ws.send_json({"type": "no_such_action", "id": "marker"})
    kinds: list[str] = []
    while True:
        msg: dict[str, Any] = await ws.receive_json(timeout=3)
        if msg.get("id") == "marker":
            break
        kinds.append(msg["type"])
    assert kinds.count("offer") == 1, kinds
    metrics = samples(await (await client.get("/metrics")).text())
    assert value(metrics, "yhteys_decisions_total", kind="Offered") == 1
    await ws.close()


def test_each_service_has_its_own_registry_and_metrics_attach_once() -> None:
    a, b = make_service(), make_service()
    listeners = len(a.runtime.listeners)
    route_table(a)
    route_table(a)  # building the table again must not count everything twice
    assert metrics_for(a) is metrics_for(a)
    assert metrics_for(a).registry is not metrics_for(b).registry
    assert a.runtime.listeners.count(metrics_for(a).on_decision) == 1
    assert a.runtime.latency_observers.count(metrics_for(a).observe_dispatch) == 1
    assert len(a.runtime.listeners) >= listeners


# ------------------------------------------------------------------ OpenAPI


def walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk(v)


def resolve(doc: dict[str, Any], ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part]
    return node


async def fetch_openapi(client: Client) -> dict[str, Any]:
    r = await client.get("/openapi.json")  # no token
    assert r.status == 200
    assert r.content_type == "application/json"
    doc: dict[str, Any] = await r.json()
    return doc


async def test_openapi_is_a_well_formed_openapi_3_1_document(
    served: tuple[Client, Service],
) -> None:
    client, _ = served
    doc = await fetch_openapi(client)
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["components"]["securitySchemes"]["bearer"] == {
        **doc["components"]["securitySchemes"]["bearer"],
        "type": "http",
        "scheme": "bearer",
    }
    error = doc["components"]["schemas"]["Error"]
    assert error["properties"]["error"]["required"] == ["status", "code", "message", "problems"]
    tags = {t["name"] for t in doc["tags"]}
    operation_ids: set[str] = set()
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    for path, item in doc["paths"].items():
        assert path.startswith("/")
        in_path = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            assert method in methods, (path, method)
            assert op["summary"] and op["tags"][0] in tags
            assert op["operationId"] not in operation_ids
            operation_ids.add(op["operationId"])
            params = op.get("parameters", [])
            assert {p["name"] for p in params if p["in"] == "path"} == in_path, path
            assert all(p["required"] for p in params if p["in"] == "path")
            assert op["responses"], (method, path)
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]
            if "requestBody" in op:
                assert op["requestBody"]["content"]["application/json"]["schema"]["type"]
            for requirement in op["security"]:
                assert set(requirement) <= set(doc["components"]["securitySchemes"])
    for node in walk(doc):
        if "$ref" in node:
            assert resolve(doc, node["$ref"]) is not None


async def test_openapi_documents_exactly_the_routes_the_app_serves(
    served: tuple[Client, Service],
) -> None:
    client, service = served
    doc = await fetch_openapi(client)
    documented = {(m.upper(), path) for path, item in doc["paths"].items() for m in item}
    app = client.app
    assert isinstance(app, web.Application)
    # Every route but the last, which answers paths and methods no route takes (404,
    # 405) in the API's error format.
    *routes, unmatched = app.router.routes()
    assert unmatched.method == "*" and unmatched.resource is not None
    assert unmatched.resource.canonical == "/{path}"
    served_routes = {
        (route.method, route.resource.canonical)
        for route in routes
        if route.method != "HEAD" and route.resource is not None
    }
    assert documented == served_routes
    engine = service.engine
    words = vocabulary(
        service.region, {name: tuple(engine.service(name).urgencies) for name in engine.services()}
    )
    # And the security each operation declares is what the route enforces.
    for route in app[ROUTES]:
        op = doc["paths"][re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)][
            "get" if route.websocket else route.method.lower()
        ]
        if route.roles:
            assert op["security"] == [{"bearer": []}]
            assert {"401", "403"} <= set(op["responses"])
            assert op["x-roles"] == [role.value for role in route.roles]
            if route.channel is not None:
                assert op["x-channel"] == route.channel.value
        else:
            assert op["security"] == []
            assert "401" not in op["responses"]
        if route.websocket:
            assert "101" in op["responses"]
        if route.body is not None:
            # The route's schema made as exact as the body reader (openapi.strict).
            assert op["requestBody"]["content"]["application/json"]["schema"] == strict(
                route.body, words
            )
        for status in route.responses:
            assert str(status) in op["responses"] or (route.websocket and status < 300)
        for status, response in op["responses"].items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == route.schemas.get(
                    int(status), {"$ref": "#/components/schemas/Error"}
                )


async def test_a_401_matches_the_documented_error_schema(served: tuple[Client, Service]) -> None:
    client, _ = served
    doc = await fetch_openapi(client)
    schema = doc["components"]["schemas"]["Error"]
    r = await client.get("/api/agent/state")
    assert r.status == 401
    body = await r.json()
    assert set(body) == set(schema["required"])
    assert set(schema["properties"]["error"]["required"]) <= set(body["error"])
    assert set(body["error"]) <= set(schema["properties"]["error"]["properties"])
