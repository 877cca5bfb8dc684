"""The deadline alerts still standing, for a supervisor's console that opens or
reconnects: ``GET /api/supervisor/alerts``.

The supervisors' websocket (``router.service.stats``) pushes ``escalation_warning`` and
``deadline_missed`` as the engine raises them; a console that was not open then would
otherwise never learn of them, and a contact minutes past due would look like no alarm at
all. Here they are state, not events: read off the engine's open contacts now, so every
instance (in Redis mode each has the engine's state) answers the same, a snapshot loaded
at start included, and an alert whose contact was answered or closed is simply not there.

An alert stands for an open contact no agent has in hand (the engine raises none for an
assigned one): ``escalation_warning`` from ``due_at - warn_before`` on, and
``deadline_missed`` too from ``due_at`` on, as the pushes would have told a console open
all along. ``warn_before`` is the urgency class's ``warn_before_s``, else the service's
``warn_fraction`` of the class's target (``router.core.deadlines.warn_before``, the rule
the engine arms the warning timer with), for the contact's service and class as they
are now.

Costs one pass over the open contacts, the same as the console's waiting list that it
is reloaded with (when the contacts changed), not one per statistics push.
"""

from __future__ import annotations

import heapq
from typing import Any, Literal

from aiohttp import web

from router.config.tokens import Role
from router.core.deadlines import warn_before
from router.core.model import ContactState, ServiceSpec
from router.core.state import ContactView
from router.service.auth import Principal
from router.service.body_shapes import Answer, answer_schema
from router.service.http import ApiError
from router.service.routes import Query, Route
from router.service.service import Service

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
WARNING = "escalation_warning"
MISSED = "deadline_missed"


class Alert(Answer):
    """One standing alert: the keys of the pushed one, and since when it stands."""

    kind: Literal["escalation_warning", "deadline_missed"]
    contact_id: str
    service: str
    urgency: str
    state: str
    due_at: float
    since: float


class Alerts(Answer):
    at: float
    total: int
    alerts: list[Alert]


ALERTS_SCHEMA = answer_schema(Alerts)


def _of(view: ContactView, spec: ServiceSpec, now: float) -> list[tuple[str, float]]:
    """The (kind, since) of the alerts standing for one contact now."""
    if view.state is ContactState.ASSIGNED:
        return []
    found = []
    before = warn_before(spec, view.urgency)
    if before > 0 and now >= view.due_at - before:
        found.append((WARNING, view.due_at - before))
    if now >= view.due_at:
        found.append((MISSED, view.due_at))
    return found


def standing(service: Service, now: float, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The alerts standing at ``now``, the newest first (at most ``limit``; ``total``
    counts them all)."""
    engine = service.engine
    specs = {name: engine.service(name) for name in engine.services()}
    alerts = [
        (since, kind, view)
        for view in engine.contacts()
        for kind, since in _of(view, specs[view.service], now)
    ]
    newest = heapq.nlargest(limit, alerts, key=lambda a: (a[0], a[1] == MISSED, a[2].id))
    return {
        "at": now,
        "total": len(alerts),
        "alerts": [
            {
                "kind": kind,
                "contact_id": view.id,
                "service": view.service,
                "urgency": view.urgency,
                "state": view.state.value,
                "due_at": view.due_at,
                "since": since,
            }
            for since, kind, view in newest
        ],
    }


def _limit(request: web.Request) -> int:
    text = request.query.get("limit")
    if text is None:
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise ApiError(
            400,
            "invalid_input",
            f"limit: expected an integer from 1 to {MAX_LIMIT}",
            [("limit", f"expected an integer from 1 to {MAX_LIMIT}, got {text!r}")],
        )
    return value


def routes(service: Service) -> list[Route]:
    async def alerts(request: web.Request, _: Principal | None) -> web.StreamResponse:
        limit = _limit(request)
        return web.json_response(standing(service, service.runtime.clock(), limit))

    return [
        Route(
            "GET",
            "/api/supervisor/alerts",
            alerts,
            "The deadline alerts standing now: open contacts no agent has that are inside "
            "their warning window or past due (what a console open all along was pushed, "
            "less the contacts answered or closed since); the newest first",
            (Role.SUPERVISOR,),
            tag="supervisor",
            schemas={200: ALERTS_SCHEMA},
            responses={
                200: "the standing alerts",
                400: "invalid limit",
                401: "no valid token",
                403: "not a supervisor token",
            },
            query=(
                Query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                    f"at most this many, the newest (default {DEFAULT_LIMIT}); total counts all",
                ),
            ),
        )
    ]
