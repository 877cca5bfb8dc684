"""Which agent groups a requirement reaches: the pool's cached answers (``eligible`` per
requirement and scope, ``reqs_of`` per group, caught up as requirements are interned)
are exactly the groups in the scope whose mask meets the requirement."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from router.core.model import AgentSpec, Channel
from router.core.pool import AgentPool, picker_of
from router.core.queue import ScopeKey
from router.core.requirements import RequirementTable
from skills import AgentAbilities, parse_requirement
from tests.test_engine_properties import CATALOGUE, SITES, SKILLS, TEAMS

TEXTS = ("*", "s0", "s0>=3", "s1>=2 | s2>=4", "s0 & s1", "s0 | s1 | s2", "s2>=2 & lang:sv")
SCOPES: list[ScopeKey] = [
    ("region", ""),
    *(("site", s) for s in SITES),
    *(("team", t) for t in TEAMS),
    ("agent", "a0"),
]

agents = st.lists(
    st.tuples(
        st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=3),
        st.sampled_from(("fi", "sv")),
        st.sampled_from(sorted(TEAMS)),
    ),
    min_size=1,
    max_size=12,
)


@given(agents, st.lists(st.sampled_from(TEXTS), min_size=1, max_size=10))
def test_the_groups_a_requirement_reaches_are_those_in_scope_meeting_it(
    roster: list[tuple[dict[str, int], str, str]], texts: list[str]
) -> None:
    reqs = RequirementTable(CATALOGUE)
    pool = AgentPool(reqs)
    for n, entry in enumerate(roster):
        spec = _spec(n, *entry)
        pool.group_for(spec, CATALOGUE.agent_mask(spec.abilities))
    seen = []
    for i, text in enumerate(texts):
        rid = reqs.intern(parse_requirement(text, CATALOGUE))
        seen.append(rid)
        compiled = reqs.compiled[rid]
        for scope in SCOPES:
            expected = [g.id for g in pool.groups if g.in_scope(scope) and compiled.matches(g.mask)]
            assert list(pool.eligible(rid, scope)) == expected
        # Groups catch up on new ids at different times: ask some now, some later.
        for g in pool.groups[: i + 1]:
            met = tuple(r for r in sorted(set(seen)) if reqs.compiled[r].matches(g.mask))
            assert pool.reqs_of(g.id) == met
    for g in pool.groups:
        met = tuple(r for r in sorted(set(seen)) if reqs.compiled[r].matches(g.mask))
        assert pool.reqs_of(g.id) == met


def _spec(n: int, skills: dict[str, int], lang: str, team: str) -> AgentSpec:
    return AgentSpec(
        id=f"a{n}",
        name=f"A{n}",
        site=TEAMS[team],
        team=team,
        abilities=AgentAbilities(skills, frozenset({lang})),
        capacity={Channel.VOICE: 1},
    )


@given(
    agents,
    st.lists(st.sampled_from(TEXTS), min_size=1, max_size=10),
    st.integers(0, 10),
    st.integers(0, 10),
)
def test_a_groups_ids_stay_exact_across_new_groups_and_snapshots(
    roster: list[tuple[dict[str, int], str, str]], texts: list[str], split: int, cut: int
) -> None:
    """The ids are shared per mask and caught up for every mask at once: a group made
    after some ids were interned, and a pool loaded from a snapshot (also one whose
    groups of one mask had caught up to different points, as older versions caught up
    group by group), answer the same as testing every id."""
    reqs = RequirementTable(CATALOGUE)
    pool = AgentPool(reqs)
    specs = [_spec(n, *entry) for n, entry in enumerate(roster)]
    for i, text in enumerate(texts):
        if i == split % len(texts):
            for spec in specs[: len(specs) // 2]:
                pool.group_for(spec, CATALOGUE.agent_mask(spec.abilities))
        if i == cut % len(texts):
            reqs, pool = pickle.loads(pickle.dumps((reqs, pool)))
        reqs.intern(parse_requirement(text, CATALOGUE))
    for spec in specs:
        pool.group_for(spec, CATALOGUE.agent_mask(spec.abilities))

    def met(mask: int, upto: int) -> tuple[int, ...]:
        return tuple(r for r in range(upto) if reqs.compiled[r].matches(mask))

    heads = [float(r) for r in range(len(reqs.compiled))]
    for g in pool.groups:
        assert pool.reqs_of(g.id) == met(g.mask, len(reqs.compiled))
        # What the drain weighs them with, shared by the mask's groups: the ids as bits
        # and a picker reading exactly those ids.
        held = g.shared
        assert held.bits == sum(1 << r for r in held.rids)
        pick = held.pick if held.pick is not None else picker_of(held.rids)
        assert tuple(pick(heads)) == tuple(float(r) for r in held.rids)
    # A snapshot as an older version wrote it: each group with its own catch-up point
    # (what its groups load with, until the pool shares one holder per mask).
    reqs2, pool2 = pickle.loads(pickle.dumps((reqs, pool)))
    for n, g in enumerate(pool2.groups):
        g.shared.checked = n % (len(reqs2.compiled) + 1)
        g.shared.rids = met(g.mask, g.shared.checked)
    reqs2.intern(parse_requirement("s1 & s2", CATALOGUE))
    for g in pool2.groups:
        assert pool2.reqs_of(g.id) == tuple(
            r for r in range(len(reqs2.compiled)) if reqs2.compiled[r].matches(g.mask)
        )
