"""The waiting queue's answer to "which contact should this agent get?" against brute
force over every waiting contact: the smallest ``(target_at, seq)`` among those in the
agent's scopes, free channels and requirement ids, and not in its cool-down; and the
number of bucket heads weighed. Shelves keep head keys in flat arrays; these tests make
sure the arrays always say what the buckets hold, through adds, removes, chunk splits,
empty buckets, cool-downs, equal and infinite due times."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core import bucket as bucket_module
from router.core.model import Channel
from router.core.queue import REGION, ScopeKey, WaitingQueue


@dataclass
class _Service:
    name: str = "svc"


@dataclass
class _Spec:
    preferred_site: str | None = None


@dataclass(eq=False)
class Waiting:
    """What the queue reads of a contact record."""

    id: str
    seq: int
    target_at: float
    scope: ScopeKey
    channel: Channel
    rid: int
    cooldowns: dict[str, float] | None = None
    arrived_at: float = 0.0
    entry: object = None
    service: _Service = field(default_factory=_Service)
    spec: _Spec = field(default_factory=_Spec)

    def cooled_for(self, agent_id: str, now: float) -> bool:
        cds = self.cooldowns
        return cds is not None and cds.get(agent_id, -1.0) > now


SCOPES: list[ScopeKey] = [("agent", "a1"), ("team", "t1"), ("site", "s1"), REGION]
CHANNELS = [Channel.VOICE, Channel.CHAT]
RIDS = [0, 1, 2, 3, 7, 40, 300]
DUES = [-math.inf, -5.0, -0.0, 0.0, 1.0, 2.5, 1e300, math.inf]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bucket_module, "LOAD", 2)
    yield


def brute(
    waiting: list[Waiting],
    scopes: list[ScopeKey],
    channels: list[Channel],
    reqs: set[int],
    agent: str,
    now: float,
) -> tuple[Waiting | None, int]:
    mine = [c for c in waiting if c.scope in scopes and c.channel in channels and c.rid in reqs]
    weighed = len({(c.scope, c.channel, c.rid) for c in mine})
    free = [c for c in mine if not c.cooled_for(agent, now)]
    return min(free, key=lambda c: (c.target_at, c.seq), default=None), weighed


contact = st.tuples(
    st.sampled_from(DUES),
    st.sampled_from(SCOPES),
    st.sampled_from(CHANNELS),
    st.sampled_from(RIDS),
    st.booleans(),  # declined by agent a1 (in its cool-down until t=100)
    st.booleans(),  # re-entering with an old, lower arrival number
)
step = st.one_of(
    st.tuples(st.just("add"), contact),
    st.tuples(st.just("remove"), st.integers(0, 1_000)),
    st.tuples(st.just("take"), st.integers(0, 1_000)),
)
agent = st.tuples(
    st.lists(st.sampled_from(SCOPES), min_size=1, max_size=4, unique=True),
    st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=2, unique=True),
    st.sets(st.sampled_from(RIDS), min_size=1),
    st.sampled_from([50.0, 150.0]),  # while a1's cool-downs last, and after
)


Agent = tuple[list[ScopeKey], list[Channel], set[int], float]


def play(
    queue: Any,
    steps: list[tuple[str, Any]],
    agents: list[Agent],
    check: Callable[[list[Waiting]], None],
) -> list[Waiting]:
    """Apply random ``steps`` to ``queue``: adds, removals, and takes (what an agent
    does: the best contact for it, as brute force finds it), calling ``check`` with the
    contacts waiting after each; returns them, in the order added."""
    waiting: list[Waiting] = []
    seq = 1_000
    for n, (op, arg) in enumerate(steps):
        if op == "add":
            due, scope, channel, rid, declined, old = arg
            seq += 1
            c = Waiting(
                f"c{n}",
                seq - 999 if old else seq,
                due,
                scope,
                channel,
                rid,
                {"a1": 100.0} if declined else None,
            )
            queue.add(c)
            waiting.append(c)
        elif waiting:
            if op == "take":
                scopes, channels, reqs, now = agents[int(arg) % len(agents)]
                victim, _ = brute(waiting, scopes, channels, reqs, "a1", now)
                if victim is None:
                    continue
            else:
                victim = waiting[int(arg) % len(waiting)]
            queue.remove(victim)
            waiting.remove(victim)
        check(waiting)
    return waiting


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=120), st.lists(agent, min_size=1, max_size=6))
def test_an_agent_gets_the_earliest_due_contact_it_may_take_as_brute_force_finds_it(
    steps: list[tuple[str, Any]],
    agents: list[tuple[list[ScopeKey], list[Channel], set[int], float]],
) -> None:
    queue: Any = WaitingQueue()

    def check(waiting: list[Waiting]) -> None:
        assert len(queue) == len(waiting)
        for scopes, channels, reqs, now in agents:
            found = queue.best_for(tuple(scopes), tuple(channels), tuple(reqs), "a1", now)
            assert found == brute(waiting, scopes, channels, reqs, "a1", now)

    waiting = play(queue, steps, agents, check)
    in_order = sorted(waiting, key=lambda c: (c.target_at, c.seq))
    assert queue.in_order() == in_order
    for c in waiting:
        ahead = [
            w for w in waiting if w.entry is c.entry and (w.target_at, w.seq) < (c.target_at, c.seq)
        ]
        assert queue.rank(c) == len(ahead)

    copy: Any = pickle.loads(pickle.dumps((queue, waiting)))[0]
    for scopes, channels, reqs, now in agents:
        got, weighed = copy.best_for(tuple(scopes), tuple(channels), tuple(reqs), "a1", now)
        best, expected = brute(waiting, scopes, channels, reqs, "a1", now)
        assert weighed == expected
        assert (got.id if got else None) == (best.id if best else None)


def test_a_contact_target_at_infinity_still_goes_by_arrival_against_the_largest_finite_due() -> (
    None
):
    queue: Any = WaitingQueue()
    late = Waiting("late", 1, math.inf, REGION, Channel.VOICE, 0)
    huge = Waiting("huge", 2, 1.7976931348623157e308, REGION, Channel.VOICE, 1)
    queue.add(late)
    queue.add(huge)
    assert queue.best_for((REGION,), (Channel.VOICE,), (0, 1), "a1", 0.0) == (huge, 2)
    queue.remove(huge)
    assert queue.best_for((REGION,), (Channel.VOICE,), (0, 1), "a1", 0.0) == (late, 1)
    assert queue.best_for((REGION,), (Channel.VOICE,), (), "a1", 0.0) == (None, 0)
