"""The pool's region index (agent groups of one skill mask and capacities merged into a
*kind*, one lazy heap of available agents per kind and channel) picks exactly what a scan
of every eligible group's head picks, with the same count of groups weighed, under every
agent choice rule; survives a snapshot, also one taken before the index existed (when
each group kept a ``SortedList``); and keeps its heaps bounded however many stale entries
agents leave behind."""

from __future__ import annotations

import random
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from sortedcontainers import SortedList

from router.core.model import AgentChoice, AgentSpec, Channel
from router.core.pool import AgentPool
from router.core.requirements import RequirementTable
from router.core.state import AgentRecord
from router.store.codec import decode, encode
from skills import AgentAbilities, parse_requirement
from tests.test_engine_properties import CATALOGUE, SKILLS, TEAMS

TEXTS = ("*", "s0", "s0>=3", "s1>=2 | s2>=4", "s0 & s1", "s0 | s1 | s2", "s2>=2 & lang:sv")
CHANNELS = (Channel.VOICE, Channel.CHAT)
REGION = ("region", "")


def build(seed: int, n: int) -> tuple[AgentPool, list[AgentRecord], list[int]]:
    rng = random.Random(seed)
    reqs = RequirementTable(CATALOGUE)
    pool = AgentPool(reqs)
    rids = [reqs.intern(parse_requirement(t, CATALOGUE)) for t in TEXTS]
    agents = []
    for i in range(n):
        team = rng.choice(sorted(TEAMS))
        skills = {s: rng.randint(1, 5) for s in rng.sample(SKILLS, rng.randint(0, 3))}
        capacity = rng.choice(
            ({Channel.VOICE: 1}, {Channel.CHAT: 3}, {Channel.VOICE: 1, Channel.CHAT: 2})
        )
        spec = AgentSpec(
            f"a{i}",
            f"A{i}",
            TEAMS[team],
            team,
            AgentAbilities(skills, frozenset({rng.choice(("fi", "sv"))})),
            capacity,
        )
        a = AgentRecord(spec, i + 1)
        a.group = pool.group_for(spec, CATALOGUE.agent_mask(spec.abilities))
        a.logged_in = True
        agents.append(a)
    return pool, agents, rids


def shuffle_availability(pool: AgentPool, agents: list[AgentRecord], rng: random.Random) -> None:
    """Agents taken and freed at random, their load and idle time changing."""
    for _ in range(rng.randint(1, 3 * len(agents))):
        a = rng.choice(agents)
        pool.unindex(a)
        if rng.random() < 0.6:
            caps = pool.groups[a.group].caps
            a.load = {ch: rng.randint(0, n - 1) for ch, n in caps.items()}
            a.since = float(rng.randint(0, 50))
            free = tuple(ch for ch in CHANNELS if ch in caps and rng.random() < 0.8)
            pool.index(a, free)


class Contact:
    """What ``AgentPool.choose`` reads of a contact."""

    def __init__(
        self, rid: int, scope: tuple[str, str], channel: Channel, cooled: dict[str, float] | None
    ) -> None:
        self.rid, self.scope, self.channel, self.cooldowns = rid, scope, channel, cooled

    def cooled_for(self, agent_id: str, now: float) -> bool:
        return self.cooldowns is not None and self.cooldowns.get(agent_id, -1.0) > now


def scan(
    pool: AgentPool,
    rid: int,
    channel: Channel,
    rule: AgentChoice,
    scope: tuple[str, str] = REGION,
    cooled: frozenset[str] = frozenset(),
) -> tuple[str | None, int]:
    """The choice as every eligible group's first agent not cooled down ranked one by one
    (the available agents as their records say, not the pool's heaps or kinds)."""
    best_key: tuple[float, ...] | None = None
    best: str | None = None
    weighed = 0
    for gid in pool.eligible(rid, scope):
        live = [e for e in pool._avail[channel].get(gid, []) if e[3].avail_entry is e]
        live = [e for e in live if e[3].id not in cooled]
        if not live:
            continue
        weighed += 1
        load, since, seq, agent = min(live)
        g = pool.groups[gid]
        if rule is AgentChoice.LONGEST_IDLE:
            key: tuple[float, ...] = (load, since, seq)
        elif rule is AgentChoice.LEAST_OCCUPIED:
            key = (load / g.cap_total, load, since, seq)
        else:
            key = (-pool._reqs.proficiency(rid, g.mask), load, since, seq)
        if best_key is None or key < best_key:
            best_key, best = key, agent.id
    return best, weighed


def check(pool: AgentPool, rids: list[int], cooled: frozenset[str] = frozenset()) -> None:
    scopes = [REGION, *(("site", s) for s in sorted(set(TEAMS.values())))]
    scopes += [("team", t) for t in sorted(TEAMS)]
    for rid in rids:
        for channel in CHANNELS:
            for rule in AgentChoice:
                got, weighed = pool._choose_region(rid, channel, rule)
                assert ((got.id if got else None), weighed) == scan(pool, rid, channel, rule)
                for scope in scopes:
                    for cooldowns in (None, dict.fromkeys(cooled, 1.0)):
                        contact = Contact(rid, scope, channel, cooldowns)
                        got, weighed = pool.choose(contact, rule, {}, 0.0)  # type: ignore[arg-type]
                        expected = scan(pool, rid, channel, rule, scope, frozenset(cooldowns or ()))
                        assert ((got.id if got else None), weighed) == expected


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 40))
def test_the_region_choice_is_the_best_head_of_the_eligible_groups(seed: int, n: int) -> None:
    pool, agents, rids = build(seed, n)
    rng = random.Random(seed)
    for _ in range(6):
        shuffle_availability(pool, agents, rng)
        check(pool, rids, frozenset(a.id for a in agents if rng.random() < 0.3))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6))
def test_a_snapshot_keeps_the_choices_also_one_from_before_the_kinds(seed: int) -> None:
    pool, agents, rids = build(seed, 30)
    rng = random.Random(seed)
    shuffle_availability(pool, agents, rng)
    check(pool, rids)
    restored: AgentPool = decode(encode(pool))
    check(restored, rids)
    # Before the kinds and heaps, a pool pickled as its slots, without the derived ones,
    # and a ``SortedList`` of the live entries per group and channel.
    derived = ("_kinds", "_by_mask", "_glive")
    old = {name: getattr(pool, name) for name in AgentPool.__slots__ if name not in derived}
    old["_avail"] = {
        ch: {gid: SortedList(e for e in heap if e[3].avail_entry is e) for gid, heap in by.items()}
        for ch, by in pool._avail.items()
    }
    older = AgentPool.__new__(AgentPool)
    older.__setstate__((None, old))
    check(older, rids)
    # The restored pool's agents are its own copies: keep routing on them.
    restored_agents = sorted(
        {
            e[3].id: e[3] for by in restored._avail.values() for lst in by.values() for e in lst
        }.values(),
        key=lambda a: a.seq,
    )
    if restored_agents:
        shuffle_availability(restored, restored_agents, rng)
        check(restored, rids)


def test_stale_entries_do_not_pile_up() -> None:
    """Agents of one kind taken and freed many times while its longest-idle agent stays
    at the head: their old entries never reach the head, yet the heap stays bounded."""
    pool, agents, rids = build(7, 1)
    spec = agents[0].spec
    crowd = []
    for i in range(20):
        twin = AgentRecord(
            AgentSpec(f"t{i}", "T", spec.site, spec.team, spec.abilities, spec.capacity), 100 + i
        )
        twin.group = agents[0].group
        crowd.append(twin)
    channel = next(iter(pool.groups[agents[0].group].caps))
    pool.index(agents[0], (channel,))
    for n in range(5_000):
        twin = crowd[n % len(crowd)]
        pool.unindex(twin)
        twin.since = float(n + 1)
        pool.index(twin, (channel,))
    kind = pool._kinds.of_group[agents[0].group]
    assert len(pool._kinds.heaps[channel][kind]) <= 2 * (len(crowd) + 1) + 17
    assert len(pool._avail[channel][agents[0].group]) <= 2 * (len(crowd) + 1) + 17
    for rule in AgentChoice:
        got, weighed = pool._choose_region(rids[0], channel, rule)
        assert got is agents[0] and weighed == 1


def test_a_groups_full_at_is_its_one_channels_capacity_and_derived_in_snapshots() -> None:
    """An offer skips ``free_channels`` for an agent whose one channel it filled: the
    group's ``full_at`` is that channel's capacity, never reached with more channels, not
    written into a snapshot and set again on load (also of one written before it)."""
    pool, _, _ = build(3, 40)
    for g in pool.groups:
        (_, cap), *more = g.cap_items
        assert g.full_at == (cap if not more else sys.maxsize)
        state = g.__getstate__()[1]
        assert "full_at" not in state
        restored = decode(encode(g))
        assert restored.full_at == g.full_at
