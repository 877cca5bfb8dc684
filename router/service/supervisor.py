"""Supervisors: live edits of agents and services, moving and offering contacts, statistics.

Every change is an engine event applied in order with everything else, so it takes effect
at once: an agent given Swedish is offered a waiting Swedish call straight away, a
service's new target re-orders the contacts already waiting. Input is checked by the same
rules as the region file (``router.config.loader.read_agent`` / ``read_service``), every
problem reported at once (400); unknown agents, services and contacts are 404; changes
the current state does not allow are 409. A refused request changes nothing.

- Agents are edited in the shape of one entry of the region file's ``agents:`` list
  (``PUT``, the id in the path); ``move`` is the same edit for team and site only.
- Services are edited with a JSON merge patch (RFC 7396) of the service in the shape of
  one entry of the ``services:`` list: objects merge (``{"urgencies": {"P3": {"target_s":
  1800}}}`` changes one target and keeps the rest), lists replace (``steps``), ``null``
  removes a key (back to its default). Services themselves are added in the region file.
- Presence: ``available`` or ``not_ready`` logs an offline agent in; ``offline`` logs out.
  While the agent holds assigned work, ``not_ready`` and ``offline`` need ``force: true``
  (409 otherwise): not ready keeps the work in hand, offline returns it to the queue in
  its original place.
- No bulk deletion: ``remove`` takes one contact no agent has yet out of the queue, with
  a reason (400 without one; 409 once an agent has it). It closes as ``cancelled`` and
  the audit records who (the supervisor's token) and why (``router.service.audit``).
- Live edits last until the service restarts; the region file is not rewritten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date
from typing import Any

from aiohttp import web

from router.calendar.opening_hours import Schedule
from router.config.loader import read_agent, read_service
from router.config.tokens import Role
from router.core.errors import Conflict, StaleUpdate, UnknownContact
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    ContactCancelled,
    ContactMoved,
    Event,
    ManualOffer,
    PresenceChanged,
    ServiceUpdated,
)
from router.core.model import (
    AgentChoice,
    AgentSpec,
    ContactState,
    Presence,
    ServiceSpec,
    Step,
    StepKind,
    UrgencyClass,
)
from router.core.state import AgentView, ContactView
from router.service.audit import Audit, Removal, parse_day
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, read_fields, read_json
from router.service.logs import mask
from router.service.openapi import NOT_NULL
from router.service.routes import DAY, Query, Route, Schema, choice
from router.service.service import Service
from router.service.stats import Stats
from router.service.views import agent_json, contact_json

SUPERVISOR = (Role.SUPERVISOR,)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
OPEN_STATES = (
    ContactState.SCHEDULED,
    ContactState.WAITING,
    ContactState.OFFERED,
    ContactState.ASSIGNED,
)
SUPERVISOR_REASON = "supervisor"
MAX_REMOVAL_REASON = 500
STALE_RETRIES = 3

# --------------------------------------------------------------------- shapes


def agent_mapping(spec: AgentSpec, languages: tuple[str, ...]) -> dict[str, Any]:
    """An agent in the shape of an entry of the region file's ``agents:`` list
    (languages in the catalogue's order)."""
    abilities = spec.abilities
    return {
        "id": spec.id,
        "name": spec.name,
        "team": spec.team,
        "site": spec.site,
        "skills": dict(abilities.skills),
        "languages": [code for code in languages if code in abilities.languages]
        + sorted(set(abilities.languages) - set(languages)),
        "authorisations": sorted(abilities.authorisations),
        "capacity": {channel.value: n for channel, n in spec.capacity.items()},
        **({"display_name": spec.display_name} if spec.display_name else {}),
        **({"partner": spec.partner} if spec.partner else {}),
    }


def agent_detail(view: AgentView, languages: tuple[str, ...]) -> dict[str, Any]:
    """What a supervisor sees of an agent: its state and its configuration."""
    config = agent_mapping(view.spec, languages)
    del config["id"]
    return {**agent_json(view), **config}


def _urgency_mapping(urgency: UrgencyClass) -> dict[str, Any]:
    body: dict[str, Any] = {"target_s": urgency.target_s}
    if urgency.redirect is not None:
        body["redirect"] = urgency.redirect
    if urgency.warn_before_s is not None:
        body["warn_before_s"] = urgency.warn_before_s
    return body


def _step_mapping(step: Step) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": step.kind.value}
    if step.duration_s is not None:
        body["duration_s"] = step.duration_s
    if step.kind is StepKind.RELAXED:
        body["relax_levels"] = step.relax_levels
    if step.overflow_to is not None:
        body["overflow_to"] = step.overflow_to
    return body


def service_mapping(spec: ServiceSpec) -> dict[str, Any]:
    """A service in the shape of an entry of the region file's ``services:`` list: every
    field of ``ServiceSpec`` (a PATCH merges into this and reads it back, so a field left
    out here would silently return to its default; a round-trip test holds them equal)."""
    return {
        "name": spec.name,
        "requirement": str(spec.requirement),
        "urgencies": {name: _urgency_mapping(u) for name, u in spec.urgencies.items()},
        "default_urgency": spec.default_urgency,
        "steps": [_step_mapping(step) for step in spec.steps],
        "agent_choice": spec.agent_choice.value,
        "wrapup_s": spec.wrapup_s,
        "offer_timeout_s": spec.offer_timeout_s,
        "decline_cooldown_s": spec.decline_cooldown_s,
        "timeout_cooldown_s": (
            spec.decline_cooldown_s if spec.timeout_cooldown_s is None else spec.timeout_cooldown_s
        ),
        "not_ready_on_decline": spec.not_ready_on_decline,
        "not_ready_on_timeout": spec.not_ready_on_timeout,
        "warn_fraction": spec.warn_fraction,
        "callback": {
            "attempts": spec.callback_attempts,
            "retry_s": spec.callback_retry_s,
            "window_s": spec.callback_window_s,
        },
    }


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def day_hours(schedule: Schedule, day: date) -> dict[str, Any]:
    """A schedule's hours on a local day: the intervals (local ``HH:MM``, ``24:00`` for
    midnight at the end), where they come from (``weekly``, ``holiday``, ``eve``,
    ``exception`` or ``always``) and the public holiday that day, if any."""
    plan = schedule.plan(day)
    return {
        "intervals": [{"from": _hhmm(a), "to": _hhmm(b)} for a, b in plan.hours],
        "source": plan.source,
        "holiday": plan.holiday,
    }


def contact_detail(view: ContactView, position: int | None) -> dict[str, Any]:
    """What a supervisor sees of a contact; ``position`` is its place (from 1) in the one
    priority order of waiting contacts, None when it is not waiting."""
    spec = view.spec
    return {
        **contact_json(view),
        "position": position,
        "requirement": view.requirement,
        "preferred_site": spec.preferred_site,
        "preferred_team": spec.preferred_team,
        "preferred_agent": spec.preferred_agent,
    }


def merge_patch(target: object, patch: object) -> object:
    """RFC 7396 JSON merge patch: objects merge recursively, ``null`` removes a key,
    anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    result: dict[object, object] = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --------------------------------------------------------------------- the API


class SupervisorApi:
    def __init__(self, service: Service, stats: Stats, audit: Audit) -> None:
        self.service = service
        self.stats = stats
        self.audit = audit
        # One change per service at a time: a patch is merged onto the settings in force
        # when it is applied, never onto settings another patch is replacing meanwhile.
        self._service_locks: dict[str, asyncio.Lock] = {}

    @property
    def _languages(self) -> tuple[str, ...]:
        return self.service.region.languages

    def _services_now(self) -> dict[str, ServiceSpec]:
        engine = self.service.engine
        return {name: engine.service(name) for name in self.service.region.services}

    def _service_name(self, request: web.Request) -> str:
        name = request.match_info["name"]
        if name not in self.service.region.services:
            raise ApiError(
                404,
                "not_found",
                f"no service {name!r}; services: {', '.join(self.service.region.services)}",
            )
        return name

    def _told_agent(self, agent_id: str) -> dict[str, Any]:
        """The agent as it is now. Its own websockets, on whichever instance, hear of the
        change from the applied event (``AgentHub.on_applied``)."""
        return agent_detail(self.service.engine.agent(agent_id), self._languages)

    # ------------------------------------------------------------ agents

    async def list_agents(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        return web.json_response(
            {
                "agents": [
                    agent_detail(view, self._languages) for view in self.service.engine.agents()
                ]
            }
        )

    async def get_agent(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        view = self.service.engine.agent(request.match_info["agent_id"])
        return web.json_response(agent_detail(view, self._languages))

    async def put_agent(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        self.service.engine.agent(agent_id)  # 404 before reading the body
        body = await read_json(request)
        problems = BodyProblems()
        if isinstance(body, dict):
            if "id" in body and body["id"] != agent_id:
                problems.add("id", f"the agent is {agent_id!r} (from the path); ids do not change")
            body = {**body, "id": agent_id}
        spec = read_agent(problems, "", body, self.service.region)
        problems.raise_if_any()
        return await self._update_agent(spec)

    async def move_agent(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        self.service.engine.agent(agent_id)  # 404 before reading the body
        f, problems = await read_fields(request, ("team",), ("site",))
        entry = agent_mapping(self.service.engine.agent(agent_id).spec, self._languages)
        if f.has("team"):
            entry["team"] = f.raw("team")
        if f.given("site"):
            entry["site"] = f.raw("site")
        else:
            del entry["site"]  # the new team's site
        spec = read_agent(problems, "", entry, self.service.region)
        problems.raise_if_any()
        return await self._update_agent(spec)

    async def _update_agent(self, spec: AgentSpec | None) -> web.StreamResponse:
        if spec is None:  # pragma: no cover - read_agent reported why
            raise ApiError(400, "invalid_input", "not a usable agent")
        await self.service.runtime.submit(AgentUpdated(spec))
        return web.json_response(self._told_agent(spec.id))

    async def presence(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        engine = self.service.engine
        engine.agent(agent_id)  # 404 before reading the body
        f, problems = await read_fields(request, ("presence",), ("reason", "force"))
        presence = f.enum("presence", Presence, "presence", Presence.AVAILABLE)
        reason = f.text("reason", "")
        force = f.flag("force", False)
        problems.raise_if_any()
        view = engine.agent(agent_id)
        if reason and presence is not Presence.NOT_READY:
            problems.add("reason", "only not_ready takes a reason")
            problems.raise_if_any()
        events: list[Event]
        if presence is Presence.OFFLINE:
            events = [AgentLoggedOut(agent_id, force)]  # the engine refuses without force
        else:
            assigned = [
                cid for cid in view.contacts if engine.contact(cid).state is ContactState.ASSIGNED
            ]
            if presence is Presence.NOT_READY and assigned and not force:
                raise ApiError(
                    409,
                    "conflict",
                    f"agent {agent_id!r} has assigned work in hand ({', '.join(assigned)}); "
                    "set force to make it not ready anyway (the work stays in hand)",
                )
            reason = (reason or SUPERVISOR_REASON) if presence is Presence.NOT_READY else ""
            if view.presence is Presence.OFFLINE:
                events = [AgentLoggedIn(agent_id, presence)]
                if presence is Presence.NOT_READY:
                    events.append(PresenceChanged(agent_id, presence, reason))
            else:
                events = [PresenceChanged(agent_id, presence, reason)]
        for event in events:
            await self.service.runtime.submit(event)
        return web.json_response(self._told_agent(agent_id))

    # ------------------------------------------------------------ services

    async def list_services(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        return web.json_response(
            {"services": [service_mapping(spec) for spec in self._services_now().values()]}
        )

    async def get_service(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        name = self._service_name(request)
        return web.json_response(service_mapping(self.service.engine.service(name)))

    async def service_hours(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        """The opening hours in force on a local day (default today on the region's
        clock): the service's own, and those of the channels that keep their own."""
        name = self._service_name(request)
        problems = BodyProblems()
        day = parse_day(problems, request.query, "date")
        problems.raise_if_any()
        hours = self.service.region.hours_of(name)
        now = self.service.runtime.clock()
        day = day or hours.default.day_of(now)
        channels = {
            channel.value: day_hours(schedule, day) for channel, schedule in hours.channels.items()
        }
        return web.json_response(
            {
                "service": name,
                "date": day.isoformat(),
                "timezone": hours.default.zone.key,
                "open_now": hours.default.is_open(now),
                **day_hours(hours.default, day),
                "channels": channels,
            }
        )

    async def patch_service(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        name = self._service_name(request)
        patch = await read_json(request)
        if not isinstance(patch, dict):
            raise ApiError(400, "invalid_input", "expected a JSON object (a merge patch)")
        problems = BodyProblems()
        if "name" in patch and patch["name"] != name:
            problems.add("name", f"the service is {name!r} (from the path); names do not change")
            patch = {k: v for k, v in patch.items() if k != "name"}
        async with self._service_locks.setdefault(name, asyncio.Lock()):
            # In Redis mode another instance may change the service between our read and
            # our write: the engine refuses a stale edit and it is redone on the new one.
            for _attempt in range(STALE_RETRIES):
                try:
                    return await self._apply_patch(name, patch, problems)
                except StaleUpdate:
                    continue
            raise ApiError(409, "conflict", f"service {name!r} keeps changing; try again")

    async def _apply_patch(
        self, name: str, patch: dict[str, object], problems: BodyProblems
    ) -> web.StreamResponse:
        services = self._services_now()
        merged = merge_patch(service_mapping(services[name]), patch)
        spec = read_service(problems, "", merged, self.service.region, services)
        problems.raise_if_any()
        if spec is None:  # pragma: no cover - read_service reported why
            raise ApiError(400, "invalid_input", "not a usable service")
        in_use = {c.urgency for c in self.service.engine.contacts() if c.service == name}
        dropped = sorted(in_use - set(spec.urgencies))
        if dropped:
            raise ApiError(
                409,
                "conflict",
                f"open contacts are in urgency class(es) {', '.join(dropped)}, "
                "which the change removes",
            )
        await self.service.runtime.submit(ServiceUpdated(spec, expected=services[name]))
        return web.json_response(service_mapping(self.service.engine.service(name)))

    # ------------------------------------------------------------ contacts

    async def list_contacts(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        region = self.service.region
        query = request.query
        problems = BodyProblems()
        allowed = ("service", "site", "state", "limit", "offset", "access_token")
        for key in query:
            if key not in allowed:
                problems.add(key, f"unknown query parameter; expected one of: {', '.join(allowed)}")
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
        return web.json_response(
            {
                "total": len(chosen),
                "offset": offset,
                "limit": limit,
                "contacts": [
                    contact_detail(view, position)
                    for view, position in chosen[offset : offset + limit]
                ],
            }
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
        f, problems = await read_fields(request, ("service",))
        target = f.text("service")
        services = self.service.region.services
        if target is not None and target not in services:
            problems.add(
                "service", f"unknown service {target!r}; expected one of: {', '.join(services)}"
            )
        problems.raise_if_any()
        by = principal.name if principal is not None else ""
        await self.service.runtime.submit(ContactMoved(contact_id, target or "", by))
        return web.json_response(self._contact_now(contact_id))

    async def offer_contact(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        self.service.engine.contact(contact_id)  # 404 before reading the body
        f, problems = await read_fields(request, ("agent_id",))
        agent_id = f.text("agent_id")
        problems.raise_if_any()
        by = principal.name if principal is not None else ""
        await self.service.runtime.submit(ManualOffer(contact_id, agent_id or "", by))
        return web.json_response(self._contact_now(contact_id))

    async def remove_contact(
        self, request: web.Request, principal: Principal | None
    ) -> web.StreamResponse:
        """One contact no agent has yet, out of the queue with a reason (outcome
        ``cancelled``). The ``Removal`` note (who, why) goes through the log ahead of the
        engine's ``ContactCancelled``, so every instance's audit records both."""
        contact_id = request.match_info["contact_id"]
        self.service.engine.contact(contact_id)  # 404 before reading the body
        f, problems = await read_fields(request, ("reason",))
        reason = f.text("reason")
        if reason is not None and len(reason) > MAX_REMOVAL_REASON:
            problems.add("reason", f"at most {MAX_REMOVAL_REASON} characters")
        problems.raise_if_any()
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
        why = mask((reason or "").strip())
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

    # ------------------------------------------------------------ statistics

    async def get_stats(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        return web.json_response(self.stats.snapshot())

    async def ws(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        response: web.StreamResponse = await self.stats.websocket(request)
        return response

    # ------------------------------------------------------------ routes

    def routes(self) -> list[Route]:
        s = SUPERVISOR
        tag = "supervisor"
        denied = {401: "no valid token", 403: "not a supervisor token"}
        region = self.service.region
        return [
            Route(
                "GET",
                "/api/supervisor/agents",
                self.list_agents,
                "Every agent: status, presence, site, team, load, contacts and configuration",
                s,
                tag=tag,
                responses={200: "the agents", **denied},
            ),
            Route(
                "GET",
                "/api/supervisor/agents/{agent_id}",
                self.get_agent,
                "One agent: status and configuration",
                s,
                tag=tag,
                responses={200: "the agent", **denied, 404: "unknown agent"},
            ),
            Route(
                "PUT",
                "/api/supervisor/agents/{agent_id}",
                self.put_agent,
                "Replace an agent's configuration (skills, languages, authorisations, "
                "capacity, team, site); takes effect at once",
                s,
                body=AGENT_BODY,
                tag=tag,
                responses={
                    200: "the agent as it is now",
                    400: "invalid input (every problem)",
                    **denied,
                    404: "unknown agent",
                },
            ),
            Route(
                "POST",
                "/api/supervisor/agents/{agent_id}/move",
                self.move_agent,
                "Move an agent to another team (and site; default the team's site)",
                s,
                body=MOVE_BODY,
                tag=tag,
                responses={
                    200: "the agent as it is now",
                    400: "invalid input (every problem)",
                    **denied,
                    404: "unknown agent",
                },
            ),
            Route(
                "POST",
                "/api/supervisor/agents/{agent_id}/presence",
                self.presence,
                "Set an agent available, not ready or offline",
                s,
                body=PRESENCE_BODY,
                tag=tag,
                responses={
                    200: "the agent as it is now",
                    400: "invalid input",
                    **denied,
                    404: "unknown agent",
                    409: "the agent has assigned work in hand and force is not set",
                },
            ),
            Route(
                "GET",
                "/api/supervisor/services",
                self.list_services,
                "Every service's settings as now in force",
                s,
                tag=tag,
                responses={200: "the services", **denied},
            ),
            Route(
                "GET",
                "/api/supervisor/services/{name}",
                self.get_service,
                "One service's settings as now in force",
                s,
                tag=tag,
                responses={200: "the service", **denied, 404: "unknown service"},
            ),
            Route(
                "GET",
                "/api/supervisor/services/{name}/hours",
                self.service_hours,
                "A service's opening hours in force on a local day (default today), with "
                "their source (weekly hours, holiday, holiday eve, exception) and the hours "
                "of channels that keep their own; read-only (the region file sets them)",
                s,
                tag=tag,
                responses={
                    200: "the day's hours",
                    400: "malformed date",
                    **denied,
                    404: "unknown service",
                },
                query=(Query("date", DAY, "the local day, YYYY-MM-DD (default: today)"),),
                schemas={200: HOURS_SCHEMA},
            ),
            Route(
                "PATCH",
                "/api/supervisor/services/{name}",
                self.patch_service,
                "Change a service's targets, steps, agent choice, timeouts or flags "
                "(JSON merge patch); waiting contacts are re-ordered at once",
                s,
                body=SERVICE_PATCH_BODY,
                tag=tag,
                responses={
                    200: "the service as it is now",
                    400: "invalid input (every problem)",
                    **denied,
                    404: "unknown service",
                    409: "open contacts are in an urgency class the change removes",
                },
            ),
            Route(
                "GET",
                "/api/supervisor/contacts",
                self.list_contacts,
                "Open contacts, waiting ones first in the one priority order "
                "(query: service, site, state, limit, offset)",
                s,
                tag=tag,
                responses={200: "a page of contacts", 400: "invalid query", **denied},
                query=(
                    Query("service", choice(region.services), "only this service's contacts"),
                    Query("site", choice(region.sites), "only contacts preferring this site"),
                    Query("state", choice(st.value for st in OPEN_STATES), "only this state"),
                    Query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                        f"page size (default {DEFAULT_LIMIT})",
                    ),
                    Query("offset", {"type": "integer", "minimum": 0}, "rows to skip"),
                ),
            ),
            Route(
                "POST",
                "/api/supervisor/contacts/{contact_id}/move",
                self.move_contact,
                "Move a waiting contact to another service; it keeps its place",
                s,
                body={
                    "type": "object",
                    "required": ["service"],
                    "properties": {"service": {"type": "string"}},
                    "additionalProperties": False,
                },
                tag=tag,
                responses={
                    200: "the contact as it is now",
                    400: "invalid input",
                    **denied,
                    404: "unknown contact",
                    409: "the contact is not waiting",
                },
            ),
            Route(
                "POST",
                "/api/supervisor/contacts/{contact_id}/offer",
                self.offer_contact,
                "Offer a waiting contact to a named agent, out of order",
                s,
                body={
                    "type": "object",
                    "required": ["agent_id"],
                    "properties": {"agent_id": {"type": "string"}},
                    "additionalProperties": False,
                },
                tag=tag,
                responses={
                    200: "the contact, now offered",
                    400: "invalid input",
                    **denied,
                    404: "unknown contact or agent",
                    409: "not waiting, or the agent is offline, not eligible or has no "
                    "free capacity in the channel",
                },
            ),
            Route(
                "POST",
                "/api/supervisor/contacts/{contact_id}/remove",
                self.remove_contact,
                "Remove one contact no agent has yet, with a reason (outcome cancelled; "
                "audited with who and why). There is no bulk deletion",
                s,
                body={
                    "type": "object",
                    "required": ["reason"],
                    "properties": {
                        "reason": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_REMOVAL_REASON,
                            "description": "why; masked like the logs (numbers, identity codes)",
                        }
                    },
                    "additionalProperties": False,
                },
                tag=tag,
                responses={
                    200: "the contact's audit record, now closed as cancelled",
                    400: "no reason, or one too long",
                    **denied,
                    404: "unknown contact",
                    409: "an agent has it (or it closed meanwhile)",
                },
            ),
            Route(
                "GET",
                "/api/supervisor/stats",
                self.get_stats,
                "Real-time statistics per service and per site",
                s,
                tag=tag,
                responses={200: "the statistics", **denied},
            ),
            Route(
                "GET",
                "/api/supervisor/ws",
                self.ws,
                "Statistics pushed every few seconds, and alerts as they happen "
                "(token as ?access_token=)",
                s,
                tag=tag,
                websocket=True,
                responses={101: "Switching Protocols", **denied},
            ),
        ]


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
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        problems.add(key, f"must be {bounds}, got {value}")
        return default
    return value


# --------------------------------------------------------------------- schemas

_NAMES: Schema = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}

AGENT_BODY: Schema = {
    "type": "object",
    "description": "An entry of the region file's agents list; the id is in the path",
    "required": ["name", "team", "languages"],
    "properties": {
        "id": {"type": "string", "description": "optional; must match the path"},
        "name": {"type": "string"},
        "display_name": {
            "type": "string",
            "description": "what chat customers are told (default: the first name)",
        },
        "team": {"type": "string"},
        "site": {"type": "string", "description": "default: the team's site"},
        "skills": {
            "type": "object",
            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 5},
        },
        "languages": {**_NAMES, "minItems": 1},
        "authorisations": _NAMES,
        "capacity": {
            "type": "object",
            "description": "channel (voice, chat, web, callback, workitem) to contacts at once",
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
    },
    "additionalProperties": False,
}

MOVE_BODY: Schema = {
    "type": "object",
    "required": ["team"],
    "properties": {
        "team": {"type": "string"},
        "site": {"type": "string", "description": "default: the team's site"},
    },
    "additionalProperties": False,
}

PRESENCE_BODY: Schema = {
    "type": "object",
    "required": ["presence"],
    "properties": {
        "presence": {"enum": [p.value for p in Presence]},
        "reason": {"type": "string", "description": "not_ready only"},
        "force": {
            "type": "boolean",
            "description": "needed for not_ready or offline while the agent holds assigned "
            "work; offline then returns that work to the queue",
        },
    },
    "additionalProperties": False,
}

_SECONDS: Schema = {"type": "number", "minimum": 0}

_DAY_HOURS: dict[str, Schema] = {
    "intervals": {
        "type": "array",
        "description": "opening intervals, local time, [from, to); empty: closed all day",
        "items": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
    },
    "source": {"enum": ["weekly", "holiday", "eve", "exception", "always"]},
    "holiday": {"type": ["string", "null"], "description": "the public holiday that day"},
}

HOURS_SCHEMA: Schema = {
    "type": "object",
    "required": ["service", "date", "timezone", "open_now", "intervals", "source", "channels"],
    "properties": {
        "service": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "open_now": {"type": "boolean", "description": "within the service's hours right now"},
        **_DAY_HOURS,
        "channels": {
            "type": "object",
            "description": "channels with their own hours (e.g. chat), the same shape",
            "additionalProperties": {"type": "object", "properties": _DAY_HOURS},
        },
    },
}

SERVICE_PATCH_BODY: Schema = {
    "type": "object",
    "description": "A JSON merge patch (RFC 7396) of the service in the region file's shape: "
    "objects merge, lists replace, null removes a key (its default applies)",
    "properties": {
        "requirement": {"type": "string", NOT_NULL: True},
        "urgencies": {
            "type": "object",
            NOT_NULL: True,
            "additionalProperties": {
                "type": ["object", "null"],
                "properties": {
                    "target_s": _SECONDS,
                    "redirect": {"type": ["string", "null"]},
                    "warn_before_s": {"type": ["number", "null"], "minimum": 0},
                },
            },
        },
        "default_urgency": {"type": "string"},
        "steps": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["kind"],
                "properties": {
                    "kind": {"enum": [k.value for k in StepKind]},
                    "duration_s": _SECONDS,
                    "relax_levels": {"type": "integer", "minimum": 1, "maximum": 4},
                    "overflow_to": {"type": "string"},
                },
            },
        },
        "agent_choice": {"enum": [c.value for c in AgentChoice]},
        "wrapup_s": _SECONDS,
        "offer_timeout_s": {"type": "number", "exclusiveMinimum": 0},
        "decline_cooldown_s": _SECONDS,
        "timeout_cooldown_s": _SECONDS,
        "not_ready_on_decline": {"type": "boolean"},
        "not_ready_on_timeout": {"type": "boolean"},
        "warn_fraction": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "callback": {
            "type": "object",
            "properties": {
                "attempts": {"type": "integer", "minimum": 1, "maximum": 20},
                "retry_s": {"type": "number", "exclusiveMinimum": 0},
                "window_s": {"type": "number", "exclusiveMinimum": 0},
            },
        },
    },
}


def routes(supervisor: SupervisorApi) -> list[Route]:
    return supervisor.routes()
