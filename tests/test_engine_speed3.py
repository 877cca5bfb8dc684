"""What the third round of per-decision savings (#15 part 1) must keep: the pool's
pickers read a shelf's head keys exactly as indexing them one by one does, for no
requirement id, one or several, and follow a group's ids when they change (a requirement
interned since); they are derived state, not stored in a snapshot; and a shelf whose head
arrays end before an agent's highest id grows them when read; and an agent group behind on
requirement ids catches up on all of them, also when another group of its skill mask
caught up on fewer."""

from __future__ import annotations

import math
import pickle
from array import array
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from router.core import decisions as d
from router.core.events import (
    AgentLoggedIn,
    ContactArrived,
    ContactCompleted,
    OfferAccepted,
    PresenceChanged,
)
from router.core.model import Channel, ContactSpec, Presence
from router.core.pool import AgentPool
from router.core.queue import REGION, WaitingQueue
from skills import parse_requirement
from tests.builders import CATALOGUE, agent, engine, service
from tests.test_engine_speed_kinds import build
from tests.test_queue import Waiting

NAN = float("nan")


def _same(got: object, want: tuple[float, ...]) -> bool:
    assert isinstance(got, (tuple, list))
    return len(got) == len(want) and all(
        (math.isnan(g) and math.isnan(w)) or g == w for g, w in zip(got, want, strict=True)
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from((NAN, math.inf, 0.0, 1.5, 2.0, 1e9)), min_size=8, max_size=8),
    st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True),
    st.lists(st.integers(0, 7), max_size=8, unique=True),
)
def test_a_picker_reads_the_keys_at_the_groups_ids_and_follows_them(
    dues: list[float], first: list[int], then: list[int]
) -> None:
    pool, _, _ = build(1, 4)
    heads = array("d", dues)
    rids = tuple(sorted(first))
    assert _same(pool.picker(0, rids)(heads), tuple(heads[r] for r in rids))
    assert pool.picker(0, rids) is pool.picker(0, rids)  # cached while the ids are these
    # The group caught up on newly interned requirements: a new tuple of ids.
    moved = tuple(sorted(then))
    assert _same(pool.picker(0, moved)(heads), tuple(heads[r] for r in moved))


def test_pickers_are_not_stored_in_a_snapshot_and_are_rebuilt_after_loading() -> None:
    pool, _, _ = build(2, 4)
    heads = array("d", [3.0, NAN, 1.0])
    pool.picker(0, (0, 2))
    restored: AgentPool = pickle.loads(pickle.dumps(pool))
    assert restored._pickers == {}
    assert tuple(restored.picker(0, (0, 2))(heads)) == (3.0, 1.0)


def test_a_picker_reading_past_a_shelfs_arrays_grows_them_and_finds_the_head() -> None:
    # Requirement 300 was interned after the region's shelf last grew its head arrays.
    pool, _, _ = build(3, 4)
    queue: Any = WaitingQueue()
    early = Waiting("c1", 1, 5.0, REGION, Channel.VOICE, 2)
    late = Waiting("c2", 2, 3.0, REGION, Channel.VOICE, 1)
    queue.add(early)
    queue.add(late)
    reqs = (2, 300)
    got = queue.best_for((REGION,), (Channel.VOICE,), reqs, "a1", 0.0, pool.picker(0, reqs))
    assert got == (early, 1)
    assert queue.best_for((REGION,), (Channel.VOICE,), (1, 2, 300), "a1", 0.0) == (late, 2)


def test_a_group_behind_on_requirements_catches_up_past_its_masks_older_catch_up() -> None:
    # Two agents of one skill mask at two sites: two groups. One group catches up on the
    # requirements interned so far; a requirement interned after that must still reach
    # the other group when its agent drains the queue.
    nurse = service("nurse", "nursing")
    e = engine(
        [nurse],
        [
            agent("a1", "x", {"nursing": 3, "dental": 3}),
            agent("a2", "y", {"nursing": 3, "dental": 3}),
        ],
    )
    e.apply(0, AgentLoggedIn("a1"))
    e.apply(0, AgentLoggedIn("a2"))
    offered = {}
    for cid in ("c1", "c2"):
        (offer,) = [
            x
            for x in e.apply(1, ContactArrived(ContactSpec(cid, Channel.VOICE, "nurse")))
            if isinstance(x, d.Offered)
        ]
        offered[cid] = offer.agent_id
        e.apply(1, OfferAccepted(cid, offer.agent_id))
    by_agent = {a: c for c, a in offered.items()}
    social = parse_requirement("social", CATALOGUE)
    e.apply(2, ContactArrived(ContactSpec("c3", Channel.VOICE, "nurse", requirement=social)))
    # a1's group catches up (its drain weighs the queue), then a1 steps away.
    e.apply(3, ContactCompleted(by_agent["a1"], "a1"))
    e.apply(3, PresenceChanged("a1", Presence.NOT_READY))
    dental = parse_requirement("dental", CATALOGUE)  # interned now, after that catch-up
    e.apply(4, ContactArrived(ContactSpec("c4", Channel.VOICE, "nurse", requirement=dental)))
    got = e.apply(5, ContactCompleted(by_agent["a2"], "a2"))
    assert [(x.contact_id, x.agent_id) for x in got if isinstance(x, d.Offered)] == [("c4", "a2")]
