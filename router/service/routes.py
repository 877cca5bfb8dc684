"""The API's route table: one list that builds both the aiohttp router and the OpenAPI
document, so the two cannot drift apart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from router.config.tokens import ApiChannel, Role
from router.service.auth import Principal, authenticate, require

Handler = Callable[[web.Request, Principal | None], Awaitable[web.StreamResponse]]
Schema = dict[str, Any]


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


def bind(
    route: Route, tokens_key: web.AppKey[Any]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for ``route``: authenticates and authorises, then calls it."""

    async def handle(request: web.Request) -> web.StreamResponse:
        principal: Principal | None = None
        if route.roles:
            principal = authenticate(request, request.app[tokens_key], route.websocket)
            require(principal, route.roles, route.channel)
        return await route.handler(request, principal)

    handle.__name__ = route.handler.__name__
    return handle
