"""The API's route table: one list that builds both the aiohttp router and the OpenAPI
document, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractResource

from router.config.tokens import ApiChannel, Role
from router.service.auth import Principal, authenticate, require
from router.service.http import ApiError, error_answer

Handler = Callable[[web.Request, Principal | None], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]


@dataclass(frozen=True)
class Query:
    """One query parameter a route reads: its JSON schema (string values are checked by
    the handler against it) and whether it must be given."""

    name: str
    schema: Schema
    description: str = ""
    required: bool = False


# A local day as the query parameters take it: years 1970 to 9998 (``audit.api.parse_day``:
# a report or a day's hours reads the day after too, and there is none after 9999-12-31).
DAY: Schema = {
    "type": "string",
    "format": "date",
    "pattern": r"^(19[7-9]\d|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-\d{2}-\d{2}$",
}


def choice(values: Iterable[str]) -> Schema:
    return {"type": "string", "enum": list(values)}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[Role, ...] = ()  # empty: no token needed
    channel: ApiChannel | None = None
    body: Schema | None = None
    responses: dict[int, str] = field(default_factory=lambda: {200: "OK"})
    tag: str = "api"
    websocket: bool = False
    query: tuple[Query, ...] = ()
    # Response bodies that are not the default (JSON object for 2xx, Error for >= 400).
    schemas: dict[int, Schema] = field(default_factory=dict)


# Where the app keeps its route table (the OpenAPI document is built from it).
ROUTES: web.AppKey[list[Route]] = web.AppKey("routes", list)


def wants_upgrade(request: web.Request) -> bool:
    """True when the request asks to become a websocket (``Upgrade: websocket``)."""
    return request.headers.get("Upgrade", "").lower() == "websocket"


def bind(
    route: Route, tokens_key: web.AppKey[Any]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``route``: authenticates and authorises, then calls it;
    an error is answered in the API's format here (the app has no middleware)."""

    roles, channel = tuple(route.roles), route.channel

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            principal: Principal | None = None
            if roles:
                principal = authenticate(request, request.app[tokens_key], route.websocket)
                # ``require``'s checks, asked here first: it is called (to refuse) only
                # when one fails, not on every request.
                if principal.role not in roles or (
                    channel is not None
                    and principal.role is Role.INTEGRATION
                    and channel not in principal.channels
                ):
                    require(principal, roles, channel)
            if route.websocket and not wants_upgrade(request):
                raise ApiError(
                    426,
                    "upgrade_required",
                    f"{route.path} is a websocket: send GET with 'Upgrade: websocket' and "
                    f"'Connection: Upgrade', got a plain {request.method}",
                    headers={"Upgrade": "websocket", "Connection": "Upgrade"},
                )
            return await route.handler(request, principal)
        except Exception as exc:  # in the API's error format (``http.error_answer``)
            return error_answer(request, exc)

    handle.__name__ = route.handler.__name__
    return handle


# The last route's path: any path at all, also one with a line break in it (``.`` stops
# there, and aiohttp's own plain-text 404 answered such a request).
UNMATCHED_PATH = r"/{path:[\s\S]*}"


def unmatched_handler() -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The answer to a request no route takes, as aiohttp's router gives it (404, or 405
    with the methods the path takes in ``Allow``) but in the API's error format: the
    app's last route takes every path and method (``app.build_app``). Only the resources
    whose path could begin the request's are asked (each route's text before its first
    ``{``, listed once the router is frozen), not every route of the API."""
    resources: list[tuple[str, AbstractResource]] = []

    async def unmatched(request: web.Request) -> web.StreamResponse:
        if not resources:
            own = request.match_info.route.resource
            resources.extend(
                (r.canonical.partition("{")[0], r)
                for r in request.app.router.resources()
                if r is not own
            )
        path = request.rel_url.path_safe  # what the router matches
        allowed: set[str] = set()
        for prefix, resource in resources:
            if path.startswith(prefix):
                found, methods = await resource.resolve(request)
                if found is None:
                    allowed |= methods
        problem = (
            web.HTTPMethodNotAllowed(request.method, allowed) if allowed else web.HTTPNotFound()
        )
        return error_answer(request, problem)

    return unmatched
