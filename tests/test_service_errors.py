"""Errors in the API's format without a middleware: each route's handler answers its own
(``routes.bind``), and the last route answers what no route takes (``routes.unmatched_handler``)
as aiohttp's router would, 404 or 405 with ``Allow``."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from router.service.auth import Principal, TokenStore
from router.service.http import ApiError
from router.service.routes import UNMATCHED_PATH, Route, bind, unmatched_handler

TOKENS = web.AppKey("tokens", TokenStore)


async def broken(request: web.Request, principal: Principal | None) -> web.StreamResponse:
    raise RuntimeError("a bug")


async def moved(request: web.Request, principal: Principal | None) -> web.StreamResponse:
    raise web.HTTPFound("/elsewhere")


async def refused(request: web.Request, principal: Principal | None) -> web.StreamResponse:
    raise ApiError(409, "conflict", "taken", [("x", "why")])


async def served(routes: list[Route]) -> TestClient[Any, Any]:
    app = web.Application()
    app[TOKENS] = TokenStore([])
    for route in routes:
        app.router.add_route(route.method, route.path, bind(route, TOKENS))
    app.router.add_route("*", UNMATCHED_PATH, unmatched_handler())
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    return client


async def test_a_handler_s_errors_are_answered_in_the_api_s_format(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = await served(
        [
            Route("GET", "/broken", broken, "fails"),
            Route("GET", "/moved", moved, "redirects"),
            Route("POST", "/refused", refused, "refuses"),
        ]
    )
    try:
        with caplog.at_level(logging.ERROR, logger="yhteys.http"):
            r = await client.get("/broken")
        assert r.status == 500
        assert (await r.json())["error"] == {
            "status": 500,
            "code": "internal",
            "message": "internal error; see the service log",
            "problems": [],
        }
        (logged,) = [rec for rec in caplog.records if rec.name == "yhteys.http"]
        assert logged.getMessage() == "unhandled error on GET /broken"
        assert logged.exc_info is not None and "a bug" in str(logged.exc_info[1])
        r = await client.get("/moved", allow_redirects=False)  # a redirect is no error
        assert (r.status, r.headers["Location"]) == (302, "/elsewhere")
        r = await client.post("/refused")
        assert r.status == 409
        assert (await r.json())["error"]["problems"] == [{"field": "x", "reason": "why"}]
    finally:
        await client.close()


async def test_what_no_route_takes_is_404_or_405_with_allow() -> None:
    client = await served(
        [Route("GET", "/thing", refused, "get"), Route("PUT", "/thing", refused, "put")]
    )
    try:
        r = await client.delete("/thing")
        assert r.status == 405 and r.headers["Allow"] == "GET,PUT"
        assert (await r.json())["error"] == {
            "status": 405,
            "code": "method_not_allowed",
            "message": "Method Not Allowed",
            "problems": [],
        }
        r = await client.get("/nothing/here")
        assert r.status == 404
        assert (await r.json())["error"]["code"] == "not_found"
        # A path with a line break in it (%0A): '.' in the last route's pattern stopped at
        # it, and aiohttp's own plain-text 404 answered.
        r = await client.get("/nothing%0Ahere/%C2%BA")
        assert r.status == 404
        assert (await r.json())["error"]["code"] == "not_found"
        r = await client.head("/nothing")
        assert r.status == 404
    finally:
        await client.close()
