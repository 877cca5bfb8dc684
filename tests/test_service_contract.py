"""The API contract, checked from outside: schemathesis over ``/openapi.json`` for every
role against a real loopback server, and the contract's promises one by one (depth and
size limits, 405 with Allow, HEAD, 426 on websockets, declared parameters and answers,
``problems[]`` on every error)."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest
import schemathesis
from aiohttp import WSMsgType, web
from schemathesis.engine import events, from_schema

from router.app import build_app, route_table
from router.config.tokens import TokenSpec
from router.service.http import MAX_JSON_DEPTH
from router.service.routes import Route
from tests.service_support import Client, bearer, login, make_service, region
from tests.test_service_security import allowed, concrete_path

DEEP = "[" * 1000 + "]" * 1000  # 2 KB of nesting: the parser's recursion limit, not ours

# One token per role (and integration channel), so every operation is tried by a caller
# it lets in as well as by callers it turns away.
ROLES = ("supervisor", "agent-a001", "telephony", "website", "omaolo", "sms", "public")

# Failures a check reports where the check measures something other than the contract;
# each with the evidence. Nothing else is ignored.
NOT_MEASURABLE: dict[tuple[str, str], str] = {
    # schemathesis sends plain HTTP and cannot upgrade to a websocket, so a schema-valid
    # GET of a websocket is always answered 426 (documented in the entry, with the
    # Upgrade header); test_websocket_over_plain_get_is_426 checks that answer.
    ("GET /api/agent/ws", "positive_data_acceptance"): "websocket",
    ("GET /api/supervisor/ws", "positive_data_acceptance"): "websocket",
    ("GET /api/channels/chat/ws", "positive_data_acceptance"): "websocket",
    # A merge patch is valid against the service it merges into: a step without a
    # duration only last, default_urgency among the (patched) urgencies, overflow
    # without loops. JSON Schema cannot say that; the 400 lists each problem.
    ("PATCH /api/supervisor/services/{name}", "positive_data_acceptance"): "cross-field",
    # The body's optional id must be the path's agent id: a rule across path and body.
    ("PUT /api/supervisor/agents/{agent_id}", "positive_data_acceptance"): "id from the path",
    # If-Match must name the agent's ETag as it is now (read with GET): state.
    ("POST /api/supervisor/agents/{agent_id}/move", "positive_data_acceptance"): "ETag of now",
    # to >= from, at most 31 days, rows only with format=csv: rules across parameters.
    ("GET /api/supervisor/audit/export", "positive_data_acceptance"): "cross-parameter",
    # to >= from and at most 92 days: a rule across parameters.
    ("GET /api/supervisor/feedback", "positive_data_acceptance"): "cross-parameter",
    # limit at most 100 with eligible=true (1000 without): a rule across parameters.
    ("GET /api/supervisor/contacts", "positive_data_acceptance"): "cross-parameter",
    # window_start must be the start of a window offered now (GET .../windows): state.
    ("POST /api/channels/callbacks", "positive_data_acceptance"): "offered windows",
}


@contextmanager
def serving(**settings: Any) -> Iterator[str]:
    """A real server on a loopback port, run by its own event loop in a thread (the
    schemathesis engine makes blocking requests); yields its base URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(build_app(make_service(**settings)))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        box["runner"] = runner
        box["port"] = runner.addresses[0][1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(box["runner"].cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="contract-server", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the test server did not start in 30 s")
    try:
        yield f"http://127.0.0.1:{box['port']}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


def callable_by(document: dict[str, Any], token: str) -> dict[str, Any]:
    """The document with only the operations ``token`` may call (the open ones go with
    the supervisor's run): each operation is fuzzed once, by a caller it lets in, which
    keeps the run short. Callers it turns away are the security matrix's job, and
    schemathesis still tries every operation here without a token and with a bad one."""
    spec = next(t for t in region().tokens if t.name == token)
    channels = {c.value for c in spec.channels}
    paths: dict[str, Any] = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            roles = op.get("x-roles")
            if roles is None:
                mine = spec.role.value == "supervisor"
            else:
                mine = spec.role.value in roles and (
                    spec.role.value != "integration"
                    or "x-channel" not in op
                    or op["x-channel"] in channels
                )
            if mine:
                paths.setdefault(path, {})[method] = op
    return {**document, "paths": paths}


def contract_failures(base: str, token: str, max_examples: int) -> list[str]:
    """Every check failure of a schemathesis run (examples, coverage and fuzzing phases,
    every check) as the caller ``token`` over the operations it may call, but for
    NOT_MEASURABLE."""
    config = schemathesis.Config.from_dict(
        {
            "base-url": base,
            "headers": {"Authorization": f"Bearer demo-{token}"},
            "generation": {"max-examples": max_examples, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": True},
        }
    )
    with urllib.request.urlopen(f"{base}/openapi.json", timeout=30) as answer:
        document = json.load(answer)
    schema = schemathesis.openapi.from_dict(callable_by(document, token), config=config)
    found: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError | events.NonFatalError):
            found.append(f"{token}: error {event}")
        if not isinstance(event, events.ScenarioFinished):
            continue
        recorder = event.recorder
        for case_id, checks in recorder.checks.items():
            for check in checks:
                info = check.failure_info
                if info is None or (recorder.label, check.name) in NOT_MEASURABLE:
                    continue
                seen = recorder.interactions.get(case_id)
                answer = seen.response.content[:300] if seen and seen.response else b""
                found.append(
                    f"{token}: {recorder.label} {check.name}: {info.failure.title}\n"
                    f"  {info.code_sample}\n  -> {answer!r}"
                )
    return sorted(set(found))


@pytest.mark.parametrize("token", ROLES)
def test_schemathesis_finds_nothing_for_any_role(token: str) -> None:
    """`--checks all` over every operation, a few examples each (bounded for the suite)."""
    with serving() as base:
        failures = contract_failures(base, token, max_examples=3)
    assert failures == [], "\n".join(failures)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("token", ROLES)
def test_schemathesis_finds_nothing_for_any_role_thoroughly(token: str) -> None:
    with serving() as base:
        failures = contract_failures(base, token, max_examples=60)
    assert failures == [], "\n".join(failures)


# ---------------------------------------------------------------- one promise at a time

MakeClient = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(build_app(make_service()))


def _token_for(route: Route) -> TokenSpec | None:
    """A demo token the route lets in (None for an open route)."""
    if not route.roles:
        return None
    return next(t for t in region().tokens if allowed(route, t))


def _headers(token: TokenSpec | None) -> dict[str, str]:
    return bearer(token.name) if token is not None else {}


def _table() -> list[Route]:
    return route_table(make_service())


async def _error(r: aiohttp.ClientResponse, status: int) -> dict[str, Any]:
    """The error body, checked to carry status and problems[] (always a list)."""
    assert r.status == status, (r.status, await r.text())
    body: dict[str, Any] = await r.json()
    assert body["error"]["status"] == status
    assert isinstance(body["error"]["problems"], list), body
    error: dict[str, Any] = body["error"]
    return error


BODY_ROUTES = [r for r in _table() if r.body is not None and not r.websocket]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=lambda r: f"{r.method} {r.path}")
async def test_a_deeply_nested_body_is_400_not_500(client: Client, route: Route) -> None:
    token = _token_for(route)
    r = await client.request(
        route.method,
        concrete_path(route.path, token),
        data=DEEP,
        headers={**_headers(token), "Content-Type": "application/json"},
    )
    if r.status == 404:  # the route looks its resource up before the body (put agent)
        return
    error = await _error(r, 400)
    assert error["code"] == "invalid_json"
    assert f"more than {MAX_JSON_DEPTH} levels" in error["message"]


async def test_a_body_just_within_the_depth_limit_is_read(client: Client) -> None:
    # 32 levels is allowed: the answer is about the content, not the nesting.
    nested: object = "x"
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = [nested]
    r = await client.post(
        "/api/agent/presence", json={"presence": nested}, headers=bearer("agent-a001")
    )
    error = await _error(r, 400)
    assert error["code"] == "invalid_input" and error["problems"][0]["field"] == "presence"


async def _answer(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=3)
    assert msg.type is WSMsgType.TEXT, msg  # a frame, not a closed socket
    body: dict[str, Any] = msg.json()
    return body


async def test_a_deeply_nested_frame_is_an_error_frame_on_every_websocket(
    client: Client,
) -> None:
    agent = await login(client, "a001")
    await agent.ws.send_str(DEEP)
    error = await agent.next("error")
    assert error["code"] == "invalid_json" and isinstance(error["problems"], list)
    await agent.send({"type": "heartbeat", "id": "after"})  # the socket still works
    assert (await agent.next("ack"))["id"] == "after"

    chat = await client.ws_connect("/api/channels/chat/ws?access_token=demo-public")
    await chat.send_str(DEEP)
    frame = await _answer(chat)
    assert frame["type"] == "error" and frame["code"] == "invalid_json", frame
    await chat.send_str("not json")
    assert (await _answer(chat))["code"] == "invalid_json"

    sup = await client.ws_connect("/api/supervisor/ws?access_token=demo-supervisor")
    assert (await _answer(sup))["type"] == "stats"
    await sup.send_str(DEEP)
    frame = await _answer(sup)
    assert frame["type"] == "error" and frame["code"] == "invalid_json", frame
    assert isinstance(frame["problems"], list)
    await sup.send_json({"type": "stats"})
    assert (await _answer(sup))["type"] == "stats"
    for ws in (agent.ws, chat, sup):
        await ws.close()


def _paths() -> dict[str, set[str]]:
    """Each path of the table with the methods it answers (HEAD wherever GET)."""
    methods: dict[str, set[str]] = {}
    for route in _table():
        served = methods.setdefault(route.path, set())
        served.add(route.method)
        if route.method == "GET":
            served.add("HEAD")
    return methods


@pytest.mark.parametrize("path", sorted(_paths()))
async def test_a_method_a_path_does_not_take_is_405_with_allow(client: Client, path: str) -> None:
    served = _paths()[path]
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "TRACE"} - served):
        r = await client.request(method, concrete_path(path), headers=bearer("supervisor"))
        await _error(r, 405)
        assert set(r.headers["Allow"].split(",")) == served, (method, path)


GET_ROUTES = [r for r in _table() if r.method == "GET" and not r.websocket]


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: r.path)
async def test_head_answers_wherever_get_does(client: Client, route: Route) -> None:
    token = _token_for(route)
    path = concrete_path(route.path, token)
    got = await client.get(path, headers=_headers(token))
    head = await client.head(path, headers=_headers(token))
    assert head.status == got.status, (path, got.status, head.status)
    assert await head.read() == b""


WEBSOCKETS = [r for r in _table() if r.websocket]


@pytest.mark.parametrize("route", WEBSOCKETS, ids=lambda r: r.path)
async def test_websocket_over_plain_get_is_426(client: Client, route: Route) -> None:
    token = _token_for(route)
    r = await client.get(route.path, headers=_headers(token))
    error = await _error(r, 426)
    assert error["code"] == "upgrade_required"
    assert r.headers["Upgrade"] == "websocket"
    doc = await (await client.get("/openapi.json")).json()
    answer = doc["paths"][route.path]["get"]["responses"]["426"]
    assert answer["headers"]["Upgrade"]["schema"] == {"const": "websocket"}


async def _doc(client: Client) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    doc: dict[str, Any] = await r.json()
    return doc


async def test_every_query_parameter_is_declared_with_its_type(client: Client) -> None:
    doc = await _doc(client)

    def params(path: str) -> dict[str, tuple[bool, str | None]]:
        op = doc["paths"][path]["get"]
        return {
            p["name"]: (p["required"], p["schema"].get("type"))
            for p in op.get("parameters", ())
            if p["in"] == "query"
        }

    assert params("/api/supervisor/contacts") == {
        "service": (False, "string"),
        "site": (False, "string"),
        "state": (False, "string"),
        "limit": (False, "integer"),
        "offset": (False, "integer"),
        "eligible": (False, "string"),
    }
    assert params("/api/supervisor/audit/export") == {
        "from": (True, "string"),
        "to": (False, "string"),
        "format": (False, "string"),
        "rows": (False, "string"),
    }
    assert params("/api/supervisor/reports/daily") == {
        "date": (False, "string"),
        "by": (False, "string"),
        "format": (False, "string"),
    }
    assert params("/api/channels/callbacks/windows") == {"service": (True, "string")}
    # And a required one left out is a 400 naming it.
    r = await client.get("/api/channels/callbacks/windows", headers=bearer("telephony"))
    error = await _error(r, 400)
    assert error["message"].startswith("service: required")
    assert [p["field"] for p in error["problems"]] == ["service"]


async def test_every_write_route_lists_its_503_and_every_error_is_the_error_schema(
    client: Client,
) -> None:
    doc = await _doc(client)
    writes = 0
    for item in doc["paths"].values():
        for method, op in item.items():
            if method != "get":
                writes += 1
                assert "503" in op["responses"], op["operationId"]
    assert writes > 20
    error = doc["components"]["schemas"]["Error"]["properties"]["error"]
    assert "problems" in error["required"]


async def test_readyz_declares_the_body_it_returns(client: Client) -> None:
    doc = await _doc(client)
    r = await client.get("/readyz")
    assert r.status == 200
    body = await r.json()
    for status in ("200", "503"):
        schema = doc["paths"]["/readyz"]["get"]["responses"][status]["content"]["application/json"][
            "schema"
        ]
        assert set(schema["required"]) <= set(body) <= set(schema["properties"])
        assert body["status"] in schema["properties"]["status"]["enum"]


async def test_errors_always_carry_problems(client: Client) -> None:
    await _error(await client.get("/api/agent/state"), 401)
    await _error(await client.get("/nowhere"), 404)
    await _error(await client.delete("/healthz"), 405)
    r = await client.get("/api/supervisor/services/nowhere", headers=bearer("supervisor"))
    await _error(r, 404)


async def test_agent_login_and_presence_bodies_are_what_the_openapi_says(
    client: Client,
) -> None:
    doc = await _doc(client)
    login_op = doc["paths"]["/api/agent/login"]["post"]["requestBody"]
    presence_op = doc["paths"]["/api/agent/presence"]["post"]["requestBody"]
    agent = bearer("agent-a001")
    # Every property the login body declares is accepted...
    props = login_op["content"]["application/json"]["schema"]["properties"]
    assert set(props) == {"presence"}
    r = await client.post("/api/agent/login", json={"presence": "not_ready"}, headers=agent)
    assert r.status == 200, await r.text()
    # ...and presence needs its body, as its schema says.
    assert presence_op["required"] is True
    assert presence_op["content"]["application/json"]["schema"]["required"] == ["presence"]
    r = await client.post("/api/agent/presence", headers=agent)
    assert (await _error(r, 400))["problems"] == [
        {"field": "presence", "reason": "required key is missing"}
    ]
    body = {"presence": "not_ready", "reason": "training"}
    r = await client.post("/api/agent/presence", json=body, headers=agent)
    assert r.status == 200, await r.text()
    assert (await r.json())["agent"]["reason"] == "training"
