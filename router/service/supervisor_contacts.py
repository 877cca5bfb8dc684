"""A supervisor's open contacts: the list in the one priority order, and moving,
offering and removing one contact.

No bulk deletion: ``remove`` takes one contact no agent has yet out of the queue, with a
reason (400 without one; 409 once an agent has it). It closes as ``cancelled`` and the
audit records who (the supervisor's token) and why (``router.service.audit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from router.config.reader import as_int
from router.core.errors import Conflict, UnknownContact
from router.core.events import ContactCancelled, ContactMoved, ManualOffer
from router.core.model import ContactState
from router.core.state import ContactView
from router.service.audit import Audit, Removal
from router.service.auth import Principal
from router.service.body_shapes import read_body
from router.service.desk import eligible_agents
from router.service.http import ApiError, BodyProblems
from router.service.logs import mask
from router.service.service import Service
from router.service.supervisor_shapes import MoveContactBody, OfferContactBody, RemoveContactBody
from router.service.supervisor_views import contact_detail

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# ``?eligible=true`` answers for at most this many rows, and names at most this many
# agents per contact (free ones first; ``eligible_total`` counts them all): the answer is
# built in one synchronous block of the dispatch loop, so it must stay small at any size.
ELIGIBLE_MAX_LIMIT = 100
ELIGIBLE_SHOWN = 20
OPEN_STATES = (
    ContactState.SCHEDULED,
    ContactState.WAITING,
    ContactState.OFFERED,
    ContactState.ASSIGNED,
)


class SupervisorContacts:
    """The supervisor's contact routes (``router.service.supervisor_routes`` lists them)."""

    def __init__(self, service: Service, audit: Audit) -> None:
        self.service = service
        self.audit = audit

    async def list_contacts(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        region = self.service.region
        query = request.query
        problems = BodyProblems()
        allowed = ("service", "site", "state", "limit", "offset", "eligible", "access_token")
        problems.only_known(query, allowed)
        service = query.get("service")
        if service is not None and service not in region.services:
            problems.add(
                "service",
                f"unknown service {service!r}; expected one of: {', '.join(region.services)}",
            )
        site = query.get("site")
        if site is not None and site not in region.sites:
            problems.add(
                "site", f"unknown site {site!r}; expected one of: {', '.join(region.sites)}"
            )
        state = query.get("state")
        if state is not None and state not in {s.value for s in OPEN_STATES}:
            problems.add(
                "state",
                f"unknown state {state!r}; expected one of: "
                + ", ".join(s.value for s in OPEN_STATES),
            )
        limit = _query_int(problems, query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _query_int(problems, query, "offset", 0, 0, None)
        with_eligible = query.get("eligible", "false")
        if with_eligible not in ("true", "false"):
            problems.add("eligible", f"expected true or false, got {with_eligible!r}")
        elif with_eligible == "true" and limit > ELIGIBLE_MAX_LIMIT:
            problems.add(
                "limit",
                f"at most {ELIGIBLE_MAX_LIMIT} with eligible=true, got {limit}; page with offset",
            )
        problems.raise_if_any()

        engine = self.service.engine
        rows: list[tuple[ContactView, int | None]] = []
        if state in (None, ContactState.WAITING.value):
            rows.extend((view, i) for i, view in enumerate(engine.waiting(), 1))
        if state != ContactState.WAITING.value:
            others = sorted(
                (
                    view
                    for view in engine.contacts()
                    if view.state is not ContactState.WAITING
                    and (state is None or view.state.value == state)
                ),
                key=lambda view: (view.due_at, view.seq),
            )
            rows.extend((view, None) for view in others)
        chosen = [
            (view, position)
            for view, position in rows
            if (service is None or view.service == service)
            and (site is None or view.spec.preferred_site == site)
        ]
        page = chosen[offset : offset + limit]
        listed = [contact_detail(view, position) for view, position in page]
        if with_eligible == "true":
            # The console's "eligible agents" column in the same request, not one per row.
            waiting = [view for view, _ in page if view.state is ContactState.WAITING]
            found = eligible_agents(self.service, waiting, ELIGIBLE_SHOWN)
            for row in listed:
                if row["id"] in found:
                    row["eligible"], row["eligible_total"] = found[row["id"]]
        return web.json_response(
            {"total": len(chosen), "offset": offset, "limit": limit, "contacts": listed}
        )

    def _contact_now(self, contact_id: str) -> dict[str, Any]:
        engine = self.service.engine
        view = engine.contact(contact_id)
        position = None
        if view.state is ContactState.WAITING:
            position = next(
                (i for i, w in enumerate(engine.waiting(), 1) if w.id == contact_id), None
            )
        return contact_detail(view, position)

    async def move_contact(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        self.service.engine.contact(contact_id)  # 404 before reading the body
        target = (await read_body(request, MoveContactBody, self.service)).service
        by = principal.name if principal is not None else ""
        await self.service.runtime.submit(ContactMoved(contact_id, target, by))
        return web.json_response(self._contact_now(contact_id))

    async def offer_contact(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        self.service.engine.contact(contact_id)  # 404 before reading the body
        agent_id = (await read_body(request, OfferContactBody)).agent_id
        by = principal.name if principal is not None else ""
        await self.service.runtime.submit(ManualOffer(contact_id, agent_id, by))
        return web.json_response(self._contact_now(contact_id))

    async def remove_contact(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        """One contact no agent has yet, out of the queue with a reason (outcome
        ``cancelled``). The ``Removal`` note (who, why) goes through the log ahead of the
        engine's ``ContactCancelled``, so every instance's audit records both."""
        contact_id = request.match_info["contact_id"]
        self.service.engine.contact(contact_id)  # 404 before reading the body
        reason = (await read_body(request, RemoveContactBody)).reason
        view = self.service.engine.contact(contact_id)
        if view.state is ContactState.ASSIGNED:
            raise ApiError(
                409,
                "conflict",
                f"contact {contact_id!r} is with agent {view.agent_id!r}; "
                "only the agent can complete it",
            )
        # Masked as in the logs: a reason is free text and must not carry a number or a
        # personal identity code into the log, the audit or its exports.
        why = mask(reason.strip())
        by = principal.name if principal is not None else ""
        await self.service.runtime.submit(Removal(contact_id, by, why))
        try:
            await self.service.runtime.submit(ContactCancelled(contact_id, why))
        except Conflict as exc:
            raise ApiError(409, "conflict", f"an agent has it now: {exc}") from None
        except UnknownContact:
            raise ApiError(409, "conflict", f"contact {contact_id!r} closed meanwhile") from None
        record = self.audit.get(contact_id)
        return web.json_response(self.audit.contact_json(record) if record is not None else {})


def _query_int(
    problems: BodyProblems,
    query: Mapping[str, str],
    key: str,
    default: int,
    low: int,
    high: int | None,
) -> int:
    text = query.get(key)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        problems.add(key, f"expected an integer, got {text!r}")
        return default
    checked = as_int(problems, key, value, low, high)
    return default if checked is None else checked
