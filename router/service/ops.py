"""Operations endpoints: liveness, readiness (and later metrics and the OpenAPI document)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from router.service.auth import Principal
from router.service.routes import Route

if TYPE_CHECKING:
    from router.service.service import Service


def routes(service: Service) -> list[Route]:
    async def healthz(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        if not service.ready:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response(
            {
                "status": "ready",
                "waiting": service.engine.waiting_count,
                "events": service.runtime.applied,
            }
        )

    return [
        Route("GET", "/healthz", healthz, "Liveness: the process answers", tag="ops"),
        Route(
            "GET",
            "/readyz",
            readyz,
            "Readiness: the dispatch loop runs",
            tag="ops",
            responses={200: "ready", 503: "not ready"},
        ),
    ]
