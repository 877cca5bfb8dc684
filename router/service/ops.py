"""Operations endpoints: liveness, readiness, Prometheus metrics and the OpenAPI document.

None of them needs a token. ``/metrics`` carries no personal data (counts per service,
channel, outcome and agent status), but it is meant for an internal scrape: expose it only
to the monitoring network, not through the public load balancer.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from router.service import openapi
from router.service.auth import Principal
from router.service.metrics import Metrics
from router.service.replicated import ReplicatedRuntime
from router.service.routes import ROUTES, Route

if TYPE_CHECKING:
    from router.service.service import Service


# What /readyz answers, ready or not (the counts only when ready; store in Redis mode).
READY_SCHEMA: dict[str, object] = {
    "type": "object",
    "required": ["status", "leader"],
    "properties": {
        "status": {
            "enum": ["ready", "starting", "not_ready", "stalled"],
            "description": "stalled: Redis mode, something stored cannot be read (see problem)",
        },
        "leader": {"type": "boolean", "description": "this instance runs the dispatcher"},
        "store": {
            "enum": ["reachable", "unreachable", "not_answering"],
            "description": "Redis mode only; not_answering: a log read is overdue (a stall)",
        },
        "problem": {
            "type": "string",
            "description": "Redis mode: what keeps the instance from serving, in words "
            "(the cause of an unreachable store, an unreadable log entry by its id, "
            "catching up); see docs/redis.md, the runbook",
        },
        "lease_problem": {
            "type": "string",
            "description": "Redis mode: why no instance can take the lease",
        },
        "waiting": {"type": "integer", "minimum": 0, "description": "ready only"},
        "events": {"type": "integer", "minimum": 0, "description": "ready only"},
        "websockets": {"type": "integer", "minimum": 0, "description": "ready only"},
    },
    "additionalProperties": False,
}


def routes(service: Service, metrics: Metrics) -> list[Route]:
    document: tuple[dict[str, tuple[str, ...]], bytes] | None = None

    async def healthz(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        return web.json_response({"status": "ok"})

    async def readyz(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        runtime = service.runtime
        body: dict[str, object] = {"leader": runtime.is_leader}
        if isinstance(runtime, ReplicatedRuntime):
            # Redis mode: what keeps the instance from serving, named (docs/redis.md,
            # "When something goes wrong").
            if runtime.store_error is not None and not runtime.store_ok:
                body["store"] = "unreachable"
            elif runtime.not_answering_s():
                body["store"] = "not_answering"
            else:
                body["store"] = "reachable"
            problem = runtime.problem()
            if problem is not None:
                body["problem"] = problem
            if runtime.lease_problem is not None:
                body["lease_problem"] = runtime.lease_problem
            if runtime.stalled is not None:
                return web.json_response({"status": "stalled", **body}, status=503)
        if not service.ready or not runtime.running or not runtime.started.is_set():
            return web.json_response({"status": "starting", **body}, status=503)
        if not runtime.healthy:  # the store cannot be reached or stalls, or shutting down
            return web.json_response({"status": "not_ready", **body}, status=503)
        return web.json_response(
            {
                "status": "ready",
                **body,
                "waiting": service.engine.waiting_count,
                "events": runtime.applied,
                "websockets": len(service.websockets),
            }
        )

    async def prometheus(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        body, content_type = metrics.render(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def openapi_json(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        nonlocal document
        # Built again when a supervisor changed a service's urgency classes (the document
        # lists each service's classes).
        engine = service.engine
        urgencies = {name: tuple(engine.service(name).urgencies) for name in engine.services()}
        if document is None or document[0] != urgencies:
            table: list[Route] = request.app[ROUTES]
            built = openapi.build(table, region=service.region, urgencies=urgencies)
            document = (urgencies, json.dumps(built, indent=1).encode())
        return web.Response(body=document[1], content_type="application/json")

    return [
        Route("GET", "/healthz", healthz, "Liveness: the process answers", tag="ops"),
        Route(
            "GET",
            "/readyz",
            readyz,
            "Readiness: the dispatch loop runs (and, in Redis mode, is caught up with the "
            "store, which answers). 503 bodies say why: status starting, not_ready or "
            "stalled, and in Redis mode store (reachable, unreachable, not_answering) "
            "and problem (the cause in words)",
            tag="ops",
            responses={
                200: "ready",
                503: "not ready (starting, catching up, the store unreachable or stalled)",
            },
            schemas={200: READY_SCHEMA, 503: READY_SCHEMA},
        ),
        Route(
            "GET",
            "/metrics",
            prometheus,
            "Prometheus metrics (no token: expose to the internal scrape network only)",
            tag="ops",
            responses={200: "Prometheus text exposition"},
        ),
        Route(
            "GET",
            "/openapi.json",
            openapi_json,
            "This API as an OpenAPI 3.1 document",
            tag="ops",
            responses={200: "the OpenAPI document"},
        ),
    ]
