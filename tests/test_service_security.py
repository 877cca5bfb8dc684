"""Authentication and authorisation of every endpoint, driven by the route table.

For each route that needs a token and each token of the sample region (by role, and for
integrations by channel): no token or a bad one is 401 with the JSON error body and
``WWW-Authenticate: Bearer``; a role the route does not list, or an integration token
without the route's channel, is 403; an allowed token gets past both (a dummy path or
body may still be 400, 404 or 409). Websockets are refused at the handshake the same way.
New routes are covered as soon as they are in the table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp.test_utils import TestClient

from router.app import build_app, route_table
from router.config import parse_region
from router.config.tokens import ApiChannel, Role, TokenSpec, hash_token
from router.core.model import ContactState
from router.service.routes import Route
from router.service.service import Service
from tests.service_support import REGION_FILE, agent_ws, bearer, make_service, next_of, region

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

# Which demo token stands for each role (integrations: every one, to check channels).
_REPRESENTATIVE = {Role.AGENT: "agent-a001", Role.SUPERVISOR: "supervisor", Role.PUBLIC: "public"}
_PARAM = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})+))?\}")
_DUMMIES = ("x1", "1", "a", "x", "cb-1")


def _tokens() -> list[TokenSpec]:
    chosen = []
    for spec in region().tokens:
        if spec.role is Role.INTEGRATION or _REPRESENTATIVE.get(spec.role) == spec.name:
            chosen.append(spec)
    assert {t.role for t in chosen} == set(Role), "the sample region lacks a role's token"
    return chosen


def allowed(route: Route, token: TokenSpec) -> bool:
    if token.role not in route.roles:
        return False
    return not (
        token.role is Role.INTEGRATION
        and route.channel is not None
        and route.channel not in token.channels
    )


def concrete_path(path: str, token: TokenSpec | None = None, source: str | None = None) -> str:
    """The route's path with a dummy value that its parameter patterns accept; a
    ``{source}`` is one the token may use (or ``source``)."""

    def fill(m: re.Match[str]) -> str:
        pattern = m.group(2)
        if m.group(1) == "source":
            mine = sorted(token.sources) if token is not None else []
            if source or mine:
                return source or mine[0]
        for dummy in _DUMMIES:
            if pattern is None or re.fullmatch(pattern, dummy):
                return dummy
        raise AssertionError(f"no dummy value fits {m.group(0)} in {path}")

    return _PARAM.sub(fill, path)


def _table() -> list[Route]:
    return route_table(make_service())


TABLE = _table()
GUARDED = [r for r in TABLE if r.roles]
TOKENS = _tokens()


def _id(route: Route) -> str:
    return f"{'WS' if route.websocket else route.method} {route.path}"


CASES = [
    pytest.param(route, token, id=f"{_id(route)} as {token.name}")
    for route in GUARDED
    for token in TOKENS
]


@pytest.fixture
async def client(aiohttp_client: MakeClient) -> Client:
    return await aiohttp_client(build_app(make_service()))


async def call(
    client: Client,
    route: Route,
    headers: dict[str, str] | None = None,
    query: str = "",
    token: TokenSpec | None = None,
    source: str | None = None,
) -> aiohttp.ClientResponse:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if route.body is not None:
        kwargs["json"] = {}
    path = concrete_path(route.path, token, source) + query
    return await client.request(route.method, path, **kwargs)


async def handshake_status(
    client: Client, route: Route, headers: dict[str, str] | None = None, query: str = ""
) -> tuple[int, dict[str, str]]:
    """The status a websocket upgrade gets (101 when it succeeds)."""
    try:
        ws = await client.ws_connect(concrete_path(route.path) + query, headers=headers or {})
    except aiohttp.WSServerHandshakeError as exc:
        return exc.status, dict(exc.headers or {})
    await ws.close()
    return 101, {}


async def assert_401(response: aiohttp.ClientResponse) -> None:
    assert response.status == 401, await response.text()
    assert response.headers["WWW-Authenticate"] == "Bearer"
    body = await response.json()
    assert body["error"]["status"] == 401 and body["error"]["code"] == "unauthorized"
    assert body["error"]["message"]


# ------------------------------------------------------------------ the table


def test_the_table_has_guarded_routes_and_every_role_is_exercised() -> None:
    assert len(GUARDED) >= 10
    assert {role for r in GUARDED for role in r.roles} >= {Role.AGENT, Role.INTEGRATION}


def test_routes_without_a_token_only_read() -> None:
    """Anything that changes state needs a token; an open route is a conscious choice."""
    open_routes = [_id(r) for r in TABLE if not r.roles]
    assert {"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json"} <= set(open_routes)
    assert all(name.startswith(("GET ", "WS ")) for name in open_routes), open_routes


def test_integration_routes_are_bound_to_a_channel() -> None:
    """Otherwise any integration token (the work-queue feed, say) could call them."""
    unbound = [_id(r) for r in GUARDED if Role.INTEGRATION in r.roles and r.channel is None]
    assert unbound == []


def test_every_channel_of_the_api_has_an_integration_token_in_the_sample() -> None:
    covered = {ch for t in TOKENS for ch in t.channels}
    used = {r.channel for r in GUARDED if r.channel is not None}
    assert used <= covered <= set(ApiChannel)


# ------------------------------------------------------------------ per route


@pytest.mark.parametrize("route", GUARDED, ids=_id)
async def test_no_token_or_a_bad_token_is_401(client: Client, route: Route) -> None:
    bad_headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
        {"Authorization": "demo-supervisor"},  # a good secret without the scheme
    ]
    if route.websocket:
        for headers in bad_headers:
            status, response_headers = await handshake_status(client, route, headers)
            assert status == 401, headers
            assert response_headers.get("WWW-Authenticate") == "Bearer"
        status, _ = await handshake_status(client, route, query="?access_token=wrong")
        assert status == 401
        return
    for headers in bad_headers:
        await assert_401(await call(client, route, headers))
    await assert_401(await call(client, route, query="?access_token=wrong"))


@pytest.mark.parametrize(("route", "token"), CASES)
async def test_each_token_is_allowed_exactly_where_its_role_and_channel_fit(
    client: Client, route: Route, token: TokenSpec
) -> None:
    headers = bearer(token.name)
    expect_ok = allowed(route, token)
    if route.websocket:
        status, _ = await handshake_status(client, route, headers)
        assert status == (101 if expect_ok else 403)
        # The same token in the query string (what browsers use) is judged the same way.
        status, _ = await handshake_status(client, route, query=f"?access_token=demo-{token.name}")
        assert status == (101 if expect_ok else 403)
        return
    response = await call(client, route, headers, token=token)
    if expect_ok:
        assert response.status not in (401, 403), await response.text()
        assert response.status < 500, await response.text()
        if "{source}" in route.path and token.role is Role.INTEGRATION:
            # Bound to its source systems too: another source's items are not its own.
            response = await call(client, route, headers, token=token, source="not-mine")
            assert response.status == 403, await response.text()
    else:
        assert response.status == 403, await response.text()
        body = await response.json()
        assert body["error"]["code"] == "forbidden"
        assert "WWW-Authenticate" not in response.headers


# ------------------------------------------------------------------ agents act as themselves


@pytest.fixture
async def offered_to_a002(aiohttp_client: MakeClient) -> tuple[Client, Service]:
    """a002 holds an offer for a call; a001 is logged in but not ready."""
    service = make_service()
    client = await aiohttp_client(build_app(service))
    r = await client.post(
        "/api/agent/login", json={"presence": "not_ready"}, headers=bearer("agent-a001")
    )
    assert r.status == 200
    r = await client.post("/api/agent/login", headers=bearer("agent-a002"))
    assert r.status == 200
    call_body = {
        "call_id": "k1",
        "caller": "+358401234567",
        "ivr": {"service": "nursing_advice", "language": "fi"},
    }
    r = await client.post("/api/channels/phone/calls", json=call_body, headers=bearer("telephony"))
    assert (await r.json())["agent_id"] == "a002"
    return client, service


async def test_an_agent_cannot_decline_or_accept_another_agents_offer(
    offered_to_a002: tuple[Client, Service],
) -> None:
    client, service = offered_to_a002
    for action in ("decline", "accept"):
        r = await client.post(f"/api/agent/offers/phone-k1/{action}", headers=bearer("agent-a001"))
        assert r.status in (404, 409), (action, r.status)
    view = service.engine.contact("phone-k1")
    assert view.state is ContactState.OFFERED and view.agent_id == "a002"
    # The body cannot name another agent either.
    r = await client.post(
        "/api/agent/offers/phone-k1/accept",
        json={"agent_id": "a002"},
        headers=bearer("agent-a001"),
    )
    assert r.status in (400, 404, 409)
    assert service.engine.contact("phone-k1").state is ContactState.OFFERED
    # a002 itself may.
    r = await client.post("/api/agent/offers/phone-k1/accept", headers=bearer("agent-a002"))
    assert r.status == 200


async def test_an_agent_cannot_complete_another_agents_contact_even_over_its_websocket(
    offered_to_a002: tuple[Client, Service],
) -> None:
    client, service = offered_to_a002
    r = await client.post("/api/agent/offers/phone-k1/accept", headers=bearer("agent-a002"))
    assert r.status == 200
    r = await client.post(
        "/api/agent/contacts/phone-k1/complete",
        json={"outcome": "resolved"},
        headers=bearer("agent-a001"),
    )
    assert r.status in (404, 409)
    ws = await agent_ws(client, "a001", login=False)
    await ws.send_json({"type": "complete", "contact_id": "phone-k1", "id": 1})
    error = await next_of(ws, "error")
    assert error["id"] == 1 and error["status"] in (404, 409)
    await ws.send_json({"type": "logout", "agent_id": "a002", "id": 2})
    error = await next_of(ws, "error")
    assert error["status"] == 400  # no field names another agent
    await ws.close()
    view = service.engine.contact("phone-k1")
    assert view.state is ContactState.ASSIGNED and view.agent_id == "a002"
    assert service.engine.agent("a002").status.value == "busy"


async def test_an_agent_token_sees_only_its_own_state(
    offered_to_a002: tuple[Client, Service],
) -> None:
    client, _ = offered_to_a002
    r = await client.get("/api/agent/state", headers=bearer("agent-a001"))
    state = await r.json()
    assert state["agent"]["id"] == "a001" and state["contacts"] == []
    ws = await client.ws_connect("/api/agent/ws?access_token=demo-agent-a001")
    first = await next_of(ws, "state")
    assert first["agent"]["id"] == "a001"
    await ws.close()


CONTACT_ROUTES = [
    r for r in GUARDED if Role.AGENT in r.roles and "{contact_id}" in r.path and not r.websocket
]


def minimal_body(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """A body with every required field filled, to get past validation to the ownership
    check."""
    if schema is None:
        return None
    body: dict[str, Any] = {}
    for name in schema.get("required", []):
        prop = schema.get("properties", {}).get(name, {})
        if "enum" in prop:
            body[name] = prop["enum"][0]
        else:
            body[name] = {"boolean": False, "integer": 1, "number": 1, "object": {}}.get(
                prop.get("type", "string"), "hello"
            )
    return body


@pytest.mark.parametrize("accepted", [False, True], ids=["offered", "assigned"])
@pytest.mark.parametrize("route", CONTACT_ROUTES, ids=_id)
async def test_agent_contact_endpoints_never_act_on_another_agents_contact(
    offered_to_a002: tuple[Client, Service], route: Route, accepted: bool
) -> None:
    client, service = offered_to_a002
    if accepted:
        r = await client.post("/api/agent/offers/phone-k1/accept", headers=bearer("agent-a002"))
        assert r.status == 200
    before = service.engine.contact("phone-k1")
    path = route.path.replace("{contact_id}", "phone-k1")
    assert "{" not in path, "fill the route's other parameters here"
    r = await client.request(
        route.method, path, json=minimal_body(route.body), headers=bearer("agent-a001")
    )
    assert r.status in (400, 403, 404, 409), (r.status, await r.text())
    after = service.engine.contact("phone-k1")
    assert (after.state, after.agent_id) == (before.state, before.agent_id)
    assert service.engine.agent("a001").contacts == ()


def _region_with_tokens(extra: list[dict[str, Any]], drop: tuple[str, ...] = ()) -> Any:
    """The sample region file with token entries added and some removed by name, read
    the way ``yhteys serve`` reads it (hours left out, as in ``region()``)."""
    doc = yaml.safe_load(Path(REGION_FILE).read_text(encoding="utf-8"))
    doc["tokens"] = [t for t in doc["tokens"] if t["name"] not in drop] + extra
    return dataclasses.replace(parse_region(doc, "rotated.yaml"), hours={}, after_hours={})


async def test_a_rotated_token_works_beside_the_old_one_until_the_old_entry_is_removed(
    aiohttp_client: MakeClient,
) -> None:
    """docs/configuration.md, "Rotating a token": a second entry for the same role (and
    the same agent) with its own name and hash; both secrets work until the old entry is
    taken out of the file and the service restarted."""
    new = [
        {"name": "supervisor-2027", "role": "supervisor", "sha256": hash_token("s3cret-27")},
        {
            "name": "agent-a001-2027",
            "role": "agent",
            "agent": "a001",
            "sha256": hash_token("a001-s3cret-27"),
        },
    ]
    old_supervisor, new_supervisor = "demo-supervisor", "s3cret-27"
    old_agent, new_agent = "demo-agent-a001", "a001-s3cret-27"

    async def answers(client: Client, path: str, secret: str) -> int:
        r = await client.get(path, headers={"Authorization": f"Bearer {secret}"})
        return r.status

    both = await aiohttp_client(build_app(Service(_region_with_tokens(new))))
    for secret in (old_supervisor, new_supervisor):
        assert await answers(both, "/api/supervisor/services", secret) == 200, secret
    for secret in (old_agent, new_agent):
        r = await both.get("/api/agent/state", headers={"Authorization": f"Bearer {secret}"})
        assert r.status == 200, secret
        assert (await r.json())["agent"]["id"] == "a001"  # the same agent either way

    dropped = ("supervisor", "agent-a001")
    after = await aiohttp_client(build_app(Service(_region_with_tokens(new, drop=dropped))))
    assert await answers(after, "/api/supervisor/services", old_supervisor) == 401
    assert await answers(after, "/api/supervisor/services", new_supervisor) == 200
    assert await answers(after, "/api/agent/state", old_agent) == 401
    assert await answers(after, "/api/agent/state", new_agent) == 200
