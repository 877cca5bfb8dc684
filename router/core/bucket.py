"""One routing signature's waiting contacts in ``(due_at, seq)`` order.

Why not a ``SortedList`` of ``(due_at, seq, contact)`` tuples: every comparison in its
binary searches follows a pointer to a tuple and another to a float, and with 100,000
contacts waiting those are scattered across memory, so each step of a search is a cache
miss. Here the keys live in flat ``array`` objects (doubles for due times, 64-bit
integers for arrival order) beside a list of the records, so a search reads a few
contiguous cache lines and touches a record only once it is found. Like
``sortedcontainers``, the order is split into chunks of at most ``2 * LOAD`` entries, so
an insertion moves at most a few kilobytes whatever the bucket's length.

Within a chunk, positions are found by bisecting the due times and, only among equal due
times, the arrival numbers, so the order is exactly that of ``(due_at, seq)`` tuples.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from router.core.state import ContactRecord

LOAD = 512


def from_bytes(typecode: str, data: bytes, byteorder: str) -> array[Any]:
    """An array from ``tobytes()`` output written on a machine of ``byteorder``."""
    found = array(typecode)
    found.frombytes(data)
    if byteorder != sys.byteorder:
        found.byteswap()
    return found


def lower(dues: Sequence[float], seqs: Sequence[int], due: float, seq: int) -> int:
    """How many keys in the sorted parallel arrays are less than ``(due, seq)``."""
    i = bisect_left(dues, due)
    if i < len(dues) and dues[i] == due:
        return bisect_left(seqs, seq, i, bisect_right(dues, due, i))
    return i


class Bucket:
    __slots__ = ("_dues", "_len", "_maxdue", "_maxseq", "_recs", "_seqs")

    def __init__(self) -> None:
        self._dues: list[array[float]] = []
        self._seqs: list[array[int]] = []
        self._recs: list[list[ContactRecord]] = []
        # The last key of each chunk, to find the chunk a key belongs in. Lists, not
        # arrays: one entry per chunk (a few), rewritten on most arrivals (each new last
        # key), where a store into an array parses its argument (``PyArg_Parse``, ~375
        # instructions) and a read makes a float object. Derived: not pickled.
        self._maxdue: list[float] = []
        self._maxseq: list[int] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[ContactRecord]:
        for recs in self._recs:
            yield from recs

    @property
    def head(self) -> ContactRecord | None:
        return self._recs[0][0] if self._len else None

    def head_key(self) -> tuple[float, int]:
        """The first contact's ``(due_at, seq)``; the bucket must not be empty."""
        return self._dues[0][0], self._seqs[0][0]

    def add(self, due: float, seq: int, rec: ContactRecord) -> bool:
        """Inserts ``rec`` under ``(due, seq)``; True when it became the head."""
        if not self._len:
            self._dues.append(array("d", (due,)))
            self._seqs.append(array("q", (seq,)))
            self._recs.append([rec])
            self._maxdue.append(due)
            self._maxseq.append(seq)
            self._len = 1
            return True
        last = len(self._dues) - 1
        top = self._maxdue[last]
        if due > top or (due == top and seq > self._maxseq[last]):
            # After everything: what new arrivals of one urgency class always are.
            ci = last
            dues = self._dues[ci]
            seqs = self._seqs[ci]
            i = n = len(dues)
        else:
            # ``lower`` twice, inlined (most arrivals: urgency classes interleave), and
            # the chunk search skipped when there is one chunk. The key is at most the
            # last one, so its chunk is at most the last.
            if last:
                maxdue = self._maxdue
                ci = bisect_left(maxdue, due)
                if maxdue[ci] == due:
                    ci = bisect_left(self._maxseq, seq, ci, bisect_right(maxdue, due, ci))
            else:
                ci = 0
            dues = self._dues[ci]
            seqs = self._seqs[ci]
            i = bisect_left(dues, due)
            n = len(dues)
            if i < n and dues[i] == due:
                i = bisect_left(seqs, seq, i, bisect_right(dues, due, i))
        if i == n:
            dues.append(due)
            seqs.append(seq)
            self._recs[ci].append(rec)
            self._maxdue[ci] = due
            self._maxseq[ci] = seq
        else:
            dues.insert(i, due)
            seqs.insert(i, seq)
            self._recs[ci].insert(i, rec)
        self._len += 1
        if n >= 2 * LOAD:
            self._split(ci)
        return i == 0 and ci == 0

    def _split(self, ci: int) -> None:
        dues, seqs, recs = self._dues[ci], self._seqs[ci], self._recs[ci]
        half = len(dues) // 2
        self._dues.insert(ci + 1, dues[half:])
        self._seqs.insert(ci + 1, seqs[half:])
        self._recs.insert(ci + 1, recs[half:])
        del dues[half:], seqs[half:], recs[half:]
        self._maxdue.insert(ci, dues[-1])
        self._maxseq.insert(ci, seqs[-1])

    def remove(self, due: float, seq: int, rec: ContactRecord) -> bool:
        """Removes ``rec``, queued under ``(due, seq)``; True when it was the head."""
        recs = self._recs[0] if self._len else None
        if recs is not None and recs[0] is rec:  # the usual case: an agent took the head
            ci = i = 0
        else:
            ci = lower(self._maxdue, self._maxseq, due, seq)
            if ci >= len(self._dues):
                raise KeyError(rec.id)
            recs = self._recs[ci]
            i = lower(self._dues[ci], self._seqs[ci], due, seq)
            if i >= len(recs) or recs[i] is not rec:
                raise KeyError(rec.id)
        dues, seqs = self._dues[ci], self._seqs[ci]
        del dues[i], seqs[i], recs[i]
        self._len -= 1
        if not recs:
            del self._dues[ci], self._seqs[ci], self._recs[ci]
            del self._maxdue[ci], self._maxseq[ci]
        elif i == len(recs):
            self._maxdue[ci] = dues[-1]
            self._maxseq[ci] = seqs[-1]
        return ci == 0 and i == 0

    # Pickled (for Redis-mode snapshots) as plain bytes and lists: the store's unpickler
    # builds no ``array`` objects.
    def __getstate__(
        self,
    ) -> tuple[str, str, list[bytes], list[bytes], list[list[ContactRecord]]]:
        return (
            "chunks",
            sys.byteorder,
            [d.tobytes() for d in self._dues],
            [q.tobytes() for q in self._seqs],
            self._recs,
        )

    def __setstate__(self, state: Any) -> None:
        self.__init__()  # type: ignore[misc]
        if state[0] == "chunks":
            _, order, dues, seqs, recs = state
            for d, q, r in zip(dues, seqs, recs, strict=True):
                chunk_dues, chunk_seqs = from_bytes("d", d, order), from_bytes("q", q, order)
                self._dues.append(chunk_dues)
                self._seqs.append(chunk_seqs)
                self._recs.append(r)
                self._maxdue.append(chunk_dues[-1])
                self._maxseq.append(chunk_seqs[-1])
                self._len += len(r)
            return
        # A snapshot of a version that kept a SortedList of (due_at, seq, contact).
        for due, seq, rec in state[1]["items"]:
            self.add(due, seq, rec)

    def rank(self, due: float, seq: int) -> int:
        """How many contacts are ahead of the key ``(due, seq)``."""
        last = len(self._maxdue) - 1
        if last >= 0 and self._maxseq[last] == seq and self._maxdue[last] == due:
            # The last contact's own key (a contact just queued, asking its place): no
            # search, and no count of the chunks before it.
            return self._len - 1
        ci = lower(self._maxdue, self._maxseq, due, seq)
        if ci >= len(self._dues):
            return self._len
        ahead = sum(map(len, self._dues[:ci]))  # no generator frame per chunk
        return ahead + lower(self._dues[ci], self._seqs[ci], due, seq)
