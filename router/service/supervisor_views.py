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
from router.core.state import AgentView, ContactView
from router.service.views import agent_json, contact_json


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
