"""Timers with lazy cancellation, kept in one-second slots (a timing wheel).

Each timer carries a token and its owner checks the token when it fires, so cancelling
is free and nothing is scanned. Timers live in slots of ``SLOT_S`` seconds: pushing one is
a dictionary lookup and a list append, where a single heap of every pending timer (one or
two per open contact, 100,000s in a surge) would touch ~17 scattered entries per push. A
small heap orders the slot keys; a slot is sorted once, when it comes due, and consumed
in ``(time, sequence)`` order, so timers fire exactly as a heap would fire them.
"""

from __future__ import annotations

import bisect
import heapq
from enum import IntEnum
from math import floor as _floor
from typing import Any


class TimerKind(IntEnum):
    OFFER_EXPIRY = 0
    STEP = 1
    WARN = 2
    DEADLINE = 3
    COOLDOWN = 4
    WRAP_UP = 5
    HOLD = 6  # a scheduled contact's time has come
    LIVENESS = 7  # an agent's last sighting runs out (``AgentsSeen``)
    AWAY = 8  # a contact's person has been away for its grace period (``CustomerAway``)
    COVER = 9  # a partner agreement's cover turns on or off (``router.core.partners``)
    CUSTOMER_LIVENESS = 10  # a chat customer's last sighting runs out (``CustomersSeen``)


Timer = tuple[float, int, TimerKind, str, float]
Stored = tuple[float, int, int, str, float]  # a timer as the wheel keeps it

SLOT_S = 1.0  # one second: ``push`` takes a time's slot as ``floor(at)``
_INF = float("inf")

# Kinds are stored in the wheel as plain ints: a tuple of plain values (floats, ints,
# strings) is untracked by the garbage collector at its first pass, where one holding an
# enum member stays tracked and is traversed by every later pass that reaches its
# generation; pending timers are one or two per open contact, 100,000s in a surge.
# Callers pass the plain int (``TimerKind.X.value``, bound once at import), so ``push``
# converts nothing: a dict keyed by the member cost ~180 instructions on every push (two
# per arrival offered). ``pop_due`` gives the member back.
_KINDS = list(TimerKind)


class TimerQueue:
    __slots__ = ("_pos", "_seq", "_slots", "_sorted", "due_from", "keys")

    def __init__(self) -> None:
        self._slots: dict[int, list[Stored]] = {}
        # Slot keys in order; read directly by the engine for its "anything due?" check.
        self.keys: list[int] = []
        self._sorted: int | None = None  # the head slot, once sorted
        self._pos = 0  # how much of the sorted head slot has fired
        self._seq = 0
        # When the first slot starts (``keys[0] * SLOT_S``; +inf with none): the engine's
        # "anything due?" test before every event, one float comparison where the int
        # slot key times the float slot width took the interpreter's generic paths.
        # Derived: not pickled.
        self.due_from = _INF

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        return None, {name: getattr(self, name) for name in self.__slots__ if name != "due_from"}

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        for name, value in state[1].items():
            if name != "_count":  # kept by older versions; now counted when asked
                setattr(self, name, value)
        self.due_from = self.keys[0] * SLOT_S if self.keys else _INF

    def __len__(self) -> int:
        """Timers pending: counted when asked (by tests and tools), not kept up on every
        push and pop."""
        return sum(map(len, self._slots.values())) - self._pos

    def push(self, at: float, kind: int, ref: str, token: float) -> None:
        """A timer of ``kind`` (a ``TimerKind``'s plain int value: see ``_KINDS``) for
        ``ref`` at ``at``."""
        seq = self._seq = self._seq + 1
        timer = (at, seq, kind, ref, token)
        # ``int(at // SLOT_S)`` with one-second slots: ``floor`` is one C call, where the
        # float floor division (``fmod``) and the ``int`` class call cost ~700
        # instructions on every push.
        key = _floor(at)
        try:  # a subscript, not ``get``: the slot is nearly always there already
            slot = self._slots[key]
        except KeyError:
            slot = None
        if slot is None:
            self._slots[key] = [timer]
            heapq.heappush(self.keys, key)
            self.due_from = self.keys[0] * SLOT_S
            if self._sorted is not None and key < self._sorted:
                self._release_head()  # an earlier slot now comes first
        elif self._sorted is not None and key == self._sorted:  # no int-to-None compare
            # Keep the slot being consumed in order (after what has already fired).
            bisect.insort(slot, timer, lo=self._pos)
        else:
            slot.append(timer)

    def _release_head(self) -> None:
        """Forgets which slot is being consumed, dropping what of it already fired."""
        if self._sorted is not None and self._pos:
            del self._slots[self._sorted][: self._pos]
        self._sorted = None
        self._pos = 0

    def _head(self) -> list[Stored] | None:
        if not self.keys:
            return None
        key = self.keys[0]
        slot = self._slots[key]
        if self._sorted != key:
            self._release_head()
            slot.sort()  # cheap when already sorted (a slot that was partly consumed)
            self._sorted = key
        return slot

    def next_at(self) -> float | None:
        """When the earliest timer is due. It may turn out stale (cancelled), which only
        costs the caller an early wake-up."""
        slot = self._head()
        return slot[self._pos][0] if slot is not None else None

    def pop_due(self, now: float) -> Timer | None:
        slot = self._head()
        if slot is None or slot[self._pos][0] > now:
            return None
        at, seq, kind, ref, token = slot[self._pos]
        self._pos += 1
        if self._pos == len(slot):
            key = heapq.heappop(self.keys)
            del self._slots[key]
            self.due_from = self.keys[0] * SLOT_S if self.keys else _INF
            self._sorted = None
            self._pos = 0
        # The member again (the engine compares by identity); also for timers from a
        # snapshot that stored members.
        return at, seq, _KINDS[kind], ref, token
