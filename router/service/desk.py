"""What the pages need that the rest of the API did not say: a callback's attempt
history for the agent who has it, and the agents a supervisor may offer a waiting
contact to.

- ``GET /api/agent/contacts/{contact_id}/attempts`` (agent): ``{contact_id, attempts:
  [{at, attempt, result, retry_at}]}`` from the contact's audit trail, for a contact
  offered or assigned to the calling agent (409 otherwise, 404 when unknown).
- ``GET /api/supervisor/contacts/{contact_id}/eligible`` (supervisor): ``{contact_id,
  requirement, agents: [{id, name, status, site, team, free}]}``: the logged-in agents
  who meet the contact's requirement as it is now (skills, levels, language,
  authorisation); ``free`` says whether the agent has room in the contact's channel now
  (capacity left, nothing in hand that blocks it), which a supervisor's offer needs:
  ``.../offer`` overrides not ready and wrap-up, never capacity.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from router.config.tokens import Role
from router.core.model import Channel, ContactState
from router.core.state import ContactView
from router.service.agent_answers import ATTEMPTS
from router.service.audit import Audit
from router.service.auth import Principal
from router.service.eligible_index import EligibleIndex
from router.service.http import ApiError
from router.service.routes import Route
from router.service.service import Service
from router.service.supervisor_shapes import ELIGIBLE_SCHEMA
from skills.expression import parse_requirement
from skills.requirement import CompiledRequirement

MINE = (ContactState.OFFERED, ContactState.ASSIGNED)


def eligible_agents(
    service: Service, contacts: list[ContactView], shown: int | None = None
) -> dict[str, tuple[list[dict[str, Any]], int]]:
    """For each contact, the logged-in agents who meet its requirement now and whether
    each has room for a supervisor's offer, and how many they are: what ``.../eligible``
    answers for one (``shown=None``: all, in the engine's order), for a page of them in
    one pass. With ``shown``, at most that many per contact, the free ones first: a page
    of contacts must not cost a dict per contact and agent at 20k agents.

    Contacts with the same requirement and channel have the same answer, so each such
    pair is answered once per call and each requirement compiled once; the agents are
    read once into an index (``router.service.eligible_index``) that matches a
    requirement once per skill mask, not once per agent."""
    if not contacts:
        return {}
    catalogue = service.region.catalogue
    index = EligibleIndex(service.engine)
    compiled: dict[str, CompiledRequirement] = {}
    answers: dict[tuple[str, Channel], tuple[list[dict[str, Any]], int]] = {}
    found: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for view in contacts:
        key = (view.requirement, view.channel)
        answer = answers.get(key)
        if answer is None:
            requirement = compiled.get(view.requirement)
            if requirement is None:
                requirement = compiled[view.requirement] = parse_requirement(
                    view.requirement, catalogue
                ).compile(catalogue)
            answer = answers[key] = index.answer(requirement, view.channel, shown)
        found[view.id] = answer
    return found


def routes(service: Service, audit: Audit) -> list[Route]:

    async def attempts(request: web.Request, principal: Principal | None) -> web.StreamResponse:
        if principal is None or principal.agent is None:
            raise ApiError(403, "forbidden", "an agent token is required")
        contact_id = request.match_info["contact_id"]
        view = service.engine.contact(contact_id)  # 404 when unknown
        if view.agent_id != principal.agent or view.state not in MINE:
            raise ApiError(
                409, "conflict", f"contact {contact_id!r} is not offered or assigned to you"
            )
        record = audit.get(contact_id)
        changes = audit.changes(record) if record is not None else iter(())
        return web.json_response(
            {
                "contact_id": contact_id,
                "attempts": [
                    {key: change.get(key) for key in ("at", "attempt", "result", "retry_at")}
                    for change in changes
                    if change["change"] == "callback_attempt"
                ],
            }
        )

    async def eligible(request: web.Request, _: Principal | None) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        view = service.engine.contact(contact_id)  # 404 when unknown
        agents = eligible_agents(service, [view])[contact_id][0]
        return web.json_response(
            {"contact_id": contact_id, "requirement": view.requirement, "agents": agents}
        )

    return [
        Route(
            "GET",
            "/api/agent/contacts/{contact_id}/attempts",
            attempts,
            "The callback attempts made on a contact offered or assigned to you "
            "(time, number, result, next try)",
            (Role.AGENT,),
            tag="agent",
            responses={
                200: "the attempts, oldest first",
                401: "no valid token",
                403: "not an agent token",
                404: "no such contact",
                409: "not offered or assigned to you",
            },
            schemas={200: ATTEMPTS},
        ),
        Route(
            "GET",
            "/api/supervisor/contacts/{contact_id}/eligible",
            eligible,
            "The logged-in agents who meet an open contact's requirement now, and whether "
            "each has free capacity in its channel (whom it may be offered to)",
            (Role.SUPERVISOR,),
            tag="supervisor",
            schemas={200: ELIGIBLE_SCHEMA},
            responses={
                200: "the eligible agents",
                401: "no valid token",
                403: "not a supervisor token",
                404: "no such contact",
            },
        ),
    ]
