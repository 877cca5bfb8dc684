"""The region-wide agent pool: agents grouped by routing signature, and the index of
agents with free capacity used to pick an agent for a contact.

Agents with the same skill mask, site, team and capacities are interchangeable for
routing, so matching works on *groups*: the number of distinct skill sets, not the number
of agents, sets the cost. Within a group, available agents are kept in a heap per
channel ordered by ``(contacts in hand, idle since, login order)``; an agent taken or
re-indexed leaves a stale entry behind, dropped when it reaches the head (a heap push is
a C call; a ``SortedList``'s add and remove, on every offer and completion, were not).

Agent choice among eligible available agents (per service):

- ``longest_idle`` (default): an agent with nothing in hand before one with work in hand;
  then fewest contacts in hand; then the longest time since the agent's load last
  changed or it last became available (logged in, presence changed, wrap-up ended);
  then login order. A presence report that changes nothing keeps the agent's place.
- ``least_occupied``: the lowest share of the agent's total capacity in use; then as
  ``longest_idle``.
- ``highest_proficiency``: the highest sum of the agent's levels in the skills of the
  requirement clause it meets; then as ``longest_idle``.

Size: the groups, the region's kinds, the groups' heaps and the caches derived from them
(eligibility, requirement ids, pickers) are one index that ``index`` and ``unindex`` keep
consistent; split across modules, its invariants would be too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush
from operator import itemgetter
from typing import Any

from router.core.model import CHANNELS, AgentChoice, AgentSpec, Channel, Presence
from router.core.queue import ScopeKey
from router.core.requirements import RequirementTable
from router.core.state import AgentRecord, ContactRecord
from skills import CompiledRequirement

# Enum members as globals (``router.core.model`` says why: on Python 3.11 reading one
# off its class costs ~900 instructions, a global ~10).
_LEAST_OCCUPIED = AgentChoice.LEAST_OCCUPIED
_LONGEST_IDLE = AgentChoice.LONGEST_IDLE
_NOT_READY = Presence.NOT_READY

AvailEntry = tuple[int, float, int, AgentRecord]
# What a kind's heap may hold beyond twice its live entries before it is compacted.
_SLACK = 16
# Reads a shelf's head keys at a group's requirement ids (``WaitingQueue.best_for``).
Picker = Callable[[Any], Sequence[float]]


class _MaskReqs:
    """The requirement ids one skill mask meets (``rids``, ascending: the queue indexes
    it) among the first ``checked`` interned, one object shared by every group of the
    mask, so catching up on a new requirement is one test per mask (hundreds), not per
    group (thousands, when sites and teams split them). It also holds what
    ``WaitingQueue.best_for`` reads them with, shared the same way: the ids as bits and
    their ``Picker`` (None until a drain needs it after the ids changed)."""

    __slots__ = ("bits", "checked", "mask", "pick", "rids")

    def __init__(self, mask: int, checked: int, rids: tuple[int, ...]) -> None:
        self.mask = mask
        self.checked = checked
        self.rids = rids
        self.bits = _bits(rids)
        self.pick: Picker | None = None

    def add(self, rid: int) -> None:
        """``rid``, interned after every id it holds, is met by the mask."""
        self.rids += (rid,)  # later ids are larger: still ascending
        self.bits |= 1 << rid
        self.pick = None


class AgentGroup:
    __slots__ = (
        "cap_items",
        "cap_total",
        "caps",
        "checked",
        "full_at",
        "id",
        "logged_in",
        "mask",
        "ready",
        "rids",
        "shared",
        "site",
        "team",
    )

    def __init__(self, gid: int, mask: int, site: str, team: str, caps: dict[Channel, int]) -> None:
        self.id = gid
        self.mask = mask
        self.site = site
        self.team = team
        self.caps = caps
        self.cap_items = tuple((ch, caps[ch]) for ch in CHANNELS if ch in caps)
        self.cap_total = max(1, sum(caps.values()))
        self.full_at = _full_at(self.cap_items)
        self.logged_in = 0
        # Of those logged in, the ones not set not ready (available, busy or in wrap-up:
        # serving): the wait estimate's servers. Kept where presence changes, never
        # recounted per estimate (a region has 20,000 agents; the estimate is on every
        # queued webhook's answer).
        self.ready = 0
        # ``checked`` and ``rids`` are what a snapshot keeps of the requirement ids the
        # group meets; while running they are read from ``shared``, kept by the pool for
        # every group of the mask (``AgentPool.catch_up``).
        self.checked = 0
        self.rids: tuple[int, ...] = ()
        self.shared = _MaskReqs(mask, 0, ())

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        # The shared ids written as the group's own, as snapshots always kept them (the
        # holder is derived: rebuilt on load by ``AgentPool.catch_up``).
        state = {
            name: getattr(self, name)
            for name in self.__slots__
            if name not in ("shared", "full_at")  # derived
            and hasattr(self, name)  # as pickle's own: unset ones left out
        }
        state["checked"] = self.shared.checked
        state["rids"] = self.shared.rids
        return None, state

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        slots = dict(state[1])
        old = slots.pop("reqs", None)  # a snapshot from when the ids were kept as a set
        # A snapshot from before ``ready`` was kept: recounted from the agents by the
        # engine on load (``AgentPool.recount_ready``); 0 until then.
        self.ready = 0
        for name, value in slots.items():
            setattr(self, name, value)
        if old is not None:
            self.rids = tuple(sorted(old))
        self.full_at = _full_at(self.cap_items)
        # Its own holder of what it stored, until the pool shares one per mask.
        self.shared = _MaskReqs(self.mask, self.checked, self.rids)

    def in_scope(self, scope: ScopeKey) -> bool:
        kind, value = scope
        if kind == "region":
            return True
        if kind == "site":
            return self.site == value
        if kind == "team":
            return self.team == value
        return False


def _meets(mask: int, masks: tuple[int, ...]) -> bool:
    """``CompiledRequirement.matches`` on its masks: any clause met (none: anyone)."""
    if not masks:
        return True
    for m in masks:  # noqa: SIM110 - a plain loop is faster than any() here
        if mask & m == m:
            return True
    return False


class _Reach:
    """The kinds meeting one requirement with room in one channel: their heaps and ids
    (with each other, for the rules that rank by kind), their heaps alone (for the
    longest-idle rule, which compares entries only), and ``pick``, which reads the
    kinds' counts of groups with someone available (the groups weighed) in one C call,
    not a subscript and an addition per kind in the walk of the heaps."""

    __slots__ = ("heaps", "ids", "pairs", "pick", "stocked")

    def __init__(self, pairs: list[tuple[list[AvailEntry], int]], stocked: list[int]) -> None:
        self.pairs = pairs
        self.stocked = stocked  # the channel's ``_Kinds.stocked`` (the same list, kept up)
        self.heaps = [heap for heap, _ in pairs]
        self.ids = tuple(kind for _, kind in pairs)
        # ``itemgetter`` of one index answers no tuple: one kind is read directly.
        self.pick: Callable[[list[int]], tuple[int, ...]] | None = (
            itemgetter(*self.ids) if len(self.ids) > 1 else None
        )


class _Kinds:
    """The region's index of available agents: groups of the same skill mask and
    capacities (a *kind*) are interchangeable for a step reaching the whole region, so
    its choice weighs one head per kind (tens) instead of one per group (thousands: site
    and team split them). Per kind and channel a heap of the groups' entries, stale ones
    (the agent unindexed or re-indexed since) dropped when they reach the head. Derived
    from the groups' lists: never pickled, rebuilt on load."""

    __slots__ = ("by_key", "first", "heaps", "limits", "of_group", "region", "stocked")

    def __init__(self) -> None:
        self.by_key: dict[tuple[object, ...], int] = {}
        self.of_group: list[int] = []  # group id -> kind id
        self.first: list[int] = []  # kind id -> its first group (mask, caps: the rank)
        self.heaps: dict[Channel, list[list[AvailEntry]]] = {ch: [] for ch in CHANNELS}
        # A heap's length at which it is compacted next: twice what was left (live) at
        # its last compaction, plus 16. Set there only, where a count of the live entries
        # was kept up on every index and unindex; each compaction still follows at least
        # as many pushes as it keeps entries, and a heap stays below twice the most its
        # kind had available (plus 16).
        self.limits: dict[Channel, list[int]] = {ch: [] for ch in CHANNELS}
        self.stocked: dict[Channel, list[int]] = {ch: [] for ch in CHANNELS}  # groups not empty
        # channel -> requirement -> the kinds meeting it (``_Reach``): two lookups by
        # keys held (a channel member, a small int), where a ``(rid, channel)`` key was
        # a tuple built, hashed and compared element by element on every offer made on
        # arrival.
        self.region: dict[Channel, dict[int, _Reach]] = {ch: {} for ch in CHANNELS}

    def add_group(self, gid: int, key: tuple[object, ...]) -> None:
        kind = self.by_key.get(key)
        if kind is None:
            kind = self.by_key[key] = len(self.first)
            self.first.append(gid)
            for ch in CHANNELS:
                self.heaps[ch].append([])
                self.limits[ch].append(_SLACK)
                self.stocked[ch].append(0)
            for reaches in self.region.values():
                reaches.clear()
        self.of_group.append(kind)


class AgentPool:
    __slots__ = (
        "_avail",
        "_eligible",
        "_glive",
        "_group_ids",
        "_kinds",
        "_known",
        "_masks",
        "_pickers",
        "_reqs",
        "_scores",
        "_servable",
        "groups",
    )

    def __init__(self, reqs: RequirementTable) -> None:
        self._reqs = reqs
        self.groups: list[AgentGroup] = []
        self._group_ids: dict[tuple[object, ...], int] = {}
        self._eligible: dict[tuple[int, ScopeKey], dict[int, AgentGroup]] = {}
        self._servable: dict[tuple[int, ScopeKey, Channel], bool] = {}
        # channel -> group id -> its heap of available agents' entries, present while
        # the group has an agent available in the channel (``_glive``: how many)
        self._avail: dict[Channel, dict[int, list[AvailEntry]]] = {ch: {} for ch in CHANNELS}
        self._glive: dict[Channel, list[int]] = {ch: [] for ch in CHANNELS}
        self._scores: dict[tuple[int, int], int] = {}
        self._kinds = _Kinds()
        # skill mask -> the ids it meets, shared by its groups (``AgentGroup.shared``),
        # and how many interned ids all of them have been tested against; -1 after a
        # load, until ``catch_up`` shares them again. Derived.
        self._masks: dict[int, _MaskReqs] = {}
        self._known = 0
        # group id -> (its requirement ids, their ``Picker``, the ids as bits): derived,
        # rebuilt on use
        self._pickers: dict[int, tuple[tuple[int, ...], Picker, int]] = {}

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        derived = ("_kinds", "_known", "_masks", "_glive", "_pickers")
        self.catch_up()  # the groups' ids written current (``AgentGroup.__getstate__``)
        for holder in self._masks.values():
            holder.checked = self._known
        state = {name: getattr(self, name) for name in self.__slots__ if name not in derived}
        # Live entries only, in order (as the SortedLists of older versions were).
        state["_avail"] = {
            ch: {gid: sorted(e for e in heap if e[3].avail_entry is e) for gid, heap in by.items()}
            for ch, by in self._avail.items()
        }
        return None, state

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        # Also a snapshot from before the kinds and the heaps (a ``SortedList`` per
        # group and channel, live entries in order: a valid heap once a list).
        for name, value in state[1].items():
            setattr(self, name, value)
        self._masks = {}
        self._known = -1
        self._pickers = {}
        self._glive = {ch: [0] * len(self.groups) for ch in CHANNELS}
        kinds = self._kinds = _Kinds()
        for g in self.groups:
            kinds.add_group(g.id, _kind_key(g.mask, g.caps))
        self._avail = {ch: self._avail.get(ch, {}) for ch in CHANNELS}
        for ch, by_group in self._avail.items():
            for gid, old in list(by_group.items()):
                lst = by_group[gid] = list(old)
                self._glive[ch][gid] = len(lst)
                kind = kinds.of_group[gid]
                kinds.heaps[ch][kind].extend(lst)
                kinds.stocked[ch][kind] += 1
        for ch, heaps in kinds.heaps.items():
            limits = kinds.limits[ch]
            for kind, heap in enumerate(heaps):
                heapify(heap)
                limits[kind] = 2 * len(heap) + _SLACK

    def recount_ready(self, agents: dict[str, AgentRecord]) -> None:
        """Each group's ``ready`` counted from the agents, on loading a snapshot (one
        written before the count was kept has none): a walk over the roster once per
        load, as unpickling it is."""
        groups = self.groups
        for g in groups:
            g.ready = 0
        for a in agents.values():
            if a.logged_in and a.presence is not _NOT_READY:
                groups[a.group].ready += 1

    def group_for(self, spec: AgentSpec, mask: int) -> int:
        caps = {ch: n for ch in CHANNELS if (n := spec.capacity.get(ch, 0)) > 0}
        key = (mask, spec.site, spec.team, tuple(caps.get(ch, 0) for ch in CHANNELS))
        gid = self._group_ids.get(key)
        if gid is None:
            gid = len(self.groups)
            group = AgentGroup(gid, mask, spec.site, spec.team, caps)
            self.groups.append(group)
            self.catch_up()
            holder = self._masks.get(mask)
            if holder is None:
                holder = self._masks[mask] = group.shared
                _catch_up_one(holder, self._reqs.compiled, self._known)
            group.shared = holder
            self._group_ids[key] = gid
            self._kinds.add_group(gid, _kind_key(mask, caps))
            for glive in self._glive.values():
                glive.append(0)
            self._eligible.clear()
        return gid

    def reqs_of(self, gid: int) -> tuple[int, ...]:
        """Requirement ids the group satisfies, in id order; catches up on ids interned
        since last asked."""
        if self._known != len(self._reqs.compiled):
            self.catch_up()
        return self.groups[gid].shared.rids

    def catch_up(self) -> None:
        """Tests the requirements interned since the last call against every skill mask
        at once, adding each to the ids of the masks that meet it. Requirements keep
        being interned (a few in 500 cycles of a busy region); caught up lazily, mask by
        mask as each one's agents drained, every new id cost a pass through this code
        for most masks, each ~140 bytecodes; here it is one test per mask."""
        compiled = self._reqs.compiled
        known = len(compiled)
        if self._known < 0:
            # After a load: one holder per mask, the furthest caught up of its groups'
            # (those of one mask agree on the ids both tested), brought up to date.
            masks: dict[int, _MaskReqs] = {}
            for g in self.groups:
                holder = masks.get(g.mask)
                if holder is None or holder.checked < g.shared.checked:
                    masks[g.mask] = g.shared
            for holder in masks.values():
                _catch_up_one(holder, compiled, known)
            for g in self.groups:
                g.shared = masks[g.mask]
            self._masks = masks
            self._known = known
            return
        if self._known == known:
            return
        holders = list(self._masks.values())
        for rid in range(self._known, known):
            masks_of = compiled[rid].masks
            if len(masks_of) == 1:
                m = masks_of[0]
                for holder in holders:
                    if holder.mask & m == m:
                        holder.add(rid)
            else:
                for holder in holders:
                    if _meets(holder.mask, masks_of):
                        holder.add(rid)
        self._known = known

    def picker(self, gid: int, rids: tuple[int, ...]) -> Picker:
        """Reads the head keys at ``rids`` (the group's requirement ids) out of a shelf's
        array in one C call: ``itemgetter`` indexes the array directly, where
        ``map(dues.__getitem__, rids)`` called a method wrapper per id (about a twentieth
        of the engine's instructions at 2,000 agents / 10,000 waiting)."""
        return self.reader(gid, rids)[0]

    def reader(self, gid: int, rids: tuple[int, ...]) -> tuple[Picker, int]:
        """The group's ``picker`` and its requirement ids as bits (bit ``i`` for id
        ``i``), with which ``WaitingQueue.best_for`` counts the heads it weighs in one
        ``&``; both cached per group while its ids are ``rids``."""
        found = self._pickers.get(gid)
        if found is None or found[0] is not rids:
            found = self._pickers[gid] = (rids, picker_of(rids), _bits(rids))
        return found[1], found[2]

    def eligible(self, rid: int, scope: ScopeKey) -> dict[int, AgentGroup]:
        key = (rid, scope)
        found = self._eligible.get(key)
        if found is None:
            # Every group is weighed once per new (requirement, scope): over a roster of
            # 1,000s of groups, a method call or two per group was most of an arrival's
            # cost whenever a requirement was new. Same test as ``in_scope`` and
            # ``CompiledRequirement.matches``, in the groups' order.
            kind, value = scope
            groups = self.groups
            if kind == "site":
                groups = [g for g in groups if g.site == value]
            elif kind == "team":
                groups = [g for g in groups if g.team == value]
            elif kind != "region":
                groups = []
            masks = self._reqs.compiled[rid].masks
            if len(masks) == 1:
                m = masks[0]
                found = {g.id: g for g in groups if g.mask & m == m}
            else:
                found = {g.id: g for g in groups if _meets(g.mask, masks)}
            self._eligible[key] = found
        return found

    def servers(
        self,
        rid: int,
        scope: ScopeKey,
        weight: dict[int, float],
        channel: Channel | None,
        agents: dict[str, AgentRecord],
        staff: bool = False,
    ) -> float:
        """Agents serving now who meet ``rid`` within ``scope`` and have capacity in
        ``channel`` (any channel when None), each weighted by ``weight[group id]``:
        logged in and not set not ready (available, busy or in wrap-up), since an agent
        on a break finishes nobody's contact. With ``staff``, every logged-in one
        whatever its presence (someone who can answer: public status's ``staffed``)."""
        if scope[0] == "agent":
            a = agents.get(scope[1])
            if a is None or not a.logged_in or (not staff and a.presence is _NOT_READY):
                return 0.0
            g = self.groups[a.group]
            if not self._reqs.matches(rid, g.mask) or (channel and not g.caps.get(channel)):
                return 0.0
            return weight.get(g.id, 1.0)
        # The terms listed, then summed as before (``sum``'s float addition, compensated
        # on 3.12+, gives the same answer); a loop rather than a generator: no closure
        # cells for ``weight`` and ``channel`` and no generator frame on every estimate.
        terms = []
        for g in self.eligible(rid, scope).values():
            n = g.logged_in if staff else g.ready
            if n > 0 and (channel is None or g.caps.get(channel, 0) > 0):
                terms.append(n * weight.get(g.id, 1.0))
        return sum(terms)

    def available(self, rid: int, scope: ScopeKey, channel: Channel) -> int:
        """Agents available now, with room in ``channel``, who meet ``rid`` within a
        region, site or team ``scope``."""
        glive = self._glive[channel]
        return sum(glive[gid] for gid in self.eligible(rid, scope))

    def roster_changed(self) -> None:
        """Someone logged in or out or was edited: forget which steps could be served."""
        self._servable.clear()

    def servable(
        self, rid: int, scope: ScopeKey, channel: Channel, agents: dict[str, AgentRecord]
    ) -> bool:
        """Could any logged-in agent ever serve this step (whatever their presence now)?"""
        key = (rid, scope, channel)
        known = self._servable.get(key)
        if known is None:
            if scope[0] == "agent":
                a = agents.get(scope[1])
                known = (
                    a is not None
                    and a.logged_in
                    and self.groups[a.group].caps.get(channel, 0) > 0
                    and self._reqs.matches(rid, self.groups[a.group].mask)
                )
            else:
                known = any(
                    g.logged_in > 0 and g.caps.get(channel, 0) > 0
                    for g in self.eligible(rid, scope).values()
                )
            self._servable[key] = known
        return known

    def index(self, agent: AgentRecord, channels: tuple[Channel, ...]) -> None:
        """Records ``agent`` as available in ``channels`` (after ``unindex``)."""
        if not channels:
            return
        # ``load_total``, without the property: a property is a Python frame called from C
        # on 3.11 (~1,000 instructions); each contact in hand counts once in ``load``.
        entry: AvailEntry = (len(agent.in_hand), agent.since, agent.seq, agent)
        agent.avail_entry = entry
        agent.avail_channels = channels
        agent.version += 1  # ``free_channels`` in the agent's view
        gid = agent.group
        kinds = self._kinds
        kind = kinds.of_group[gid]
        for ch in channels:
            glive = self._glive[ch]
            n = glive[gid] = glive[gid] + 1
            if n == 1:
                # Nobody of the group was available here: a fresh heap (the old one,
                # all stale, went with its last live entry).
                self._avail[ch][gid] = [entry]
                kinds.stocked[ch][kind] += 1
            else:
                lst = self._avail[ch][gid]
                heappush(lst, entry)
                if len(lst) > 2 * n + 16:
                    _compact(lst)
            heap = kinds.heaps[ch][kind]
            heappush(heap, entry)
            if len(heap) > kinds.limits[ch][kind]:
                # Stale entries (the kind's agents taken by site or team steps or by
                # draining the queue, never reaching the head) dropped: kept bounded.
                _compact(heap)
                kinds.limits[ch][kind] = 2 * len(heap) + _SLACK

    def unindex(self, agent: AgentRecord) -> None:
        entry = agent.avail_entry
        if entry is None:
            return
        gid = agent.group
        kinds = self._kinds
        kind = kinds.of_group[gid]
        for ch in agent.avail_channels:
            # The entry stays in the heaps, stale (``avail_entry`` no longer it).
            glive = self._glive[ch]
            glive[gid] -= 1
            if not glive[gid]:
                del self._avail[ch][gid]
                kinds.stocked[ch][kind] -= 1
        agent.avail_entry = None
        agent.avail_channels = ()
        agent.version += 1

    def choose(
        self,
        contact: ContactRecord,
        rule: AgentChoice,
        agents: dict[str, AgentRecord],
        now: float,
    ) -> tuple[AgentRecord | None, int]:
        """The available agent the contact should be offered to at its current step, and
        how many candidates were weighed."""
        channel = contact.channel
        scope = contact.scope
        rid = contact.rid
        if scope[0] == "agent":
            a = agents.get(scope[1])
            if (
                a is not None
                and channel in a.avail_channels
                and self._reqs.matches(rid, self.groups[a.group].mask)
                and not contact.cooled_for(a.id, now)
            ):
                return a, 1
            return None, 0
        by_group = self._avail[channel]
        if not by_group:
            return None, 0
        if scope[0] == "region" and contact.cooldowns is None:
            return self._choose_region(rid, channel, rule)
        eligible = self.eligible(rid, scope)
        best: AgentRecord | None = None
        best_key: tuple[float, ...] | None = None
        weighed = 0
        if len(by_group) <= len(eligible):
            pairs = [(gid, lst) for gid, lst in by_group.items() if gid in eligible]
        else:
            pairs = [(gid, lst) for gid in eligible if (lst := by_group.get(gid)) is not None]
        if rule is _LONGEST_IDLE and contact.cooldowns is None:
            # Each group's head tuple is its key under this rule (``_rank``): their
            # minimum, compared in C, is the choice; each head counts as weighed.
            if not pairs:
                return None, 0
            heads = [_head(lst) for _, lst in pairs]
            return min(heads)[3], len(heads)
        for gid, lst in pairs:
            entry = _first_not_cooled(lst, contact, now)
            if entry is None:
                continue
            weighed += 1
            key = self._rank(rule, gid, rid, entry)
            if best_key is None or key < best_key:
                best_key = key
                best = entry[3]
        return best, weighed

    def _choose_region(
        self, rid: int, channel: Channel, rule: AgentChoice
    ) -> tuple[AgentRecord | None, int]:
        """``choose`` for a step reaching the region, without cool-downs: one head per
        kind. Within a kind every rule orders agents as the entries do (capacity total
        and proficiency are the kind's), so the best of the kinds' heads is the best of
        the groups' heads; each group with an available agent counts as weighed (a kind
        has a live head exactly when one of its groups has someone available)."""
        kinds = self._kinds
        try:  # a subscript, not ``get``: cheaper on the hit (nearly every offer on arrival)
            reach = kinds.region[channel][rid]
        except KeyError:
            reach = kinds.region[channel][rid] = _Reach(
                self._region_heaps(rid, channel), kinds.stocked[channel]
            )
        best: AvailEntry | None = None
        if rule is _LONGEST_IDLE:
            # The rule's key is the entry itself: the walk compares heads and nothing else.
            for heap in reach.heaps:
                while heap:
                    entry = heap[0]
                    if entry[3].avail_entry is entry:
                        if best is None or entry < best:
                            best = entry
                        break
                    heappop(heap)  # unindexed or re-indexed since it was pushed
        else:
            best_key: tuple[float, ...] | None = None
            for heap, kind in reach.pairs:
                while heap:
                    entry = heap[0]
                    if entry[3].avail_entry is entry:
                        key = self._rank(rule, kinds.first[kind], rid, entry)
                        if best_key is None or key < best_key:
                            best_key, best = key, entry
                        break
                    heappop(heap)
        if best is None:
            return None, 0
        stocked = reach.stocked
        pick = reach.pick
        if pick is not None:
            return best[3], sum(pick(stocked))
        return best[3], stocked[reach.ids[0]]  # one kind (``itemgetter`` of one: no tuple)

    def _region_heaps(self, rid: int, channel: Channel) -> list[tuple[list[AvailEntry], int]]:
        """The heaps and ids of the kinds meeting ``rid`` with room for ``channel``: a
        function of its own, so that the comprehension's names are not closure cells
        allocated on every ``_choose_region`` call."""
        heaps = self._kinds.heaps[channel]
        return [
            (heaps[kind], kind)
            for kind, gid in enumerate(self._kinds.first)
            if self.groups[gid].caps.get(channel, 0) > 0
            and self._reqs.matches(rid, self.groups[gid].mask)
        ]

    def _rank(self, rule: AgentChoice, gid: int, rid: int, entry: AvailEntry) -> tuple[float, ...]:
        load, since, seq, _ = entry
        if rule is _LONGEST_IDLE:
            return (load, since, seq)
        if rule is _LEAST_OCCUPIED:
            return (load / self.groups[gid].cap_total, load, since, seq)
        score = self._scores.get((gid, rid))
        if score is None:
            score = self._scores[(gid, rid)] = self._reqs.proficiency(rid, self.groups[gid].mask)
        return (-score, load, since, seq)


def _full_at(cap_items: tuple[tuple[Channel, int], ...]) -> int:
    """``AgentGroup.full_at``: the load in its one channel at which an agent of a
    one-channel group has no room left (its capacity there: most agents), so that an
    offer knows without ``free_channels``; never (``sys.maxsize``) with more channels."""
    return cap_items[0][1] if len(cap_items) == 1 else sys.maxsize


def _kind_key(mask: int, caps: dict[Channel, int]) -> tuple[object, ...]:
    return (mask, tuple(caps.get(ch, 0) for ch in CHANNELS))


def _head(heap: list[AvailEntry]) -> AvailEntry:
    """The first live entry of a group's heap (it has one: the group is available)."""
    entry = heap[0]
    while entry[3].avail_entry is not entry:
        heappop(heap)
        entry = heap[0]
    return entry


def _compact(heap: list[AvailEntry]) -> None:
    """Drops the stale entries (in place: the heap's identity is kept)."""
    heap[:] = [e for e in heap if e[3].avail_entry is e]
    heapify(heap)


def _first_not_cooled(
    lst: list[AvailEntry], contact: ContactRecord, now: float
) -> AvailEntry | None:
    if contact.cooldowns is None:
        return _head(lst)
    # A contact someone declined (rare): the group's live entries in order.
    for entry in sorted(e for e in lst if e[3].avail_entry is e):
        if not contact.cooled_for(entry[3].id, now):
            return entry
    return None


def _catch_up_one(holder: _MaskReqs, compiled: Sequence[CompiledRequirement], known: int) -> None:
    """Tests the ids from ``holder.checked`` up to ``known`` against its mask."""
    met = [rid for rid in range(holder.checked, known) if _meets(holder.mask, compiled[rid].masks)]
    if met:
        holder.rids += tuple(met)
        holder.bits = _bits(holder.rids)
        holder.pick = None
    holder.checked = max(holder.checked, known)


def picker_of(rids: tuple[int, ...]) -> Picker:
    """Reads the keys at ``rids`` out of a shelf's head list in one C call."""
    if len(rids) > 1:
        return itemgetter(*rids)
    if rids:  # ``itemgetter`` of one index answers no tuple, of none fails
        rid = rids[0]
        return lambda dues: (dues[rid],)
    return lambda dues: ()


def _bits(ids: tuple[int, ...]) -> int:
    """``ids`` as a bit set (bit ``i`` for id ``i``)."""
    found = 0
    for i in ids:
        found |= 1 << i
    return found
