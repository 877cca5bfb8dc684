"""Live counts of waiting contacts per service and per site, with the oldest arrival,
kept as contacts enter and leave the queue so statistics never scan the queue."""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.core.state import ContactRecord

TallyKey = tuple[str, str]  # ("service", name) or ("site", id)


def _keys(c: ContactRecord) -> tuple[TallyKey, ...]:
    site = c.spec.preferred_site
    if site is None:
        return (("service", c.service.name),)
    return (("service", c.service.name), ("site", site))


class WaitingTally:
    __slots__ = ("_count", "_oldest")

    def __init__(self) -> None:
        self._count: dict[TallyKey, int] = {}
        # Lazy heaps of (arrived_at, seq, contact): an entry is live while the contact
        # waits under that key; stale entries are dropped when they reach the top.
        self._oldest: dict[TallyKey, list[tuple[float, int, ContactRecord]]] = {}

    def entered(self, c: ContactRecord) -> None:
        for key in _keys(c):
            self._count[key] = self._count.get(key, 0) + 1
            heap = self._oldest.setdefault(key, [])
            heapq.heappush(heap, (c.arrived_at, c.seq, c))
            if len(heap) > 2 * self._count[key] + 1024:
                self._compact(key)

    def left(self, c: ContactRecord) -> None:
        for key in _keys(c):
            self._count[key] -= 1

    def count(self, key: TallyKey) -> int:
        return self._count.get(key, 0)

    def oldest_arrival(self, key: TallyKey) -> float | None:
        heap = self._oldest.get(key)
        while heap:
            c = heap[0][2]
            if c.entry is not None and key in _keys(c):
                return heap[0][0]
            heapq.heappop(heap)
        return None

    def keys(self) -> list[TallyKey]:
        return [k for k, n in self._count.items() if n]

    def _compact(self, key: TallyKey) -> None:
        live = {
            id(e[2]): e for e in self._oldest[key] if e[2].entry is not None and key in _keys(e[2])
        }
        heap = list(live.values())
        heapq.heapify(heap)
        self._oldest[key] = heap
