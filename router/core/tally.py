"""Live counts of waiting contacts per service and per site, with the oldest arrival,
kept as contacts enter and leave the queue so statistics never scan the queue."""

from __future__ import annotations

import heapq
from collections import deque
from operator import attrgetter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.core.state import ContactRecord

TallyKey = tuple[str, str]  # ("service", name) or ("site", id)
Entry = tuple[float, int, "ContactRecord"]
# Stale entries (contacts that left out of arrival order) a key may hold beyond twice its
# count before it is compacted: compaction is linear in the entries, so this spreads its
# cost over at least as many arrivals as it has to look at.
COMPACT_SLACK = 1024


class _Oldest:
    """The earliest arrival among live entries. Contacts mostly enter in arrival order
    (new arrivals), which a deque keeps in O(1); the few that re-enter out of order
    (widened, requeued) go to a heap of ``(arrived_at, seq, contact)`` entries. Stale
    entries are dropped when they surface.

    The deque holds the contact records themselves, not an entry tuple: a record never
    changes its arrival time, and a tuple per contact was one more object for the
    collector, kept (with the record) until the deque's stale entries are dropped."""

    __slots__ = ("heap", "n", "ordered")

    def __init__(self, n: int = 0) -> None:
        self.ordered: deque[ContactRecord] = deque()
        self.heap: list[Entry] = []
        self.n = n  # how many wait: the key's count, kept here to be found with it

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        slots = state[1]
        self.heap = slots["heap"]
        self.n = slots.get("n", 0)  # older snapshots kept the counts apart (set on load)
        # A snapshot from before kept ``(arrived_at, seq, contact)`` entries in the deque.
        self.ordered = deque(e[2] if isinstance(e, tuple) else e for e in slots["ordered"])


# What a key names, read off a contact record: its service's name, or its preferred
# site. One C call each, so a compaction reading 100,000s of records calls no Python.
_NAMED_BY = {"service": attrgetter("service.name"), "site": attrgetter("spec.preferred_site")}


def _live(key: TallyKey, c: ContactRecord) -> bool:
    kind, name = key
    return c.entry is not None and _NAMED_BY[kind](c) == name


class WaitingTally:
    """Per key, one ``_Oldest`` holding its count and its oldest arrival. The services'
    entries are also found by name (``_services``, derived, not pickled): a contact
    entering or leaving the queue then builds and hashes no ``("service", name)`` key
    (three hashes of a fresh tuple per contact queued, two per contact taken)."""

    __slots__ = ("_oldest", "_services")

    def __init__(self) -> None:
        self._oldest: dict[TallyKey, _Oldest] = {}
        self._services: dict[str, _Oldest] = {}

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        return None, {"_oldest": self._oldest}

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        slots = state[1]
        self._oldest = slots["_oldest"]
        counts: dict[TallyKey, int] | None = slots.get("_count")
        if counts is not None:  # an older snapshot: the counts in a dict of their own
            for key, n in counts.items():
                self._oldest.setdefault(key, _Oldest()).n = n
        self._services = {name: o for (kind, name), o in self._oldest.items() if kind == "service"}

    def entered(self, c: ContactRecord) -> None:
        # The service's entry: ``_enter``, inlined (every contact entering the queue).
        # A subscript, not ``get``: cheaper when the service has been seen (nearly always).
        try:
            oldest = self._services[c.service.name]
        except KeyError:
            oldest = self._entry(("service", c.service.name))
        n = oldest.n = oldest.n + 1
        ordered = oldest.ordered
        if not ordered or ordered[-1].arrived_at <= c.arrived_at:
            ordered.append(c)
        else:
            heapq.heappush(oldest.heap, (c.arrived_at, c.seq, c))
        if len(ordered) + len(oldest.heap) > 2 * n + COMPACT_SLACK:
            self._compact(("service", c.service.name))
        site = c.spec.preferred_site
        if site is not None:
            self._enter(("site", site), c)

    def _entry(self, key: TallyKey) -> _Oldest:
        """The key's entry, made when it has none."""
        oldest = self._oldest.get(key)
        if oldest is None:
            oldest = self._oldest[key] = _Oldest()
            if key[0] == "service":
                self._services[key[1]] = oldest
        return oldest

    def _enter(self, key: TallyKey, c: ContactRecord) -> None:
        oldest = self._entry(key)
        n = oldest.n = oldest.n + 1
        # In arrival order to the deque, out of order to the heap (inline: this runs for
        # every contact entering the queue).
        ordered, heap = oldest.ordered, oldest.heap
        if not ordered or ordered[-1].arrived_at <= c.arrived_at:
            ordered.append(c)
        else:
            heapq.heappush(heap, (c.arrived_at, c.seq, c))
        if len(ordered) + len(heap) > 2 * n + COMPACT_SLACK:
            self._compact(key)

    def left(self, c: ContactRecord) -> None:
        self._services[c.service.name].n -= 1
        site = c.spec.preferred_site
        if site is not None:
            self._oldest[("site", site)].n -= 1

    def count(self, key: TallyKey) -> int:
        oldest = self._oldest.get(key)
        return 0 if oldest is None else oldest.n

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
        """A fresh entry holding the key's live contacts once each. The deque is already
        in arrival order, so it is filtered, not sorted (sorting 100,000 records by a key
        function stalled the dispatch loop for ~0.4 s at 100k waiting); liveness is
        tested inline, the key's field read by its getter, for the same reason."""
        old = self._oldest[key]
        kind, name = key
        named = _NAMED_BY[kind]
        # A dict keeps the first of a contact's repeated entries and the deque's order.
        ordered = {id(c): c for c in old.ordered if c.entry is not None and named(c) == name}
        heap = [e for e in old.heap if e[2].entry is not None and named(e[2]) == name]
        fresh = _Oldest(old.n)
        fresh.ordered.extend(ordered.values())
        fresh.heap = list({id(e[2]): e for e in heap if id(e[2]) not in ordered}.values())
        heapq.heapify(fresh.heap)
        self._oldest[key] = fresh
        if kind == "service":
            self._services[name] = fresh
