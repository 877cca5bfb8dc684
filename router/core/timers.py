"""A heap of timers with lazy cancellation: each timer carries a token, and its owner
checks the token when the timer fires, so cancelling is free and nothing is scanned."""

from __future__ import annotations

import heapq
from enum import IntEnum


class TimerKind(IntEnum):
    OFFER_EXPIRY = 0
    STEP = 1
    WARN = 2
    DEADLINE = 3
    COOLDOWN = 4
    WRAP_UP = 5


Timer = tuple[float, int, TimerKind, str, float]


class TimerQueue:
    __slots__ = ("_seq", "heap")

    def __init__(self) -> None:
        # Read directly by the engine for its "anything due?" check on every event.
        self.heap: list[Timer] = []
        self._seq = 0

    def __len__(self) -> int:
        return len(self.heap)

    def push(self, at: float, kind: TimerKind, ref: str, token: float) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (at, self._seq, kind, ref, token))

    def next_at(self) -> float | None:
        """When the earliest timer is due. It may turn out stale (cancelled), which only
        costs the caller an early wake-up."""
        return self.heap[0][0] if self.heap else None

    def pop_due(self, now: float) -> Timer | None:
        heap = self.heap
        if heap and heap[0][0] <= now:
            return heapq.heappop(heap)
        return None
