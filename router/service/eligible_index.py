"""The logged-in agents of one moment, indexed for the supervisor's "eligible agents"
answers (``router.service.desk.eligible_agents``): grouped by skill mask, so that a
requirement is matched once per mask (a region has tens or hundreds of distinct masks,
and thousands of agents), and each agent's room in a channel is worked out at most once
per index, whatever the number of requirements asked about.

Matching per agent and requirement cost a page of 100 rows with 50 distinct
requirements about a million checks at 20,000 busy agents (half a second of the
dispatch loop); here it is one pass over the roster, one room check per agent and
channel asked, and one match per mask and requirement.

An index is built for one request and thrown away: agents' loads change with every
event, so nothing here is kept between requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import chain
from typing import Any

from router.core.engine import Engine
from router.core.model import AgentStatus, Channel
from router.core.state import AgentView
from skills.requirement import CompiledRequirement

_OFFLINE = AgentStatus.OFFLINE
_NO_BLOCKS: frozenset[Channel] = frozenset()


def has_room(
    engine: Engine,
    blocks: Mapping[Channel, frozenset[Channel]],
    agent: AgentView,
    channel: Channel,
) -> bool:
    """Whether a supervisor's offer in ``channel`` fits the agent now: capacity left and
    nothing in hand that blocks the channel (a supervisor overrides not ready and
    wrap-up, never capacity: the engine's rule for ``ManualOffer``)."""
    if agent.load.get(channel, 0) >= agent.spec.capacity.get(channel, 0):
        return False
    for contact_id in agent.contacts:
        # The contact's channel only: a glance, not a whole view per contact in hand.
        glance = engine.contact_glance(contact_id)
        if glance is not None and channel in blocks.get(glance[1], _NO_BLOCKS):
            return False
    return True


def entry(agent: AgentView, free: bool) -> dict[str, Any]:
    """One named agent, as the answers give it."""
    return {
        "id": agent.id,
        "name": agent.spec.name,
        "status": agent.status.value,
        "site": agent.site,
        "team": agent.team,
        "free": free,
    }


class EligibleIndex:
    """The logged-in agents in the engine's order (``Engine.agents``), by skill mask.

    Positions in that order stand for the agents: the answers name them in it, so the
    agents of several masks are merged by position. Per mask and channel, the agents
    with room and those without are split once, on first use."""

    __slots__ = ("_blocks", "_by_mask", "_engine", "_matching", "_split", "_views")

    def __init__(self, engine: Engine, blocks: Mapping[Channel, frozenset[Channel]]) -> None:
        self._engine = engine
        self._blocks = blocks
        self._views = [view for view in engine.agents() if view.status is not _OFFLINE]
        by_mask: dict[int, list[int]] = {}
        agent_mask = engine.agent_mask
        for position, view in enumerate(self._views):
            mask = agent_mask(view.id)
            found = by_mask.get(mask)
            if found is None:
                by_mask[mask] = [position]
            else:
                found.append(position)
        self._by_mask = by_mask
        # clause masks -> the agents' masks meeting them (requirements compiled alike
        # share it)
        self._matching: dict[tuple[int, ...], list[int]] = {}
        # (agent mask, channel) -> (positions with room, positions without), ascending
        self._split: dict[tuple[int, Channel], tuple[list[int], list[int]]] = {}

    def answer(
        self, compiled: CompiledRequirement, channel: Channel, shown: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        """The agents meeting ``compiled`` with whether each has room in ``channel``, and
        how many meet it. ``shown=None``: all of them, in the engine's order. Otherwise
        at most ``shown``: the first ones with room, in the engine's order, then (when
        fewer have room) the first ones without."""
        masks = self._masks_meeting(compiled)
        by_mask = self._by_mask
        total = sum(len(by_mask[mask]) for mask in masks)
        splits = [self._split_of(mask, channel) for mask in masks]
        views = self._views
        if shown is None:
            flagged = [(p, True) for free, _ in splits for p in free]
            flagged += [(p, False) for _, full in splits for p in full]
            flagged.sort()
            return [entry(views[p], free) for p, free in flagged], total
        named = [entry(views[p], True) for p in _first([free for free, _ in splits], shown)]
        if len(named) < shown:
            rest = _first([full for _, full in splits], shown - len(named))
            named += [entry(views[p], False) for p in rest]
        return named, total

    def _masks_meeting(self, compiled: CompiledRequirement) -> list[int]:
        found = self._matching.get(compiled.masks)
        if found is None:
            matches = compiled.matches
            found = self._matching[compiled.masks] = [m for m in self._by_mask if matches(m)]
        return found

    def _split_of(self, mask: int, channel: Channel) -> tuple[list[int], list[int]]:
        key = (mask, channel)
        found = self._split.get(key)
        if found is None:
            free: list[int] = []
            full: list[int] = []
            engine, blocks, views = self._engine, self._blocks, self._views
            for position in self._by_mask[mask]:
                if has_room(engine, blocks, views[position], channel):
                    free.append(position)
                else:
                    full.append(position)
            found = self._split[key] = (free, full)
        return found


def _first(ascending: list[list[int]], n: int) -> list[int]:
    """The ``n`` smallest of several ascending lists: among each list's first ``n``."""
    return sorted(chain.from_iterable(lst[:n] for lst in ascending))[:n]
