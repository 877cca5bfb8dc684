"""What the sixth round of per-decision savings (#15 part 1) must keep: an agent weighing
the queue with its requirement ids as bits (the head count by one ``&`` and a bit count,
the shelves' bits of which ids have a bucket) gets the same contact and the same count
of heads weighed as brute force finds, through adds, removals and takes, and after a
snapshot round trip (the bits are derived, rebuilt on load, also from an older form); the
waiting tally, its counts kept with its entries and services found by name, loads a
snapshot that kept the counts apart and goes on counting."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.core import bucket as bucket_module
from router.core.model import Channel
from router.core.queue import REGION, ScopeKey, WaitingQueue
from router.core.tally import TallyKey, WaitingTally
from tests.test_engine_speed_kinds import build
from tests.test_queue import Waiting, agent, brute, play, step
from tests.test_tally import Queued, _Service, _Spec


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(bucket_module, "LOAD", 2)  # chunks split and empty often
    yield


def _weigh(queue: Any, pool: Any, a: tuple[list[ScopeKey], list[Channel], set[int], float]) -> Any:
    scopes, channels, reqs, now = a
    rids = tuple(sorted(reqs))
    pick, bits = pool.reader(0, rids)
    return queue.best_for(tuple(scopes), tuple(channels), rids, "a1", now, pick, bits)


def _bits_of(queue: Any) -> list[tuple[int, int]]:
    """Each shelf's bits, and the bits its buckets' ids make."""
    return [
        (shelf.present, sum(1 << rid for rid in shelf.buckets))
        for by_channel in queue._shelves.values()
        for shelf in by_channel.values()
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=120), st.lists(agent, min_size=1, max_size=6))
def test_weighing_by_bits_finds_what_brute_force_finds_with_the_same_head_count(
    steps: list[tuple[str, Any]],
    agents: list[tuple[list[ScopeKey], list[Channel], set[int], float]],
) -> None:
    pool, _, _ = build(1, 4)
    queue: Any = WaitingQueue()

    def check(waiting: list[Waiting]) -> None:
        for a in agents:
            assert _weigh(queue, pool, a) == brute(waiting, *a[:3], "a1", a[3])

    waiting = play(queue, steps, agents, check)
    assert all(present == want for present, want in _bits_of(queue))

    copy: Any = pickle.loads(pickle.dumps((queue, waiting)))[0]
    assert all(present == want for present, want in _bits_of(copy))
    # The region-only shortcut (round 9) is derived: kept current, rebuilt on load.
    assert queue._region is queue._only_region()
    assert copy._region is copy._only_region()
    assert "_region" not in queue.__getstate__()[1]
    for a in agents:
        got, weighed = _weigh(copy, pool, a)
        best, expected = brute(waiting, *a[:3], "a1", a[3])
        assert weighed == expected
        assert (got.id if got else None) == (best.id if best else None)


def test_a_queue_from_a_snapshot_without_shelves_knows_which_ids_have_a_bucket() -> None:
    # The older form: buckets by scope, channel and requirement id (``__setstate__``).
    source: Any = WaitingQueue()
    contacts = [
        Waiting(f"c{i}", i, float(i), REGION, Channel.VOICE, rid) for i, rid in ((1, 3), (2, 40))
    ]
    for c in contacts:
        source.add(c)
    buckets = {
        scope: {ch: dict(shelf.buckets) for ch, shelf in by_channel.items()}
        for scope, by_channel in source._shelves.items()
    }
    old: Any = WaitingQueue.__new__(WaitingQueue)
    old.__setstate__(
        (None, {"_buckets": buckets, "_size": 2, "_cooling": 0, "tally": source.tally})
    )
    assert _bits_of(old) == [((1 << 3) | (1 << 40), (1 << 3) | (1 << 40))]
    pool, _, _ = build(1, 4)
    pick, bits = pool.reader(0, (3, 40))
    assert old.best_for((REGION,), (Channel.VOICE,), (3, 40), "a1", 0.0, pick, bits) == (
        contacts[0],
        2,
    )


def test_a_tally_stored_with_its_counts_apart_loads_with_them_and_keeps_counting() -> None:
    # The older form: counts in a dict of their own beside the oldest-arrival entries.
    tally = WaitingTally()
    contacts = [Queued(10.0 + n, n, _Service("nursing"), _Spec("north")) for n in range(3)]
    contacts.append(Queued(1.0, 3, _Service("dental"), _Spec(None)))
    for c in contacts:
        c.entry = object()
        tally.entered(c)  # type: ignore[arg-type]
    keys: list[TallyKey] = [("service", "nursing"), ("service", "dental"), ("site", "north")]
    entries: Any = tally._oldest
    counts = {key: entries[key].n for key in keys}
    old_entries = pickle.loads(pickle.dumps(entries))
    for entry in old_entries.values():
        del entry.n  # as the older form had no count in its entries
    old: Any = WaitingTally.__new__(WaitingTally)
    old.__setstate__((None, {"_count": counts, "_oldest": old_entries}))
    assert [(old.count(k), old.oldest_arrival(k)) for k in keys] == [
        (3, 10.0),
        (1, 1.0),
        (3, 10.0),
    ]
    by_seq = {c.seq: c for o in old._oldest.values() for c in o.ordered}
    gone = by_seq[0]
    gone.entry = None
    old.left(gone)  # the service's count is found by name: rebuilt on load
    late = Queued(20.0, 4, _Service("nursing"), _Spec(None))
    late.entry = object()
    old.entered(late)
    assert [(old.count(k), old.oldest_arrival(k)) for k in keys] == [
        (3, 11.0),
        (1, 1.0),
        (2, 11.0),
    ]
    restored: Any = pickle.loads(pickle.dumps(old))
    assert [restored.count(k) for k in keys] == [3, 1, 2]
    assert "_services" not in restored.__getstate__()[1]  # derived, not stored
