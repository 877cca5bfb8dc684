"""What a supervisor sees of an agent, a contact and a day's opening hours, as JSON, and
the merge patch a service edit is.

An agent's configuration is its region-file entry (``router.config.shapes``), beside its
state; a service is its entry alone (``shapes.service_entry``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from router.calendar.opening_hours import Schedule
from router.config.shapes import agent_entry
from router.core.model import AgentSpec, AgentStatus
from router.core.state import AgentView, ContactView
from router.service.desk import _room
from router.service.service import Service
from router.service.views import agent_json, contact_json
from skills.expression import parse_requirement


def agent_detail(view: AgentView, languages: tuple[str, ...]) -> dict[str, Any]:
    """What a supervisor sees of an agent: its state and its configuration."""
    config = agent_entry(view.spec, languages)
    del config["id"]
    return {**agent_json(view), **config}


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


def eligible_agents(
    service: Service, contacts: list[ContactView]
) -> dict[str, list[dict[str, Any]]]:
    """For each contact, the logged-in agents who meet its requirement now and whether
    each has room for a supervisor's offer: what ``.../eligible`` answers for one, for a
    page of them in one pass (the agents' masks read once)."""
    engine = service.engine
    catalogue = service.region.catalogue
    agents = [
        (agent, engine.agent_mask(agent.id))
        for agent in engine.agents()
        if agent.status is not AgentStatus.OFFLINE
    ]
    found: dict[str, list[dict[str, Any]]] = {}
    for view in contacts:
        compiled = parse_requirement(view.requirement, catalogue).compile(catalogue)
        found[view.id] = [
            {
                "id": agent.id,
                "name": agent.spec.name,
                "status": agent.status.value,
                "site": agent.site,
                "team": agent.team,
                "free": _room(service, agent, view.channel),
            }
            for agent, mask in agents
            if compiled.matches(mask)
        ]
    return found


class TableVersions:
    """Tags that change when something the console's agents or contacts table shows
    changes, pushed with the statistics so that an open console reloads a table only
    then (not on every push). Opaque and per instance: compared, never ordered."""

    def __init__(self, service: Service) -> None:
        self.service = service
        # An agent's configuration counts as changed when its spec is another object;
        # the old spec is held here, so its identity cannot be reused meanwhile.
        self._specs: dict[str, tuple[AgentSpec, int]] = {}
        self._edits = 0

    def _spec_version(self, spec: AgentSpec) -> int:
        known = self._specs.get(spec.id)
        if known is not None and known[0] is spec:
            return known[1]
        self._edits += 1
        self._specs[spec.id] = (spec, self._edits)
        return self._edits

    def now(self) -> dict[str, str]:
        engine = self.service.engine
        agents = tuple(
            (
                a.id,
                a.status,
                a.presence,
                a.reason,
                a.site,
                a.team,
                a.contacts,
                a.wrapup_until,
                self._spec_version(a.spec),
            )
            for a in engine.agents()
        )
        contacts = tuple(
            (
                c.id,
                c.state,
                c.service,
                c.urgency,
                c.step,
                c.due_at,
                c.target_at,
                c.seq,
                c.agent_id,
                c.requirement,
                c.attempts,
                c.hold_until,
            )
            for c in engine.contacts()
        )
        return {"agents": f"{hash(agents):x}", "contacts": f"{hash(contacts):x}"}
