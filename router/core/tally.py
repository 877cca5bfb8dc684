"""Live counts of waiting contacts per service and per site, with the oldest arrival,
kept as contacts enter and leave the queue so statistics never scan the queue."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.core.state import ContactRecord

TallyKey = tuple[str, str]  # ("service", name) or ("site", id)
Entry = tuple[float, int, "ContactRecord"]


class _Oldest:
    """The earliest arrival among live entries. Contacts mostly enter in arrival order
    (new arrivals), which a deque keeps in O(1); the few that re-enter out of order
    (widened, requeued) go to a heap. Stale entries are dropped when they surface."""

    __slots__ = ("heap", "ordered")

    def __init__(self) -> None:
        self.ordered: deque[Entry] = deque()
        self.heap: list[Entry] = []


def _live(key: TallyKey, c: ContactRecord) -> bool:
    if c.entry is None:
        return False
    kind, name = key
    return c.service.name == name if kind == "service" else c.spec.preferred_site == name


class WaitingTally:
    __slots__ = ("_count", "_oldest")

    def __init__(self) -> None:
        self._count: dict[TallyKey, int] = {}
        self._oldest: dict[TallyKey, _Oldest] = {}

    def entered(self, c: ContactRecord) -> None:
        entry = (c.arrived_at, c.seq, c)
        self._enter(("service", c.service.name), entry)
        site = c.spec.preferred_site
        if site is not None:
            self._enter(("site", site), entry)

    def _enter(self, key: TallyKey, entry: Entry) -> None:
        n = self._count[key] = self._count.get(key, 0) + 1
        oldest = self._oldest.get(key)
        if oldest is None:
            oldest = self._oldest[key] = _Oldest()
        # In arrival order to the deque, out of order to the heap (inline: this runs for
        # every contact entering the queue).
        ordered, heap = oldest.ordered, oldest.heap
        if not ordered or ordered[-1][0] <= entry[0]:
            ordered.append(entry)
        else:
            heapq.heappush(heap, entry)
        if len(ordered) + len(heap) > 2 * n + 1024:
            self._compact(key)

    def left(self, c: ContactRecord) -> None:
        self._count[("service", c.service.name)] -= 1
        site = c.spec.preferred_site
        if site is not None:
            self._count[("site", site)] -= 1

    def count(self, key: TallyKey) -> int:
        return self._count.get(key, 0)

    def oldest_arrival(self, key: TallyKey) -> float | None:
        oldest = self._oldest.get(key)
        if oldest is None:
            return None
        ordered, heap = oldest.ordered, oldest.heap
        while ordered and not _live(key, ordered[0][2]):
            ordered.popleft()
        while heap and not _live(key, heap[0][2]):
            heapq.heappop(heap)
        firsts = [q[0] for q in (ordered, heap) if q]
        return min(firsts)[0] if firsts else None

    def _compact(self, key: TallyKey) -> None:
        old = self._oldest[key]
        live: dict[int, Entry] = {}
        for e in (*old.ordered, *old.heap):
            if _live(key, e[2]):
                live[id(e[2])] = e
        fresh = _Oldest()
        for e in sorted(live.values(), key=lambda e: (e[0], e[1])):
            fresh.ordered.append(e)
        self._oldest[key] = fresh
