"""The floor: a minimal indexed matcher that makes the engine's choices and nothing else.

It is what the dispatch benchmark measures the engine against (issue 15): the same
region, the same driver and random streams, the same choices, but none of the engine's
features beyond matching. It keeps

- one waiting queue per routing signature (requirement, language, channel): a ``heapq``
  of ``(target, seq, contact id)``, the engine's one order (earliest target first, ties
  by arrival);
- one available-agent heap per agent group (skill mask and capacities) and channel, of
  ``(contacts in hand, idle since, login order, stamp, agent)``, the engine's
  ``longest_idle`` rule; an agent's stamp changes whenever its load does, and entries
  with an old stamp are dropped when they reach the head;
- eligibility computed once per signature: the queues an agent group can serve, per
  channel, and the agent heaps that can serve a signature.

An agent that frees up weighs the heads of the queues its group can serve; an arriving
contact weighs the heads of the agent heaps that can serve it. There are no traces,
timers, tallies, steps, cool-downs, presence, event objects or decision objects: the
methods take plain arguments and return the offers as ``(contact id, agent id)`` pairs.
It handles only what the benchmark's measured phase does (arrive, accept, complete),
starting from a snapshot of the engine's state (``from_engine``).
"""

from __future__ import annotations

from collections.abc import Mapping
from heapq import heapify, heappop, heappush

from benchmarks.dispatch_driver import Floor
from benchmarks.workload import Region
from router.core.engine import Engine
from router.core.model import CHANNELS, AgentStatus, Channel, ContactSpec
from skills import Requirement, SkillCatalogue, Term

QueueEntry = tuple[float, int, str]
Offer = tuple[str, str]


class FloorAgent:
    __slots__ = ("caps", "free", "group", "id", "load", "n", "seq", "since", "stamp")

    def __init__(self, agent_id: str, seq: int, group: int, caps: Mapping[Channel, int]) -> None:
        self.id = agent_id
        self.seq = seq
        self.group = group
        self.caps = caps
        self.load: dict[Channel, int] = dict.fromkeys(caps, 0)
        self.n = 0  # contacts in hand (offered or assigned)
        self.since = 0.0
        self.stamp = 0
        self.free: tuple[Channel, ...] = ()


AgentEntry = tuple[int, float, int, int, FloorAgent]


class FloorMatcher:
    """Per-signature waiting heaps, per-group available-agent heaps, eligibility
    precomputed."""

    def __init__(
        self,
        catalogue: SkillCatalogue,
        anyone: Requirement,
        targets: Mapping[str, float],
        default_urgency: str,
        blocks: Mapping[Channel, frozenset[Channel]],
    ) -> None:
        self.catalogue = catalogue
        self.anyone = anyone
        self.targets = dict(targets)
        self.default_urgency = default_urgency
        self.blocks = blocks
        self.agents: dict[str, FloorAgent] = {}
        self.held: dict[str, Channel] = {}  # contact id -> channel, offered or assigned
        self.seq = 0
        self.waiting_count = 0
        # agent groups: (mask, capacities) -> group id; masks by group id
        self._group_ids: dict[tuple[int, tuple[tuple[Channel, int], ...]], int] = {}
        self._group_masks: list[int] = []
        # per group: channel -> the available-agent heap
        self._avail: list[dict[Channel, list[AgentEntry]]] = []
        # per group: channel -> the waiting queues of the signatures it can serve
        self._serves: list[dict[Channel, list[list[QueueEntry]]]] = []
        # signatures: (id of the requirement object, language, channel) -> signature id
        self._sig_ids: dict[tuple[int, str | None, Channel], int] = {}
        self._sig_masks: list[tuple[int, ...]] = []
        self._sig_channels: list[Channel] = []
        self._queues: list[list[QueueEntry]] = []
        # per signature: the available-agent heaps of the groups that can serve it
        self._servers: list[list[list[AgentEntry]]] = []
        self._keep: list[Requirement] = []  # keeps the keyed requirement objects alive

    # ---------------------------------------------------------------- set-up

    def group(self, mask: int, caps: Mapping[Channel, int]) -> int:
        key = (mask, tuple(sorted(caps.items())))
        gid = self._group_ids.get(key)
        if gid is not None:
            return gid
        gid = self._group_ids[key] = len(self._group_masks)
        self._group_masks.append(mask)
        avail: dict[Channel, list[AgentEntry]] = {ch: [] for ch in caps}
        self._avail.append(avail)
        self._serves.append({ch: [] for ch in caps})
        for sid, masks in enumerate(self._sig_masks):
            ch = self._sig_channels[sid]
            if ch in caps and _meets(mask, masks):
                self._serves[gid][ch].append(self._queues[sid])
                self._servers[sid].append(avail[ch])
        return gid

    def signature(self, requirement: Requirement | None, language: str | None, ch: Channel) -> int:
        """The signature id of contacts with this requirement, language and channel
        (keyed by the requirement object's identity: the workload reuses its objects)."""
        req = requirement if requirement is not None else self.anyone
        key = (id(req), language, ch)
        sid = self._sig_ids.get(key)
        if sid is not None:
            return sid
        full = req if language is None else req.all_of(Requirement.term(Term("lang", language)))
        masks = full.compile(self.catalogue).masks
        sid = self._sig_ids[key] = len(self._sig_masks)
        self._keep.append(req)
        self._sig_masks.append(masks)
        self._sig_channels.append(ch)
        queue: list[QueueEntry] = []
        self._queues.append(queue)
        servers: list[list[AgentEntry]] = []
        self._servers.append(servers)
        for gid, mask in enumerate(self._group_masks):
            avail = self._avail[gid]
            if ch in avail and _meets(mask, masks):
                self._serves[gid][ch].append(queue)
                servers.append(avail[ch])
        return sid

    @classmethod
    def from_engine(cls, engine: Engine, region: Region, floor: Floor) -> FloorMatcher:
        """A floor in the engine's current state (read through its public views), with
        every signature of the region's requirement pool precomputed."""
        service = region.service
        m = cls(
            region.catalogue,
            service.requirement,
            {name: u.target_s for name, u in service.urgencies.items()},
            service.default_urgency,
            engine.policy.blocks,
        )
        catalogue = region.catalogue
        channels = {ch for a in region.agents for ch in a.capacity}
        for seq, view in enumerate(engine.agents(), start=1):
            caps = dict(view.spec.capacity)
            a = FloorAgent(
                view.id, seq, m.group(catalogue.agent_mask(view.spec.abilities), caps), caps
            )
            m.agents[a.id] = a
            a.since = floor.since.get(a.id, 0.0)
            for cid in view.contacts:
                ch = engine.contact(cid).channel
                m.held[cid] = ch
                a.load[ch] += 1
                a.n += 1
            if view.status is not AgentStatus.OFFLINE:
                m._refresh(a)
        for draw in region.requirements:
            for lang in draw.languages:
                for ch in sorted(channels):
                    m.signature(draw.requirement, lang, ch)
        top = floor.arrivals
        for v in engine.waiting():
            sid = m.signature(v.spec.requirement, v.spec.language, v.channel)
            m._queues[sid].append((v.target_at, v.seq, v.id))
            top = max(top, v.seq)
            m.waiting_count += 1
        for q in m._queues:
            heapify(q)
        m.seq = top
        return m

    # ---------------------------------------------------------------- the events

    def arrive(self, now: float, spec: ContactSpec) -> list[Offer]:
        ch = spec.channel
        sid = self._sig_ids.get((id(spec.requirement or self.anyone), spec.language, ch))
        if sid is None:
            sid = self.signature(spec.requirement, spec.language, ch)
        self.seq += 1
        best: AgentEntry | None = None
        best_heap: list[AgentEntry] | None = None
        for heap in self._servers[sid]:
            while heap:
                e = heap[0]
                if e[3] == e[4].stamp:
                    if best is None or e < best:
                        best, best_heap = e, heap
                    break
                heappop(heap)  # the agent's load changed since this entry was pushed
        if best is None or best_heap is None:
            heappush(
                self._queues[sid],
                (now + self.targets[spec.urgency or self.default_urgency], self.seq, spec.id),
            )
            self.waiting_count += 1
            return []
        heappop(best_heap)
        a = best[4]
        self._take(a, spec.id, ch, now)
        return [(spec.id, a.id)]

    def accept(self, contact_id: str, agent_id: str) -> None:
        """An offer became an assignment: nothing changes for matching."""

    def complete(self, now: float, contact_id: str, agent_id: str) -> list[Offer]:
        a = self.agents[agent_id]
        ch = self.held.pop(contact_id)
        a.load[ch] -= 1
        a.n -= 1
        a.since = now
        a.stamp += 1
        a.free = self._free(a)
        offers: list[Offer] = []
        serves = self._serves[a.group]
        while a.free:
            best: QueueEntry | None = None
            best_q: list[QueueEntry] = []
            best_ch = ch
            for fch in a.free:
                for q in serves[fch]:
                    if q and (best is None or q[0] < best):
                        best, best_q, best_ch = q[0], q, fch
            if best is None:
                break
            heappop(best_q)
            self.waiting_count -= 1
            cid = best[2]
            self._take(a, cid, best_ch, now, index=False)
            offers.append((cid, a.id))
        self._index(a)
        return offers

    # ---------------------------------------------------------------- helpers

    def _take(self, a: FloorAgent, cid: str, ch: Channel, now: float, index: bool = True) -> None:
        self.held[cid] = ch
        a.load[ch] += 1
        a.n += 1
        a.since = now
        a.stamp += 1
        a.free = self._free(a)
        if index:
            self._index(a)

    def _refresh(self, a: FloorAgent) -> None:
        a.stamp += 1
        a.free = self._free(a)
        self._index(a)

    def _index(self, a: FloorAgent) -> None:
        if a.free:
            entry: AgentEntry = (a.n, a.since, a.seq, a.stamp, a)
            avail = self._avail[a.group]
            for ch in a.free:
                heappush(avail[ch], entry)

    def _free(self, a: FloorAgent) -> tuple[Channel, ...]:
        load = a.load
        caps = a.caps
        if len(caps) == 1 and a.n == 0:
            return tuple(caps)
        blocked: set[Channel] = set()
        for ch, n in load.items():
            if n:
                blocked |= self.blocks.get(ch, frozenset())
        return tuple(
            ch for ch in CHANNELS if caps.get(ch, 0) > load.get(ch, 0) and ch not in blocked
        )


def _meets(mask: int, masks: tuple[int, ...]) -> bool:
    return not masks or any(mask & m == m for m in masks)
