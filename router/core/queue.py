"""The one priority order of waiting contacts.

Rationale
---------
Every waiting contact, whatever its channel or service, is ordered by one rule:
**earliest target first, ties by arrival order** (``(target_at, seq)``), where
``target_at = arrival + the urgency class's target answer time`` (counted from the next
opening for a contact that arrived while closed). Urgency is a deadline, not a number to
compare: a P3 symptom assessment due in 20 minutes goes before a P5 call due
in an hour, and a P5 call that has waited 55 minutes goes before a P3 item that arrived a
minute ago. Because the key depends only on arrival and target, it never changes as time
passes: nothing is re-sorted, ageing is free, and the order can be written down and
explained to a supervisor. Priority schemes that add "age points" re-key every contact on
every tick and starve one queue for another in ways nobody can predict.

The same-day rule's cap (due by closing time) is the contact's *deadline* (``due_at``),
for warnings and alarms, not its key: capping keys would tie every class at closing
time and hand the tie to arrival order, so an urgent call at 15:45 would wait behind
routine calls from noon. With uncapped keys a more urgent class is never served after a
less urgent contact whose own target is not earlier.

Structure
---------
Contacts are grouped into *buckets* by routing signature: the scope they are currently
offered to (one agent, a team, a site, or the whole region — the widening step), the
channel, and the compiled requirement id. Each bucket (``router.core.bucket``) keeps its
contacts sorted by ``(target_at, seq)`` (its arrays call the key "due"). An agent who
frees up looks only at the heads of the buckets it can serve: the buckets of its own
agent/team/site scopes and of the region, in channels where it has free capacity, whose
requirement its skill mask satisfies. The answer is the smallest head, so the agent gets
exactly the first waiting contact in the one order it is eligible for at that contact's
current step. The cost is O(number of requirements the agent meets + log n), independent
of how many contacts wait; for shared scopes the heads' keys sit in flat arrays by
requirement id (``Shelf``), so weighing them reads memory that stays in the CPU's caches
however long the queue.

Like SimPy's ``FilterStore``, a filtered get is not global FIFO: a contact at the head of
the whole order may be passed over by an agent who cannot serve it (wrong skill, language,
site), and a contact in its cool-down for an agent (that agent declined it) is skipped
for that agent only.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from math import isnan
from typing import TYPE_CHECKING, Any

from router.core.bucket import Bucket, from_bytes
from router.core.model import Channel
from router.core.tally import WaitingTally

if TYPE_CHECKING:
    from router.core.state import ContactRecord

ScopeKey = tuple[str, str]
REGION: ScopeKey = ("region", "")

_INF = float("inf")
# A shelf's slot for a requirement id without a bucket: NaN fails every comparison, so
# it is never weighed nor chosen, while a real head due at +inf still is.
_NONE = float("nan")
_NO_SEQ = sys.maxsize  # above every arrival number


class Shelf:
    """The buckets of one scope and channel. For shared scopes (the region, a site, a
    team) the heads' keys are also kept in two flat lists indexed by requirement id, so
    an agent weighing its ~10 eligible buckets reads one small, hot list instead of
    following pointers into ten buckets whose heads, with 100,000 contacts waiting, are
    no longer in the CPU's caches. Lists, not ``array``s: a store into an array parses
    its argument (``PyArg_Parse``, ~375 instructions, on every head that changes) and a
    read makes a float object (the picker reads tens per drain); the lists hold one
    entry per requirement id (hundreds), which stay as hot as an array would."""

    __slots__ = ("buckets", "dues", "present", "seqs")

    def __init__(self, dense: bool) -> None:
        self.buckets: dict[int, Bucket] = {}
        self.dues: list[float] | None = [] if dense else None
        self.seqs: list[int] = []
        # The requirement ids with a bucket, as bits: how many of an agent's ids have a
        # head here is one ``&`` and a bit count (``best_for``), not a test per id.
        # Derived from ``buckets``: not pickled.
        self.present = 0

    def __getstate__(self) -> tuple[dict[int, Bucket], str, bytes | None, bytes]:
        # Written as the arrays' bytes they always were.
        dues = array("d", self.dues).tobytes() if self.dues is not None else None
        return self.buckets, sys.byteorder, dues, array("q", self.seqs).tobytes()

    def __setstate__(self, state: tuple[dict[int, Bucket], str, bytes | None, bytes]) -> None:
        self.buckets, order, dues, seqs = state
        self.present = _bits(self.buckets)
        self.dues = None
        if dues is not None:
            self.dues = from_bytes("d", dues, order).tolist()
        self.seqs = from_bytes("q", seqs, order).tolist()

    def cover(self, size: int) -> None:
        """Makes the head arrays at least ``size`` long (the new slots: no bucket)."""
        dues = self.dues
        if dues is not None and size > len(dues):
            grow = max(size, 2 * len(dues)) - len(dues)
            dues.extend([_NONE] * grow)
            self.seqs.extend([_NO_SEQ] * grow)

    def set_head(self, rid: int, bucket: Bucket | None) -> None:
        dues = self.dues
        if dues is None:
            return
        if rid >= len(dues):
            self.cover(rid + 1)
        if bucket is None:
            dues[rid] = _NONE
        else:  # ``bucket.head_key()``, inlined: on most adds and removes of a head
            dues[rid] = bucket._dues[0][0]
            self.seqs[rid] = bucket._seqs[0][0]


class WaitingQueue:
    """Buckets of waiting contacts, by scope, channel and requirement id."""

    __slots__ = ("_cooling", "_region", "_shelves", "_size", "tally")

    def __init__(self) -> None:
        self._shelves: dict[ScopeKey, dict[Channel, Shelf]] = {}
        # The region's shelves while no other scope has any (``best_for``'s shortcut,
        # without hashing a scope key per drain); None otherwise. Derived: not pickled.
        self._region: dict[Channel, Shelf] | None = None
        self._size = 0
        # How many queued contacts have ever been in someone's cool-down: while none
        # are, agents need not look past bucket heads at contacts at all.
        self._cooling = 0
        self.tally = WaitingTally()

    def __len__(self) -> int:
        return self._size

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        return None, {name: getattr(self, name) for name in self.__slots__ if name != "_region"}

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        self._set_state(state[1])
        self._region = self._only_region()

    def _only_region(self) -> dict[Channel, Shelf] | None:
        shelves = self._shelves
        return shelves.get(REGION) if len(shelves) == 1 else None

    def _set_state(self, slots: dict[str, Any]) -> None:
        if "_buckets" not in slots:
            for name, value in slots.items():
                setattr(self, name, value)
            return
        # A snapshot of a version without shelves: the same buckets, regrouped, and each
        # contact pointed at its bucket (it held a (due_at, seq, contact) tuple).
        self._size = slots["_size"]
        self._cooling = slots["_cooling"]
        self.tally = slots["tally"]
        self._shelves = {}
        for scope, by_channel in slots["_buckets"].items():
            for channel, by_req in by_channel.items():
                shelf = Shelf(dense=scope[0] != "agent")
                self._shelves.setdefault(scope, {})[channel] = shelf
                for rid, bucket in by_req.items():
                    if not bucket:
                        continue
                    shelf.buckets[rid] = bucket
                    shelf.present |= 1 << rid
                    shelf.set_head(rid, bucket)
                    for contact in bucket:
                        contact.entry = bucket

    def add(self, contact: ContactRecord) -> None:
        scope = contact.scope
        # The region's shelves without hashing its key (most contacts wait there; a
        # record's scope is the REGION object itself unless it came from a snapshot).
        by_channel = self._region if scope is REGION else None
        if by_channel is None:
            by_channel = self._shelves.get(scope)
            if by_channel is None:
                by_channel = self._shelves[scope] = {}
                self._region = self._only_region()
        shelf = by_channel.get(contact.channel)
        if shelf is None:
            shelf = by_channel[contact.channel] = Shelf(dense=scope[0] != "agent")
        rid = contact.rid
        bucket = shelf.buckets.get(rid)
        if bucket is None:
            bucket = shelf.buckets[rid] = Bucket()
            shelf.present |= 1 << rid
        if bucket.add(contact.target_at, contact.seq, contact):
            dues = shelf.dues
            if dues is not None and rid < len(dues):
                # ``set_head``, inlined: the new head is this contact.
                dues[rid] = contact.target_at
                shelf.seqs[rid] = contact.seq
            else:
                shelf.set_head(rid, bucket)
        contact.entry = bucket
        self._size += 1
        if contact.cooldowns is not None:
            self._cooling += 1
        self.tally.entered(contact)

    def remove(self, contact: ContactRecord) -> None:
        """Takes ``contact`` out of the queue. Its key (``target_at``) and arrival number are
        how its bucket finds it, so they must not change while it is queued (remove,
        change, add)."""
        bucket = contact.entry
        if bucket is None:
            return
        if bucket.remove(contact.target_at, contact.seq, contact):
            by_channel = self._region if contact.scope is REGION else None  # as ``add``
            if by_channel is None:
                by_channel = self._shelves[contact.scope]
            shelf = by_channel[contact.channel]
            rid = contact.rid
            dues = shelf.dues
            if bucket._len:
                if dues is not None and rid < len(dues):
                    # ``set_head``, inlined (most contacts leave from a head).
                    dues[rid] = bucket._dues[0][0]
                    shelf.seqs[rid] = bucket._seqs[0][0]
                else:
                    shelf.set_head(rid, bucket)
            else:
                del shelf.buckets[rid]
                shelf.present ^= 1 << rid
                shelf.set_head(rid, None)
        contact.entry = None
        self._size -= 1
        if contact.cooldowns is not None:
            self._cooling -= 1
        self.tally.left(contact)

    def best_for(
        self,
        scopes: tuple[ScopeKey, ...],
        channels: tuple[Channel, ...],
        reqs: tuple[int, ...],
        agent_id: str,
        now: float,
        pick: Callable[[list[float]], Sequence[float]] | None = None,
        bits: int | None = None,
    ) -> tuple[ContactRecord | None, int]:
        """The earliest-due contact an agent may take, and how many bucket heads were
        weighed. ``reqs`` holds the requirement ids the agent's mask satisfies, each
        once; ``pick``, when given, reads a head array at ``reqs`` (``AgentPool.picker``);
        ``bits``, when given, is ``reqs`` as bits (``AgentPool.reader``)."""
        if not reqs:
            return None, 0
        best: ContactRecord | None = None
        best_due = _INF
        best_seq = _NO_SEQ
        weighed = 0
        cooling = self._cooling
        region = self._region
        by_channels: Iterable[dict[Channel, Shelf] | None]
        if region is not None and scopes and (scopes[-1] is REGION or scopes[-1] == REGION):
            # Nothing ever waited for one agent, team or site (most regions, most of
            # the time): an agent's narrower scopes (before its last, the region) have
            # no shelf to look up.
            by_channels = (region,)
        else:
            by_channels = map(self._shelves.get, scopes)
        for by_channel in by_channels:
            if not by_channel:
                continue
            for channel in channels:
                shelf = by_channel.get(channel)
                if shelf is None or not shelf.buckets:
                    continue
                dues = shelf.dues
                if bits is not None:
                    # The agent's ids that have a bucket here: none, and reading the
                    # keys would find only NaN (most drains with a short queue).
                    mine = shelf.present & bits
                    if not mine:
                        continue
                elif (
                    dues is not None
                    and 2 * len(shelf.buckets) < len(dues)
                    and shelf.buckets.keys().isdisjoint(reqs)
                ):
                    continue  # as above, tested id by id
                if dues is not None:
                    # The smallest head key of the agent's buckets here, read from the
                    # flat arrays in C (a picker, min); only the winner's bucket is touched.
                    try:
                        keys = pick(dues) if pick is not None else list(map(dues.__getitem__, reqs))
                    except IndexError:  # an id interned since the arrays last grew (rare)
                        shelf.cover(max(reqs) + 1)
                        keys = pick(dues) if pick is not None else list(map(dues.__getitem__, reqs))
                    seqs = shelf.seqs
                    # A NaN (no bucket) fails every comparison: min() keeps one that comes
                    # first, never takes one later. So when the first key is NaN (most
                    # calls with few buckets), one min() from +inf, not min() twice.
                    low_due = min(keys) if keys[0] <= _INF else min(_INF, *keys)
                    if low_due == _INF:
                        if _INF not in keys:  # none of the agent's buckets is here
                            continue
                        # Only heads due at +inf: the exact, slower way.
                        won, low_due, low_seq, heads = _lowest(dues, seqs, reqs)
                    else:
                        i = keys.index(low_due)
                        won = reqs[i]
                        low_seq = seqs[won]
                        # A tie on due time (by arrival) can only be with a later key: a
                        # scan of those, where ``count`` compared every key again.
                        if low_due in keys[i + 1 :]:
                            for rid, due in zip(reqs, keys, strict=True):
                                if due == low_due and seqs[rid] < low_seq:
                                    won, low_seq = rid, seqs[rid]
                        # How many of the keys are heads (not NaN): one bit count, where
                        # a test per key cost ~50 instructions each (tens per drain).
                        heads = (
                            mine.bit_count()
                            if bits is not None
                            else len(keys) - sum(map(isnan, keys))
                        )
                    if won < 0:
                        continue
                    # ``Bucket.head`` without the property call: ``won`` has a head key,
                    # so its bucket is not empty.
                    head = shelf.buckets[won]._recs[0][0]
                    # The smallest head is the answer unless this agent declined it; then
                    # (rarely) walk the buckets for the first contact it may take.
                    if not cooling or head is None or not head.cooled_for(agent_id, now):
                        weighed += heads
                        if low_due < best_due or (low_due == best_due and low_seq < best_seq):
                            best, best_due, best_seq = head, low_due, low_seq
                        continue
                eligible = _buckets_of(shelf.buckets, reqs)
                weighed += len(eligible)
                for bucket in eligible:
                    found = _head(bucket, agent_id, now) if cooling else bucket.head
                    if found is None:
                        continue
                    due, seq = found.target_at, found.seq
                    if due < best_due or (due == best_due and seq < best_seq):
                        best, best_due, best_seq = found, due, seq
        return best, weighed

    def rank(self, contact: ContactRecord) -> int:
        """How many contacts wait ahead of ``contact`` in its own bucket."""
        bucket = contact.entry
        if bucket is None:
            return 0
        return bucket.rank(contact.target_at, contact.seq)

    def signatures(self, scope: ScopeKey) -> list[tuple[Channel, int]]:
        """The (channel, requirement id) of every non-empty bucket in ``scope``."""
        by_channel = self._shelves.get(scope, {})
        return [(channel, rid) for channel, shelf in by_channel.items() for rid in shelf.buckets]

    def contacts_in(self, scope: ScopeKey, channel: Channel, rid: int) -> list[ContactRecord]:
        shelf = self._shelves.get(scope, {}).get(channel)
        bucket = shelf.buckets.get(rid) if shelf is not None else None
        return list(bucket) if bucket is not None else []

    def in_order(self) -> list[ContactRecord]:
        """Every waiting contact in the one priority order (O(n log n); for views)."""
        found = [
            c
            for by_ch in self._shelves.values()
            for shelf in by_ch.values()
            for bucket in shelf.buckets.values()
            for c in bucket
        ]
        found.sort(key=lambda c: (c.target_at, c.seq))
        return found


def _bits(ids: Iterable[int]) -> int:
    """``ids`` as a bit set (bit ``i`` for id ``i``)."""
    found = 0
    for i in ids:
        found |= 1 << i
    return found


def _buckets_of(buckets: dict[int, Bucket], reqs: tuple[int, ...]) -> list[Bucket]:
    """The buckets at ``reqs``: a function of its own, so that the comprehension's names
    are not closure cells allocated on every ``best_for`` call."""
    return [b for rid in reqs if (b := buckets.get(rid)) is not None]


def _lowest(
    dues: list[float], seqs: list[int], reqs: tuple[int, ...]
) -> tuple[int, float, int, int]:
    """The requirement id with the smallest head key among ``reqs`` (-1 if none has a
    bucket), that key, and how many of ``reqs`` have a bucket, comparing one by one."""
    won, low_due, low_seq, heads = -1, _INF, _NO_SEQ, 0
    for rid in reqs:
        due = dues[rid]
        if due < low_due:
            won, low_due, low_seq = rid, due, seqs[rid]
            heads += 1
        elif due >= low_due:  # NaN, no bucket, fails both tests
            heads += 1
            if due == low_due and seqs[rid] < low_seq:
                won, low_seq = rid, seqs[rid]
    return won, low_due, low_seq, heads


def _head(bucket: Bucket, agent_id: str, now: float) -> ContactRecord | None:
    """The bucket's first contact not in ``agent_id``'s cool-down."""
    head = bucket.head
    if head is None or not head.cooled_for(agent_id, now):
        return head
    for c in bucket:
        if not c.cooled_for(agent_id, now):
            return c
    return None
