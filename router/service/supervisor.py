"""Supervisors: live edits of agents and services, statistics.

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
- No lost updates: ``GET`` of one agent or one service answers with an ``ETag``, a hash
  of what a ``PUT``/``PATCH`` edits (the agent's configuration, the service's settings),
  so every instance gives the same tag for the same state. A ``PUT``/``PATCH`` (and an
  agent's ``move``) with ``If-Match`` is refused with 412 ``changed_since_read`` and
  changes nothing when the record is no longer the one read; without ``If-Match`` it
  applies as before. Answers to the edits carry the new ``ETag``.
- Contacts (list, move, offer, remove): ``router.service.supervisor_contacts``.
- Live edits last until the service restarts; the region file is not rewritten.

Both shapes are written once (``router.config.shapes``); the route table is
``router.service.supervisor_routes``, the body schemas ``supervisor_shapes``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from router.config.loader import read_agent, read_service
from router.config.shapes import agent_entry, service_entry
from router.core.errors import StaleUpdate
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentUpdated,
    Event,
    PresenceChanged,
    ServiceUpdated,
)
from router.core.model import AgentSpec, ContactState, Presence, ServiceSpec
from router.core.service_rules import urgencies_in_use_lost
from router.service.agents import presence_reason
from router.service.audit import Audit, parse_day
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems, read_fields, read_json
from router.service.openapi import IF_MATCH_PATTERN
from router.service.routes import Route
from router.service.service import Service
from router.service.stats import Stats
from router.service.supervisor_contacts import SupervisorContacts
from router.service.supervisor_routes import supervisor_routes
from router.service.supervisor_views import TableVersions, agent_detail, day_hours, merge_patch

SUPERVISOR_REASON = "supervisor"
STALE_RETRIES = 3
CHANGED_SINCE_READ = "changed_since_read"
IF_MATCH = re.compile(IF_MATCH_PATTERN)


def entity_tag(entry: dict[str, Any]) -> str:
    """A strong ETag of a record's editable representation: the same on every instance
    for the same state (a hash of its canonical JSON, no counter or clock in it)."""
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def check_if_match(request: web.Request, current: str, what: str) -> None:
    """Refuses (412 ``changed_since_read``) an edit made against a representation that is
    no longer ``current``; no ``If-Match`` header means no condition (as before)."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    if not IF_MATCH.match(header.strip()):
        raise ApiError(
            400,
            "invalid_input",
            "malformed If-Match",
            [("If-Match", 'expected * or the quoted ETag read with GET, e.g. "3f2a..."')],
        )
    tags = {tag.strip() for tag in header.split(",")}
    if "*" in tags or current in tags:
        return
    raise ApiError(
        412,
        CHANGED_SINCE_READ,
        f"{what} was changed by someone else since you read it (If-Match {header.strip()}, "
        f"now {current}); nothing was changed: read it again and redo the change",
        headers={"ETag": current},
    )


class SupervisorApi:
    """The supervisor's agent, service and statistics routes; the contact routes are
    ``self.contacts``."""

    def __init__(self, service: Service, stats: Stats, audit: Audit) -> None:
        self.service = service
        self.stats = stats
        self.audit = audit
        # One change per service at a time: a patch is merged onto the settings in force
        # when it is applied, never onto settings another patch is replacing meanwhile.
        self._service_locks: dict[str, asyncio.Lock] = {}
        self._agent_locks: dict[str, asyncio.Lock] = {}  # the same for each agent
        self.contacts = SupervisorContacts(service, audit)
        # The console reloads its agents and contacts tables only when these change.
        self.versions = TableVersions(service)
        stats.extras.append(lambda: {"versions": self.versions.now()})

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

    def _told_agent(self, agent_id: str) -> web.StreamResponse:
        """The agent as it is now, with its ETag. Its own websockets, on whichever
        instance, hear of the change from the applied event (``AgentHub.on_applied``)."""
        view = self.service.engine.agent(agent_id)
        return web.json_response(
            agent_detail(view, self._languages), headers={"ETag": self._agent_tag(agent_id)}
        )

    def _agent_tag(self, agent_id: str) -> str:
        """The ETag of an agent: its configuration (what ``PUT`` replaces), not its live
        status, so an agent taking a call does not make a supervisor's edit stale."""
        return entity_tag(agent_entry(self.service.engine.agent(agent_id).spec, self._languages))

    def _service_told(self, name: str) -> web.StreamResponse:
        entry = service_entry(self.service.engine.service(name))
        return web.json_response(entry, headers={"ETag": entity_tag(entry)})

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
        return self._told_agent(request.match_info["agent_id"])

    async def put_agent(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        self.service.engine.agent(agent_id)  # 404 before reading the body
        body = await read_json(request)
        problems = BodyProblems()
        if isinstance(body, dict):
            # null is absent, as everywhere in the entry
            if body.get("id") is not None and body["id"] != agent_id:
                problems.add("id", f"the agent is {agent_id!r} (from the path); ids do not change")
            body = {**body, "id": agent_id}
        spec = read_agent(problems, "", body, self.service.region)
        problems.raise_if_any()
        if spec is None:  # pragma: no cover - read_agent reported why
            raise ApiError(400, "invalid_input", "not a usable agent")
        made = spec
        # A whole replacement: made against the settings in force only when If-Match
        # says which (then a change landing meanwhile is refused, never overwritten).
        guarded = "if-match" in request.headers
        return await self._update_agent(request, agent_id, lambda: made, guarded)

    async def move_agent(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        self.service.engine.agent(agent_id)  # 404 before reading the body
        f, problems = await read_fields(request, ("team",), ("site",))
        problems.raise_if_any()

        def moved() -> AgentSpec:
            """The agent's settings in force now, in the new team (and site)."""
            entry = agent_entry(self.service.engine.agent(agent_id).spec, self._languages)
            if f.has("team"):
                entry["team"] = f.raw("team")
            if f.given("site"):
                entry["site"] = f.raw("site")
            else:
                del entry["site"]  # the new team's site
            checked = BodyProblems()
            spec = read_agent(checked, "", entry, self.service.region)
            checked.raise_if_any()
            if spec is None:  # pragma: no cover - read_agent reported why
                raise ApiError(400, "invalid_input", "not a usable agent")
            return spec

        # Made from the settings in force: always against them, so a change landing
        # meanwhile is redone on, never overwritten by, the move.
        return await self._update_agent(request, agent_id, moved, True)

    async def _update_agent(
        self,
        request: web.Request,
        agent_id: str,
        make: Callable[[], AgentSpec],
        guarded: bool,
    ) -> web.StreamResponse:
        """Submits ``make()`` for the agent. ``guarded``: against the settings read
        here, so that the engine refuses it (``StaleUpdate``) when another change landed
        between this read and the write — from this instance (the submit only queues
        it) or, in Redis mode, another — and it is checked and made again on the new
        settings, or answered 412 when If-Match named the old ones."""
        async with self._agent_locks.setdefault(agent_id, asyncio.Lock()):
            for _attempt in range(STALE_RETRIES):
                now = self.service.engine.agent(agent_id).spec
                check_if_match(request, self._agent_tag(agent_id), f"agent {agent_id!r}")
                try:
                    spec = make()
                    await self.service.runtime.submit(
                        AgentUpdated(spec, expected=now if guarded else None)
                    )
                except StaleUpdate:
                    continue
                return self._told_agent(agent_id)
        raise ApiError(409, "conflict", f"agent {agent_id!r} keeps changing; try again")

    async def presence(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        agent_id = request.match_info["agent_id"]
        engine = self.service.engine
        engine.agent(agent_id)  # 404 before reading the body
        f, problems = await read_fields(request, ("presence",), ("reason", "force"))
        presence = f.enum("presence", Presence, "presence", Presence.AVAILABLE)
        reason = presence_reason(f, problems)
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
        if presence is Presence.AVAILABLE and engine.seen_until(agent_id) is None:
            # An agent whose desk never reported is never judged (the engine's rule, for
            # clients that do not report), so one made available here would take calls
            # at an empty desk for good: it gets one sighting's time for its desk to
            # appear, as an agent whose sighting ran out does (after the login: the
            # engine passes over a sighting of an agent who is not logged in).
            events.append(self.service.agents.sighting((agent_id,)))
        for event in events:
            await self.service.runtime.submit(event)
        return self._told_agent(agent_id)

    # ------------------------------------------------------------ services

    async def list_services(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        return web.json_response(
            {"services": [service_entry(spec) for spec in self._services_now().values()]}
        )

    async def get_service(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        return self._service_told(self._service_name(request))

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
                    return await self._apply_patch(request, name, patch, problems)
                except StaleUpdate:
                    continue
            raise ApiError(409, "conflict", f"service {name!r} keeps changing; try again")

    async def _apply_patch(
        self, request: web.Request, name: str, patch: dict[str, object], problems: BodyProblems
    ) -> web.StreamResponse:
        services = self._services_now()
        entry = service_entry(services[name])
        merged = merge_patch(entry, patch)
        spec = read_service(problems, "", merged, self.service.region, services)
        # A body that is wrong whatever the settings in force is answered as such (400)
        # before the precondition: a fresh read would not make it right.
        problems.raise_if_any()
        # Against the settings the change is made on (``expected`` below): a change from
        # another instance landing meanwhile is a StaleUpdate, and the retry sees it here.
        check_if_match(request, entity_tag(entry), f"service {name!r}")
        if spec is None:  # pragma: no cover - read_service reported why
            raise ApiError(400, "invalid_input", "not a usable service")
        in_use = (c.urgency for c in self.service.engine.contacts() if c.service == name)
        dropped = urgencies_in_use_lost(spec, in_use)
        if dropped:
            raise ApiError(
                409,
                "conflict",
                f"open contacts are in urgency class(es) {', '.join(dropped)}, "
                "which the change removes or turns into a redirect",
            )
        await self.service.runtime.submit(ServiceUpdated(spec, expected=services[name]))
        return self._service_told(name)

    # ------------------------------------------------------------ statistics

    async def get_stats(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        return web.json_response(self.stats.snapshot())

    async def ws(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        response: web.StreamResponse = await self.stats.websocket(request)
        return response

    def routes(self) -> list[Route]:
        return supervisor_routes(self)


def routes(supervisor: SupervisorApi) -> list[Route]:
    return supervisor.routes()
