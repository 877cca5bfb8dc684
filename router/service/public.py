"""Public status per service: open or closed, whether anyone can answer, how many wait,
the estimated wait.

For websites, IVR announcements and wallboards, with a public token (a supervisor token
works too). No personal data: service names and counts only, never contact ids, phone
numbers or agent names.

Opening and staffing are separate facts: a round-the-clock line with nobody logged in is
open (it takes contacts, which wait) but unstaffed, not closed.

- ``open``: within the service's opening hours (its phone line's; always, for a service
  without hours). Earlier versions also required staff for ``open``; that is ``staffed``.
- ``in_hours``: the same as ``open``, kept for clients written before the change.
- ``staffed``: at least one logged-in agent (available or not) could take a call of the
  service now: meets its requirement as a call is matched (a partner agent only while
  its cover is on) and takes calls, so someone can answer.
- ``availability``: the two in one word for callers: ``answering`` (open and staffed),
  ``open_unstaffed`` (open, but nobody who could answer is logged in: a contact waits
  until someone is), ``closed`` (outside opening hours, whoever is logged in).
- ``opens_at`` (epoch seconds): the next opening, only while closed.
- ``waiting``: contacts waiting for the service now.
- ``estimated_wait``: ``{"min_s", "max_s"}`` for a contact arriving now, or ``null`` when
  nobody who could serve it is serving now (nobody logged in, or all of them not ready:
  staffed, but no wait to promise) or the service is closed (a contact arriving now waits
  for the opening, ``opens_at``; the status page shows "–" then too); the published formula of
  :mod:`router.core.estimate` (whole minutes, recomputed per query, from the service's
  measured handle times and abandonment).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.config.tokens import Role
from router.core.model import Channel
from router.service.agent_answers import SERVICE_STATUS, SERVICE_STATUSES
from router.service.auth import Principal
from router.service.http import ApiError
from router.service.routes import Query, Route, choice
from router.service.service import Service


def availability(in_hours: bool, staffed: bool) -> str:
    """Opening and staffing in one word a caller's page can show."""
    if not in_hours:
        return "closed"
    return "answering" if staffed else "open_unstaffed"


def service_status(
    service: Service, name: str, opened: frozenset[str] | None = None, language: str | None = None
) -> dict[str, Any]:
    """``opened``: ``service.open_services()``, when the caller asks for several;
    ``language``: the caller's, when known (only agents who speak it count)."""
    engine = service.engine
    opened = service.open_services() if opened is None else opened
    # An agent who could also serve closed services counts whole for the open ones.
    estimate = engine.service_estimate(
        name,
        service.handle_times.of(name),
        service.handle_times.abandon_share(name),
        opened,
        language=language,
    )
    waiting, _ = engine.waiting_in("service", name)
    schedule = service.region.hours_of(name).schedule(Channel.VOICE)
    now = service.runtime.clock()
    in_hours = name in opened
    # Staff are the logged-in agents who meet the requirement, the not ready too
    # (weighted by how many services each can serve): above zero exactly when one is
    # logged in. The estimate's servers count only those serving now.
    staffed = (estimate.staff or 0.0) > 0
    status: dict[str, Any] = {
        "service": name,
        "open": in_hours,
        "in_hours": in_hours,
        "staffed": staffed,
        "availability": availability(in_hours, staffed),
        "waiting": waiting,
        "estimated_wait": (
            {"min_s": estimate.low_s, "max_s": estimate.high_s}
            if estimate.known and in_hours
            else None
        ),
    }
    if not in_hours:
        status["opens_at"] = schedule.next_opening(now)
    return status


FIELDS = (
    "`open` (within opening hours; no longer says whether anyone is logged in), "
    "`in_hours` (the same as `open`), `staffed` (someone logged in can answer), "
    "`availability` (`answering`, `open_unstaffed` or `closed`), `waiting`, "
    "`estimated_wait` ({min_s, max_s}, or null when nobody could serve it or while closed), "
    "and `opens_at` (epoch s) while closed"
)


def caller_language(service: Service, request: web.Request) -> str | None:
    """``?language=``: the caller's language, one of the region's (None when not given)."""
    language = request.query.get("language")
    languages = service.region.languages
    if language is not None and language not in languages:
        reason = f"expected one of: {', '.join(languages)}, got {language!r}"
        raise ApiError(400, "invalid_input", f"language: {reason}", [("language", reason)])
    return language


def routes(service: Service) -> list[Route]:
    async def all_services(request: web.Request, _: Principal | None) -> web.StreamResponse:
        language = caller_language(service, request)
        opened = service.open_services()
        return web.json_response(
            [service_status(service, name, opened, language) for name in service.region.services]
        )

    async def one_service(request: web.Request, _: Principal | None) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in service.region.services:
            raise ApiError(404, "not_found", f"no service {name!r}")
        language = caller_language(service, request)
        return web.json_response(service_status(service, name, language=language))

    roles = (Role.PUBLIC, Role.SUPERVISOR)
    language = Query(
        "language",
        choice(service.region.languages),
        "the caller's language: only agents who speak it count for `staffed` and the "
        "estimated wait (default: any language the service is answered in)",
    )
    denied = {401: "no valid token", 403: "not a public or supervisor token"}
    return [
        Route(
            "GET",
            "/api/public/services",
            all_services,
            "Every service: open, staffed, waiting, estimated wait (no personal data)",
            roles,
            tag="public",
            responses={200: f"status per service: {FIELDS}", 400: "unknown language", **denied},
            schemas={200: SERVICE_STATUSES},
            query=(language,),
        ),
        Route(
            "GET",
            "/api/public/services/{name}",
            one_service,
            "One service: open, staffed, waiting, estimated wait (no personal data)",
            roles,
            tag="public",
            responses={
                200: f"the service's status: {FIELDS}",
                400: "unknown language",
                **denied,
                404: "unknown service",
            },
            schemas={200: SERVICE_STATUS},
            query=(language,),
        ),
    ]
