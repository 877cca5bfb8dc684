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
from router.core import decisions as d
from router.core.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentsSeen,
    AgentUpdated,
    CustomersSeen,
    Event,
    PresenceChanged,
    WrapUpDone,
)
from router.core.state import AgentView, ContactView
from router.service.runtime import handles
from router.service.service import Service
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


# The decisions that change what the agents table shows (an agent's status, presence,
# contacts), and those that change only that. A callback attempt that did not
# reach the person hands the callback back: the agent's contacts and status change
# with no other decision.
_AGENT_DECISIONS = frozenset(
    (
        d.Offered,
        d.Assigned,
        d.Requeued,
        d.OfferWithdrawn,
        d.Closed,
        d.CallbackAttempt,
        d.AgentPresenceSet,
        d.WrapUpStarted,
        d.WrapUpEnded,
    )
)
_AGENT_ONLY_DECISIONS = frozenset((d.AgentPresenceSet, d.WrapUpStarted, d.WrapUpEnded))


class TableVersions:
    """Tags that change when something the console's agents or contacts table shows
    changes, pushed with the statistics so that an open console reloads a table only
    then (not on every push). Opaque and per instance: compared, never ordered.

    Counted as the changes happen, not read off the tables: a push every two seconds
    per console must not walk every agent and contact on the dispatch loop. Every
    change of the engine is an apply (``Runtime.changes``, timers included); an apply
    of an agent's own event, or of a report of the chat customers seen
    (``CustomersSeen``, every few seconds from each instance in Redis mode), that made
    no decision about a contact leaves the contacts as they were (a customer seen again
    after a lapse is back, which no table shows). Whatever else an apply does, the tag
    may change without the table changing (one reload too many), never the other way
    round."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._agents = 0
        self._loads = 0  # snapshots loaded: each replaces both tables
        self._quiet = 0  # applies of agents' own events, minus those that moved a contact

    @handles(
        PresenceChanged,
        AgentLoggedIn,
        AgentLoggedOut,
        AgentUpdated,
        WrapUpDone,
        AgentsSeen,
        CustomersSeen,
    )
    def on_applied(self, event: Event, now: float) -> None:
        if not isinstance(event, (AgentsSeen, CustomersSeen)):  # a heartbeat shows nowhere
            self._agents += 1
        self._quiet += 1

    def on_decision(self, decision: d.Decision, now: float) -> None:
        if type(decision) in _AGENT_DECISIONS:
            self._agents += 1
        if type(decision) not in _AGENT_ONLY_DECISIONS:
            self._quiet -= 1

    def now(self) -> dict[str, str]:
        loads, changes = self._loads, self.service.runtime.changes
        return {"agents": f"{loads}.{self._agents}", "contacts": f"{loads}.{changes - self._quiet}"}

    def on_resynced(self) -> None:
        self._loads += 1
