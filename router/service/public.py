"""Public status per service: open or closed, how many wait, the estimated wait.

For websites, IVR announcements and wallboards, with a public token (a supervisor token
works too). No personal data: service names and counts only, never contact ids, phone
numbers or agent names.

- ``open``: within the service's opening hours (its phone line's; always, for a service
  without hours) and at least one logged-in agent (available or not) can serve it, i.e.
  meets its skill requirement. ``in_hours`` and ``staffed`` say which, and ``opens_at``
  (epoch seconds) when the next opening is, while closed by the hours.
- ``waiting``: contacts waiting for the service now.
- ``estimated_wait``: ``{"min_s", "max_s"}`` for a contact arriving now, or ``null`` when
  nobody could serve it; the published formula of :mod:`router.core.estimate` (whole
  minutes, recomputed per query, from the service's measured handle times and
  abandonment).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.config.tokens import Role
from router.core.model import Channel
from router.service.auth import Principal
from router.service.http import ApiError
from router.service.routes import Route
from router.service.service import Service


def service_status(service: Service, name: str) -> dict[str, Any]:
    engine = service.engine
    estimate = engine.service_estimate(
        name, service.handle_times.of(name), service.handle_times.abandon_share(name)
    )
    waiting, _ = engine.waiting_in("service", name)
    schedule = service.region.hours_of(name).schedule(Channel.VOICE)
    now = service.runtime.clock()
    in_hours = schedule.is_open(now)
    # Servers are the logged-in agents who meet the requirement (weighted by how many
    # services each can serve): above zero exactly when one is logged in.
    staffed = estimate.servers > 0
    status: dict[str, Any] = {
        "service": name,
        "open": in_hours and staffed,
        "in_hours": in_hours,
        "staffed": staffed,
        "waiting": waiting,
        "estimated_wait": (
            {"min_s": estimate.low_s, "max_s": estimate.high_s} if estimate.known else None
        ),
    }
    if not in_hours:
        status["opens_at"] = schedule.next_opening(now)
    return status


def routes(service: Service) -> list[Route]:
    async def all_services(request: web.Request, _: Principal | None) -> web.StreamResponse:
        return web.json_response(
            [service_status(service, name) for name in service.region.services]
        )

    async def one_service(request: web.Request, _: Principal | None) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in service.region.services:
            raise ApiError(404, "not_found", f"no service {name!r}")
        return web.json_response(service_status(service, name))

    roles = (Role.PUBLIC, Role.SUPERVISOR)
    denied = {401: "no valid token", 403: "not a public or supervisor token"}
    return [
        Route(
            "GET",
            "/api/public/services",
            all_services,
            "Every service: open, waiting, estimated wait (no personal data)",
            roles,
            tag="public",
            responses={200: "status per service", **denied},
        ),
        Route(
            "GET",
            "/api/public/services/{name}",
            one_service,
            "One service: open, waiting, estimated wait (no personal data)",
            roles,
            tag="public",
            responses={200: "the service's status", **denied, 404: "unknown service"},
        ),
    ]
