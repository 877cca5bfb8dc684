"""The timing wheel fires timers exactly as one heap of every timer would."""

from __future__ import annotations

import heapq
import pickle

from hypothesis import given
from hypothesis import strategies as st

from router.core.timers import SLOT_S, TimerKind, TimerQueue

Op = tuple[str, float]


@given(
    st.lists(
        st.tuples(st.sampled_from(["push", "push", "advance"]), st.floats(0, 30, allow_nan=False)),
        max_size=200,
    )
)
def test_the_wheel_fires_in_the_same_order_as_a_heap(ops: list[Op]) -> None:
    wheel = TimerQueue()
    heap: list[tuple[float, int]] = []
    now = 0.0
    seq = 0
    fired_wheel: list[tuple[float, int]] = []
    fired_heap: list[tuple[float, int]] = []
    for op, x in ops:
        if op == "push":
            seq += 1
            at = now + x  # timers are never set in the past
            wheel.push(at, TimerKind.STEP, str(seq), seq)
            heapq.heappush(heap, (at, seq))
        else:
            now += x
            while (t := wheel.pop_due(now)) is not None:
                fired_wheel.append((t[0], int(t[4])))
                # Firing may set new timers, at or after the firing time.
                if int(t[4]) % 3 == 0:
                    seq += 1
                    wheel.push(t[0] + (seq % 4) * 0.3, TimerKind.STEP, str(seq), seq)
                    heapq.heappush(heap, (t[0] + (seq % 4) * 0.3, seq))
            while heap and heap[0][0] <= now:
                at, s = heapq.heappop(heap)
                fired_heap.append((at, s))
                if s % 3 == 0:
                    pass  # mirrored above: the wheel's pushes were added to the heap too
        assert wheel.next_at() == (heap[0][0] if heap else None)
        assert len(wheel) == len(heap)
        # The engine's "anything due?" test: nothing due before the first slot starts.
        assert wheel.due_from == (wheel.keys[0] * SLOT_S if wheel.keys else float("inf"))
        assert not heap or wheel.due_from <= heap[0][0]
        loaded = pickle.loads(pickle.dumps(wheel))
        assert loaded.due_from == wheel.due_from
        assert "due_from" not in wheel.__getstate__()[1]  # derived: snapshots as before
    assert fired_wheel == sorted(fired_wheel)
    assert sorted(fired_wheel) == sorted(fired_heap)
