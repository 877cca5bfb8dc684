"""The supervisor's eligible agents worked out the straightforward way, as the service did
before ``router.service.eligible_index``: for each distinct requirement and channel,
every logged-in agent's mask is matched, and the matching agents are walked in the
engine's order checking each one's room (each contact in hand read as a whole view) until
enough with room are named. The oracle the tests compare the index's answers with, and
the "old" side of ``benchmarks/eligible_scale.py``.

Kept apart from the service on purpose (a copy of the rules as they were, to compare
against), as ``benchmarks/naive.py`` is for the engine.
"""

from __future__ import annotations

from typing import Any

from router.core.model import AgentStatus, Channel
from router.core.state import AgentView, ContactView
from router.service.service import Service
from skills.expression import parse_requirement


def eligible_agents(
    service: Service, contacts: list[ContactView], shown: int | None = None
) -> dict[str, tuple[list[dict[str, Any]], int]]:
    engine = service.engine
    catalogue = service.region.catalogue
    agents = [
        (agent, engine.agent_mask(agent.id))
        for agent in engine.agents()
        if agent.status is not AgentStatus.OFFLINE
    ]
    answers: dict[tuple[str, Channel], tuple[list[dict[str, Any]], int]] = {}
    found: dict[str, tuple[list[dict[str, Any]], int]] = {}
    for view in contacts:
        key = (view.requirement, view.channel)
        answer = answers.get(key)
        if answer is None:
            compiled = parse_requirement(view.requirement, catalogue).compile(catalogue)
            matching = [agent for agent, mask in agents if compiled.matches(mask)]
            answer = answers[key] = (_listed(service, matching, view.channel, shown), len(matching))
        found[view.id] = answer
    return found


def _listed(
    service: Service, matching: list[AgentView], channel: Channel, shown: int | None
) -> list[dict[str, Any]]:
    def entry(agent: AgentView, free: bool) -> dict[str, Any]:
        return {
            "id": agent.id,
            "name": agent.spec.name,
            "status": agent.status.value,
            "site": agent.site,
            "team": agent.team,
            "free": free,
        }

    if shown is None:
        return [entry(agent, _room(service, agent, channel)) for agent in matching]
    free: list[dict[str, Any]] = []
    full: list[dict[str, Any]] = []
    for agent in matching:
        if len(free) >= shown:
            break
        room = _room(service, agent, channel)
        if room:
            free.append(entry(agent, True))
        elif len(full) < shown:
            full.append(entry(agent, False))
    return (free + full)[:shown]


def _room(service: Service, agent: AgentView, channel: Channel) -> bool:
    if agent.load.get(channel, 0) >= agent.spec.capacity.get(channel, 0):
        return False
    blocks = service.region.blocks
    for contact_id in agent.contacts:
        held = service.engine.contact(contact_id).channel
        if channel in blocks.get(held, frozenset()):
            return False
    return True
