"""The one priority order of waiting contacts.

Rationale
---------
Every waiting contact, whatever its channel or service, is ordered by one rule:
**earliest due time first, ties by arrival order** (``(due_at, seq)``), where
``due_at = arrival + the urgency class's target answer time``. Urgency is a deadline, not
a number to compare: a P3 symptom assessment due in 20 minutes goes before a P5 call due
in an hour, and a P5 call that has waited 55 minutes goes before a P3 item that arrived a
minute ago. Because the key depends only on arrival and target, it never changes as time
passes: nothing is re-sorted, ageing is free, and the order can be written down and
explained to a supervisor. Priority schemes that add "age points" re-key every contact on
every tick and starve one queue for another in ways nobody can predict.

Structure
---------
Contacts are grouped into *buckets* by routing signature: the scope they are currently
offered to (one agent, a team, a site, or the whole region — the widening step), the
channel, and the compiled requirement id. Each bucket is a ``SortedList`` keyed by
``(due_at, seq)``. An agent who frees up looks only at the heads of the buckets it can
serve: the buckets of its own agent/team/site scopes and of the region, in channels where
it has free capacity, whose requirement its skill mask satisfies. The answer is the
smallest head, so the agent gets exactly the earliest-due waiting contact it is eligible
for at that contact's current step. The cost is O(number of eligible non-empty buckets +
log n), independent of how many contacts wait.

Like SimPy's ``FilterStore``, a filtered get is not global FIFO: a contact at the head of
the whole order may be passed over by an agent who cannot serve it (wrong skill, language,
site), and a contact in its cool-down for an agent (that agent declined it) is skipped
for that agent only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sortedcontainers import SortedList

from router.core.model import Channel
from router.core.tally import WaitingTally

if TYPE_CHECKING:
    from router.core.state import ContactRecord, QueueEntry

ScopeKey = tuple[str, str]
REGION: ScopeKey = ("region", "")


class Bucket:
    """One routing signature's waiting contacts in order, with the head at hand. An
    agent weighs about ten bucket heads per decision; keeping the head on a slotted
    object saves the chain of lookups into the ``SortedList`` each time, which is what
    costs when 100,000 waiting contacts no longer fit in the CPU's caches."""

    __slots__ = ("head", "items")

    def __init__(self) -> None:
        self.items = SortedList()
        self.head: QueueEntry | None = None

    def __len__(self) -> int:
        return len(self.items)

    def add(self, entry: QueueEntry) -> None:
        self.items.add(entry)
        head = self.head
        if head is None or entry < head:
            self.head = entry

    def remove(self, entry: QueueEntry) -> None:
        self.items.remove(entry)
        if entry is self.head:
            self.head = self.items._lists[0][0] if self.items else None


class WaitingQueue:
    """Buckets of waiting contacts, by scope, channel and requirement id."""

    __slots__ = ("_buckets", "_cooling", "_size", "tally")

    def __init__(self) -> None:
        self._buckets: dict[ScopeKey, dict[Channel, dict[int, Bucket]]] = {}
        self._size = 0
        # How many queued contacts have ever been in someone's cool-down: while none
        # are, agents need not look past bucket heads at contacts at all.
        self._cooling = 0
        self.tally = WaitingTally()

    def __len__(self) -> int:
        return self._size

    def add(self, contact: ContactRecord) -> None:
        by_channel = self._buckets.get(contact.scope)
        if by_channel is None:
            by_channel = self._buckets[contact.scope] = {}
        by_req = by_channel.get(contact.channel)
        if by_req is None:
            by_req = by_channel[contact.channel] = {}
        bucket = by_req.get(contact.rid)
        if bucket is None:
            bucket = by_req[contact.rid] = Bucket()
        entry: QueueEntry = (contact.due_at, contact.seq, contact)
        bucket.add(entry)
        contact.entry = entry
        self._size += 1
        if contact.cooldowns is not None:
            self._cooling += 1
        self.tally.entered(contact)

    def remove(self, contact: ContactRecord) -> None:
        entry = contact.entry
        if entry is None:
            return
        by_req = self._buckets[contact.scope][contact.channel]
        bucket = by_req[contact.rid]
        bucket.remove(entry)
        if not bucket:
            del by_req[contact.rid]
        contact.entry = None
        self._size -= 1
        if contact.cooldowns is not None:
            self._cooling -= 1
        self.tally.left(contact)

    def best_for(
        self,
        scopes: tuple[ScopeKey, ...],
        channels: tuple[Channel, ...],
        reqs: set[int],
        agent_id: str,
        now: float,
    ) -> tuple[ContactRecord | None, int]:
        """The earliest-due contact an agent may take, and how many bucket heads were
        weighed. ``reqs`` is the set of requirement ids the agent's mask satisfies."""
        best: QueueEntry | None = None
        weighed = 0
        buckets = self._buckets
        for scope in scopes:
            by_channel = buckets.get(scope)
            if not by_channel:
                continue
            for channel in channels:
                by_req = by_channel.get(channel)
                if not by_req:
                    continue
                # Walk whichever side is smaller: the buckets here, or the agent's reqs.
                if len(by_req) <= len(reqs):
                    eligible = [b for rid, b in by_req.items() if rid in reqs]
                else:
                    eligible = [b for rid in reqs if (b := by_req.get(rid)) is not None]
                weighed += len(eligible)
                if not self._cooling:
                    for bucket in eligible:
                        head = bucket.head
                        if head is not None and (best is None or head < best):
                            best = head
                    continue
                for bucket in eligible:
                    found = _head(bucket, agent_id, now)
                    if found is not None and (best is None or found < best):
                        best = found
        return (best[2] if best is not None else None), weighed

    def rank(self, contact: ContactRecord) -> int:
        """How many contacts wait ahead of ``contact`` in its own bucket (O(log n))."""
        entry = contact.entry
        if entry is None:
            return 0
        bucket = self._buckets[contact.scope][contact.channel][contact.rid]
        rank: int = bucket.items.index(entry)
        return rank

    def signatures(self, scope: ScopeKey) -> list[tuple[Channel, int]]:
        """The (channel, requirement id) of every non-empty bucket in ``scope``."""
        by_channel = self._buckets.get(scope, {})
        return [(channel, rid) for channel, by_req in by_channel.items() for rid in by_req]

    def contacts_in(self, scope: ScopeKey, channel: Channel, rid: int) -> list[ContactRecord]:
        bucket = self._buckets.get(scope, {}).get(channel, {}).get(rid)
        return [e[2] for e in bucket.items] if bucket else []

    def in_order(self) -> list[ContactRecord]:
        """Every waiting contact in the one priority order (O(n log n); for views)."""
        entries = [
            e
            for by_ch in self._buckets.values()
            for by_req in by_ch.values()
            for bucket in by_req.values()
            for e in bucket.items
        ]
        entries.sort(key=lambda e: (e[0], e[1]))
        return [e[2] for e in entries]


def _head(bucket: Bucket, agent_id: str, now: float) -> QueueEntry | None:
    """The bucket's first entry not in ``agent_id``'s cool-down."""
    entry = bucket.head
    if entry is None or entry[2].cooldowns is None or not entry[2].cooled_for(agent_id, now):
        return entry
    later: QueueEntry
    for later in bucket.items.islice(1):
        if not later[2].cooled_for(agent_id, now):
            return later
    return None
