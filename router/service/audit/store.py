"""Where the audit's records live and how they are read: open contacts and those closed
since the last seal as ``AuditRecord`` objects (``live``), older closed ones sealed
``seal_every`` at a time into compressed segments, both indexed by the local day of
arrival (``by_day``: a day's records in O(that day)). New records first prune what is past
the retention and, over the size bound, the oldest closed records (an open contact's
record is never dropped). The whole of it is the ``audit`` snapshot part.

Sealing matters for memory and snapshots: a month of contacts takes tens of megabytes,
and a snapshot copies the segments' bytes rather than pickling a month of objects every
30 s. What the log says goes into these records is ``router.service.audit.recorder``.
"""

from __future__ import annotations

import logging
import pickle
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

from router.service.audit.days import DAY_S, Days
from router.service.audit.record import (
    FEEDBACK_COLUMNS,
    FIELDS,
    ID_AT,
    AuditRecord,
    as_row,
    as_rows,
    from_row,
)
from router.service.audit.settings import MAX_CONTACTS_ENV, AuditSettings
from router.store.codec import PROTOCOL, decode

log = logging.getLogger("yhteys.audit")

PART = "audit"  # the snapshot part
_ID, _DAY, _FIRST_AT = attrgetter("id"), attrgetter("day"), attrgetter("first_at")
DECODED_CACHE = 8  # decoded segments kept for reading


@dataclass(slots=True)
class Segment:
    """Closed records sealed together: their rows pickled and compressed once, so a
    month of them costs little memory and a snapshot copies bytes instead of objects.
    A row is current while ``AuditStore.sealed`` maps its contact to this segment (a contact
    that opens again under its id goes back to the live records)."""

    number: int
    newest: float  # the latest first_at among its records: past the retention, it goes
    ids: tuple[str, ...]
    days: tuple[str, ...]
    blob: bytes

    def rows(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = decode(zlib.decompress(self.blob))
        return rows


class AuditStore:
    """The records of one service's audit (``Audit`` adds what fills them in).

    Records live in ``live`` (open contacts and those closed since the last seal) and,
    once closed, in sealed segments of ``seal_every`` records. ``by_day`` indexes both
    by the local day of arrival, so a day's records are found in O(that day)."""

    def __init__(self, settings: AuditSettings, days: Days) -> None:
        self.settings = settings
        self.retention_s = self.settings.retention_days * DAY_S
        self.days = days
        self.live: OrderedDict[str, AuditRecord] = OrderedDict()
        self.segments: OrderedDict[int, Segment] = OrderedDict()
        self.sealed: dict[str, int] = {}  # contact -> the segment holding its record
        self.superseded: set[tuple[str, int]] = set()  # sealed rows of reopened contacts
        self.closed: list[str] = []  # closed since the last seal, in order
        self.by_day: dict[str, dict[str, None]] = {}
        # Removals asked for and not yet applied: contact -> [(by, reason), ...]
        self.pending: dict[str, list[tuple[str, str]]] = {}
        self.evicted = 0  # dropped for the size bound before their retention ended
        self.now = float("-inf")
        self._next_segment = 1
        self._warned_at = float("-inf")
        self._over_warned_at = float("-inf")
        self._decoded: OrderedDict[int, dict[str, AuditRecord]] = OrderedDict()
        # A contact's FEEDBACK_COLUMNS, from the feedback survey when there is one.
        self.feedback_of: Callable[[str], Mapping[str, Any]] = lambda _: {}

    # ------------------------------------------------------------ snapshot part

    def capture(self) -> dict[str, Any]:
        return {
            "version": 1,
            "live": [as_row(r) for r in self.live.values()],
            "segments": [
                (g.number, g.newest, g.ids, g.days, g.blob) for g in self.segments.values()
            ],
            "superseded": sorted(self.superseded),
            "closed": list(self.closed),
            "pending": {cid: list(asked) for cid, asked in self.pending.items()},
            "evicted": self.evicted,
            "now": self.now,
            "next_segment": self._next_segment,
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.live = OrderedDict()
        self.segments = OrderedDict()
        self.sealed = {}
        self.superseded = {(cid, n) for cid, n in data["superseded"]}
        self.by_day = {}
        self._decoded = OrderedDict()
        for number, newest, ids, days, blob in data["segments"]:
            self.segments[number] = Segment(number, newest, tuple(ids), tuple(days), blob)
            for cid, day in zip(ids, days, strict=True):
                if (cid, number) not in self.superseded:
                    self.sealed[cid] = number
                    self.by_day.setdefault(day, {})[cid] = None
        for row in data["live"]:
            record = from_row(row)
            self.live[record.id] = record
            self.by_day.setdefault(record.day, {})[record.id] = None
        self.closed = list(data["closed"])
        self.pending = {cid: [tuple(p) for p in asked] for cid, asked in data["pending"].items()}
        self.evicted = data["evicted"]
        self.now = data["now"]
        self._next_segment = data["next_segment"]

    @property
    def count(self) -> int:
        """Contacts with a record kept."""
        return len(self.live) + len(self.sealed)

    # ------------------------------------------------------------ keeping

    def _for_update(self, contact_id: str) -> AuditRecord | None:
        """The live record of a contact; a sealed one goes back to the live records (the
        same id opened again), None when there is none."""
        record = self.live.get(contact_id)
        if record is not None:
            return record
        number = self.sealed.pop(contact_id, None)
        if number is None:
            return None
        record = self._sealed_records(number)[contact_id]
        record.trail = list(record.trail)  # a copy: the decoded cache keeps its own
        self.superseded.add((contact_id, number))
        self._decoded.pop(number, None)
        self.live[contact_id] = record
        return record

    def _insert(self, record: AuditRecord, now: float) -> None:
        """Adds a new record, first dropping what is past the retention and, over the
        size bound, the oldest records (sealed segments first)."""
        cutoff = now - self.retention_s
        segments, live = self.segments, self.live
        while segments and next(iter(segments.values())).newest < cutoff:
            self._drop_segment(next(iter(segments.values())), early=False)
        while live:  # an open contact keeps its record until it closes
            oldest = next(iter(live.values()))
            if oldest.first_at >= cutoff or oldest.closed_at is None:  # ``open``, inline
                break
            self._drop_live(oldest)
        limit = self.settings.max_contacts
        while len(live) + len(self.sealed) >= limit:  # ``count``, one call less
            # The bound applies to closed records only: an open contact's record is what
            # a supervisor needs while it waits, so it is never dropped for the bound.
            victim = None if segments else self._oldest_closed_live()
            if not segments and victim is None:
                if now - self._over_warned_at >= DAY_S:
                    self._over_warned_at = now
                    log.warning(
                        "audit bound of %d contacts cannot be met: %d open contacts keep "
                        "their records until they close (raise %s)",
                        limit,
                        self.open_count(),
                        MAX_CONTACTS_ENV,
                    )
                break
            if now - self._warned_at >= DAY_S:
                self._warned_at = now
                log.warning(
                    "audit over %d contacts: dropping the oldest closed ones before their "
                    "%d-day retention ends (export daily, or raise %s)",
                    limit,
                    self.settings.retention_days,
                    MAX_CONTACTS_ENV,
                )
            if segments:
                self._drop_segment(next(iter(segments.values())), early=True)
            elif victim is not None:
                self._drop_live(victim)
                self.evicted += 1
        live[record.id] = record
        day = self.by_day.get(record.day)  # no empty dict made for ``setdefault`` each time
        if day is None:
            day = self.by_day[record.day] = {}
        day[record.id] = None

    def _oldest_closed_live(self) -> AuditRecord | None:
        """The live record that closed first since the last seal (at most ``seal_every``
        to look through), None when every live record is open."""
        for cid in self.closed:
            record = self.live.get(cid)
            if record is not None and not record.open:
                return record
        return None

    def open_count(self) -> int:
        """Records of contacts still open (all live: a closed record is sealed, not
        reopened, unless its contact id arrives again)."""
        return sum(1 for record in self.live.values() if record.open)

    def _unindex(self, contact_id: str, day: str) -> None:
        ids = self.by_day.get(day)
        if ids is not None:
            ids.pop(contact_id, None)
            if not ids:
                del self.by_day[day]

    def _drop_live(self, record: AuditRecord) -> None:
        del self.live[record.id]
        self._unindex(record.id, record.day)
        self.pending.pop(record.id, None)

    def _drop_segment(self, segment: Segment, early: bool) -> None:
        number = segment.number
        del self.segments[number]
        self._decoded.pop(number, None)
        for cid, day in zip(segment.ids, segment.days, strict=True):
            if self.sealed.get(cid) == number:
                del self.sealed[cid]
                self._unindex(cid, day)
                self.evicted += early
        if self.superseded:
            self.superseded = {key for key in self.superseded if key[1] != number}

    def _seal(self) -> None:
        """Seals the records closed since the last seal into one segment."""
        live, sealed = self.live, self.sealed
        # The records still to seal (one dropped, or opened again meanwhile, is not),
        # taken out of the live ones; their rows are then made in one pass (``as_rows``).
        records = [
            live.pop(cid)
            for cid in self.closed
            if (record := live.get(cid)) is not None and record.closed_at is not None
        ]
        self.closed = []
        if not records:
            return
        number = self._next_segment
        self._next_segment += 1
        ids = tuple(map(_ID, records))
        sealed.update(dict.fromkeys(ids, number))
        # Rows are plain values (tuples of strings, numbers, None and lists of them), for
        # which the codec's pickler writes the same bytes as ``pickle.dumps``, but through
        # a file and a copy of its contents; reading them back is the codec's (``rows``).
        blob = zlib.compress(pickle.dumps(as_rows(records), PROTOCOL), 1)
        newest = max(map(_FIRST_AT, records))
        self.segments[number] = Segment(number, newest, ids, tuple(map(_DAY, records)), blob)

    def _sealed_records(self, number: int) -> dict[str, AuditRecord]:
        """The current records of a segment, decoded (a few segments are cached)."""
        cached = self._decoded.get(number)
        if cached is not None:
            self._decoded.move_to_end(number)
            return cached
        records = {
            row[ID_AT]: from_row(row)
            for row in self.segments[number].rows()
            if (row[ID_AT], number) not in self.superseded
        }
        self._decoded[number] = records
        while len(self._decoded) > DECODED_CACHE:
            self._decoded.popitem(last=False)
        return records

    # ------------------------------------------------------------ reading

    def get(self, contact_id: str) -> AuditRecord | None:
        """A contact's record (do not change it)."""
        record = self.live.get(contact_id)
        if record is not None:
            return record
        number = self.sealed.get(contact_id)
        return None if number is None else self._sealed_records(number).get(contact_id)

    def day(self, day: date) -> list[AuditRecord]:
        """Records of contacts that arrived on local ``day``, in the order they arrived:
        O(those contacts), plus decoding the segments that hold them."""
        ids = self.by_day.get(day.isoformat())
        if not ids:
            return []
        out: list[AuditRecord] = []
        for cid in list(ids):
            record = self.live.get(cid)
            if record is None:
                number = self.sealed.get(cid)
                if number is not None:
                    record = self._sealed_records(number).get(cid)
            if record is not None:
                out.append(record)
        return out

    def days_between(self, first: date, last: date) -> Iterator[list[AuditRecord]]:
        """``day()`` for each local day from ``first`` to ``last``."""
        day = first
        while day <= last:
            yield self.day(day)
            day += timedelta(days=1)

    def retained_from(self) -> str | None:
        """The earliest local day with a record kept."""
        return min(self.by_day, default=None)

    def changes(self, record: AuditRecord) -> Iterator[dict[str, Any]]:
        for entry in record.trail:
            at, change, agent = entry[0], entry[1], entry[2]
            body: dict[str, Any] = {
                "at": at,
                "time": self.days.iso(at),
                "change": change,
                "agent_id": agent,
            }
            body.update(zip(FIELDS[change], entry[3:], strict=False))
            yield body

    def summary(self, record: AuditRecord) -> dict[str, Any]:
        return {
            "contact_id": record.id,
            "day": record.day,
            "state": "open" if record.open else "closed",
            "channel": record.channel or None,
            "channel_final": record.channel_now or None,
            "service": record.service or None,
            "service_final": record.service_now or None,
            "urgency": record.urgency or None,
            "urgency_final": record.urgency_now or None,
            "language": record.language,
            "site": record.site,
            "number": record.number,
            "arrived_at": record.arrived_at,
            "due_at": record.due_at,
            "due_at_final": record.due_now,
            "answered_at": record.answered_at,
            "answered_by": record.answered_by,
            "wait_s": None if record.wait_s is None else round(record.wait_s, 3),
            "within_target": record.within_target,
            "callback_attempts": record.attempts,
            "closed_at": record.closed_at,
            "outcome": record.outcome,
            "closed_by": record.closed_by,
            "removed_by": record.removed_by,
            "removal_reason": record.removal_reason,
            "changes_omitted": record.omitted,
            "partial": record.partial,
            **dict.fromkeys(FEEDBACK_COLUMNS),
            **self.feedback_of(record.id),
        }

    def contact_json(self, record: AuditRecord) -> dict[str, Any]:
        return {**self.summary(record), "trail": list(self.changes(record))}
