"""Pending timers cost the garbage collector nothing after its first pass over them (they
are one or two per open contact), and still fire as their kind, also timers kept by a
snapshot of a version that stored the kind's enum member."""

from __future__ import annotations

import gc

from router.core.timers import TimerKind, TimerQueue
from router.store.codec import decode, encode


def test_pending_timers_are_left_alone_by_the_collector() -> None:
    wheel = TimerQueue()
    for n, kind in enumerate(TimerKind):
        wheel.push(10.0 + n, kind, f"c{n}", float(n))
    gc.collect()
    pending = [t for slot in wheel._slots.values() for t in slot]
    assert len(pending) == len(TimerKind)
    assert not any(gc.is_tracked(t) for t in pending)


def test_timers_fire_as_their_kind_also_after_a_snapshot() -> None:
    wheel = TimerQueue()
    for n, kind in enumerate(TimerKind):
        wheel.push(10.0 + n, kind, f"c{n}", float(n))
    restored: TimerQueue = decode(encode(wheel))
    # As a snapshot of the version that stored enum members holds it.
    key = min(restored._slots)
    at, seq, plain, ref, token = restored._slots[key][0]
    restored._slots[key][0] = (at, seq, TimerKind(plain), ref, token)
    for timers in (wheel, restored):
        fired = []
        while (t := timers.pop_due(100.0)) is not None:
            fired.append(t)
        assert [t[2] for t in fired] == list(TimerKind)
        assert all(t[2] is kind for t, kind in zip(fired, TimerKind, strict=True))
        assert [t[3] for t in fired] == [f"c{n}" for n in range(len(TimerKind))]
