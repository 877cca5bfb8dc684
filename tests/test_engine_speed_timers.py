"""Pending timers cost the garbage collector nothing after its first pass over them (they
are one or two per open contact): the engine pushes each kind as a plain int, and they
still fire as their kind, also timers kept by a snapshot of a version that stored the
kind's enum member (or kept a count of the timers)."""

from __future__ import annotations

import copy
import gc

from router.core.events import AgentLoggedIn, ContactArrived, ContactCompleted, OfferAccepted
from router.core.model import Channel, ContactSpec
from router.core.timers import TimerKind, TimerQueue
from router.store.codec import decode, encode
from tests.builders import Clock, agent, engine, service


def test_pending_timers_are_left_alone_by_the_collector() -> None:
    wheel = TimerQueue()
    for n, kind in enumerate(TimerKind):
        wheel.push(10.0 + n, kind.value, f"c{n}", float(n))
    gc.collect()
    pending = [t for slot in wheel._slots.values() for t in slot]
    assert len(pending) == len(TimerKind)
    assert not any(gc.is_tracked(t) for t in pending)


def test_timers_fire_as_their_kind_also_after_a_snapshot() -> None:
    wheel = TimerQueue()
    for n, kind in enumerate(TimerKind):
        wheel.push(10.0 + n, kind.value, f"c{n}", float(n))
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


def test_the_engine_pushes_its_timers_kinds_as_plain_ints() -> None:
    nurses = [agent(a, "x", {"nursing": 2}) for a in ("a", "b")]
    c = Clock(engine([service("nurse", "nursing", wrapup_s=5.0)], nurses))
    c.at(0, AgentLoggedIn("a"))
    c.at(1, ContactArrived(ContactSpec("k", Channel.VOICE, "nurse")))  # offered: expiry
    c.at(2, ContactArrived(ContactSpec("q", Channel.VOICE, "nurse")))  # queued: warning
    c.at(3, OfferAccepted("k", "a"), ContactCompleted("k", "a"))  # wrap-up
    pending = [t for slot in c.engine._timers._slots.values() for t in slot]
    kinds = {TimerKind(t[2]) for t in pending}
    assert {TimerKind.OFFER_EXPIRY, TimerKind.WARN, TimerKind.WRAP_UP} <= kinds
    assert all(type(t[2]) is int for t in pending)


def test_a_snapshot_that_kept_the_count_of_timers_loads() -> None:
    wheel = TimerQueue()
    for n in range(5):
        wheel.push(10.0 + n, TimerKind.STEP.value, f"c{n}", float(n))
    wheel.pop_due(10.5)
    state = copy.deepcopy(wheel.__getstate__()[1])
    restored = TimerQueue.__new__(TimerQueue)
    restored.__setstate__((None, {**state, "_count": 4}))
    assert len(restored) == len(wheel) == 4
    assert restored.pop_due(100.0) == wheel.pop_due(100.0)
