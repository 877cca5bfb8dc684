"""Live counts of waiting contacts per service and per site, with the oldest arrival,
kept as contacts enter and leave the queue so statistics never scan the queue."""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.core.state import ContactRecord

TallyKey = tuple[str, str]  # ("service", name) or ("site", id)
Entry = tuple[float, int, "ContactRecord"]


class _Oldest:
    """The earliest arrival among live entries. Contacts mostly enter in arrival order
    (new arrivals), which a deque keeps in O(1); the few that re-enter out of order
    (widened, requeued) go to a heap of ``(arrived_at, seq, contact)`` entries. Stale
    entries are dropped when they surface.

    The deque holds the contact records themselves, not an entry tuple: a record never
    changes its arrival time, and a tuple per contact was one more object for the
    collector, kept (with the record) until the deque's stale entries are dropped."""

    __slots__ = ("heap", "ordered")

    def __init__(self) -> None:
        self.ordered: deque[ContactRecord] = deque()
        self.heap: list[Entry] = []

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        slots = state[1]
        self.heap = slots["heap"]
        # A snapshot from before kept ``(arrived_at, seq, contact)`` entries in the deque.
        self.ordered = deque(e[2] if isinstance(e, tuple) else e for e in slots["ordered"])


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
        # The service's entry: ``_enter``, inlined (every contact entering the queue).
        key = ("service", c.service.name)
        # Subscripts, not ``get``: cheaper when the service has been seen (nearly always).
        count = self._count
        try:
            n = count[key] + 1
        except KeyError:
            n = 1
        count[key] = n
        try:
            oldest = self._oldest[key]
        except KeyError:
            oldest = self._oldest[key] = _Oldest()
        ordered = oldest.ordered
        if not ordered or ordered[-1].arrived_at <= c.arrived_at:
            ordered.append(c)
        else:
            heapq.heappush(oldest.heap, (c.arrived_at, c.seq, c))
        if len(ordered) + len(oldest.heap) > 2 * n + 1024:
            self._compact(key)
        site = c.spec.preferred_site
        if site is not None:
            self._enter(("site", site), c)

    def _enter(self, key: TallyKey, c: ContactRecord) -> None:
        n = self._count[key] = self._count.get(key, 0) + 1
        oldest = self._oldest.get(key)
        if oldest is None:
            oldest = self._oldest[key] = _Oldest()
        # In arrival order to the deque, out of order to the heap (inline: this runs for
        # every contact entering the queue).
        ordered, heap = oldest.ordered, oldest.heap
        if not ordered or ordered[-1].arrived_at <= c.arrived_at:
            ordered.append(c)
        else:
            heapq.heappush(heap, (c.arrived_at, c.seq, c))
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
        while ordered and not _live(key, ordered[0]):
            ordered.popleft()
        while heap and not _live(key, heap[0][2]):
            heapq.heappop(heap)
        if not ordered:
            return heap[0][0] if heap else None
        first = ordered[0].arrived_at
        return min(first, heap[0][0]) if heap else first

    def _compact(self, key: TallyKey) -> None:
        old = self._oldest[key]
        live: dict[int, ContactRecord] = {}
        for c in (*old.ordered, *(e[2] for e in old.heap)):
            if _live(key, c):
                live[id(c)] = c
        fresh = _Oldest()
        fresh.ordered.extend(sorted(live.values(), key=lambda c: (c.arrived_at, c.seq)))
        self._oldest[key] = fresh
