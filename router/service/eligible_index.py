"""The logged-in agents of one moment, indexed for the supervisor's "eligible agents"
answers (``router.service.desk.eligible_agents``): grouped by skill mask, so that a
requirement is matched once per mask (a region has tens or hundreds of distinct masks,
and thousands of agents), and each agent's room is worked out at most once per index (by
the engine's own rule for a supervisor's offer), whatever the number of requirements
asked about.

Matching per agent and requirement cost a page of 100 rows with 50 distinct
requirements about a million checks at 20,000 busy agents (half a second of the
dispatch loop); here it is one pass over the roster, one room check per agent named or
split, and one match per mask and requirement.

An index is built for one request and thrown away: agents' loads change with every
event, so nothing here is kept between requests.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from router.core.engine import Engine
from router.core.model import Channel
from skills.requirement import CompiledRequirement


def entry(engine: Engine, agent_id: str, free: bool) -> dict[str, Any]:
    """One named agent, as the answers give it."""
    agent = engine.agent(agent_id)
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
    with room for a supervisor's offer and those without are split once, on first use,
    by the engine's own rule (``Engine.supervisor_room``); only the agents an answer
    names are read as views."""

    __slots__ = ("_by_mask", "_engine", "_ids", "_matching", "_room", "_split")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        ids: list[str] = []
        by_mask: dict[int, list[int]] = {}
        for position, (agent_id, mask) in enumerate(engine.logged_in_masks()):
            ids.append(agent_id)
            found = by_mask.get(mask)
            if found is None:
                by_mask[mask] = [position]
            else:
                found.append(position)
        self._ids = ids
        self._by_mask = by_mask
        # clause masks -> the agents' masks meeting them (requirements compiled alike
        # share it)
        self._matching: dict[tuple[int, ...], list[int]] = {}
        # (agent mask, channel) -> (positions with room, positions without), ascending
        self._split: dict[tuple[int, Channel], tuple[list[int], list[int]]] = {}
        # position -> the channels a supervisor's offer fits in: once per agent
        self._room: dict[int, tuple[Channel, ...]] = {}

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
        engine, ids = self._engine, self._ids
        if shown is None:
            flagged = [(p, True) for free, _ in splits for p in free]
            flagged += [(p, False) for _, full in splits for p in full]
            flagged.sort()
            return [entry(engine, ids[p], free) for p, free in flagged], total
        free_first = _first([free for free, _ in splits], shown)
        named = [entry(engine, ids[p], True) for p in free_first]
        if len(named) < shown:
            rest = _first([full for _, full in splits], shown - len(named))
            named += [entry(engine, ids[p], False) for p in rest]
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
            for position in self._by_mask[mask]:
                (free if channel in self._room_of(position) else full).append(position)
            found = self._split[key] = (free, full)
        return found

    def _room_of(self, position: int) -> tuple[Channel, ...]:
        room = self._room.get(position)
        if room is None:
            room = self._room[position] = self._engine.supervisor_room(self._ids[position])
        return room


def _first(ascending: list[list[int]], n: int) -> list[int]:
    """The ``n`` smallest of several ascending lists: among each list's first ``n``."""
    return sorted(chain.from_iterable(lst[:n] for lst in ascending))[:n]
