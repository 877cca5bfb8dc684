"""The audit trail: every state change of every contact, with its time, queryable per
contact and exportable for a date range as CSV or JSON lines (``docs/audit.md``).

What is recorded comes from the dispatch loop, never from handlers: each engine event
the engine accepted (``runtime.applied_listeners``: arrivals, cancellations, merges) and
each decision (``runtime.listeners``: queued, offered, accepted, requeued, withdrawn,
widened, overflowed, moved, callback registration, scheduled, callback attempts,
warnings, missed deadlines, redirects, closed with the outcome). So in Redis mode every
instance records the same trail from the same log, and the trail is a snapshot part.

A contact a closed service turned away at the door (``channels/refusals.py``) is a
``Refusal`` note: recorded as ``refused-<the id it would have had>``, closed at once
with the outcome ``refused`` (no contact was made), and counted in ``/metrics``; a
retried request with the same id is one refusal.

A supervisor's removal of a waiting contact is two log entries: the ``Removal`` note
(who and why) and then the engine's ``ContactCancelled`` with the same reason; the
cancellation that follows the note is recorded as ``removed`` with the supervisor's
name. A refused cancellation leaves nothing behind (the note is forgotten when the
contact closes).

Memory: one record per contact, kept ``retention_days`` (default 31) after it arrived
(an open contact's until it closes) and at most ``max_contacts`` (default 100,000; the
oldest closed records go first, with a warning in the log when that is before their
retention ends). The bound never drops an open contact's record: when open contacts
alone exceed it, the log says so once a day and ``/metrics`` shows it
(``yhteys_audit_records{state}``, ``yhteys_audit_dropped_early_total``).
Both are read from ``YHTEYS_AUDIT_RETENTION_DAYS`` and ``YHTEYS_AUDIT_MAX_CONTACTS``;
every instance of a region must use the same values. Records are pruned as new contacts
arrive. Closed records are sealed ``seal_every`` (500) at a time into a compressed
segment: a month of contacts takes tens of megabytes, and a snapshot copies the
segments' bytes rather than pickling a month of objects every 30 s. This is a working
memory, not an archive: the archive is the daily export.

Personal data: the audit never holds a full phone number, a personal identity code or
any free text a person wrote. The caller's or callback number is kept masked as in the
JSON logs (``+35840*****67``), a supervisor's reason is masked the same way, and message
texts, topics and person references are not recorded at all. Agent ids and supervisor
token names are kept in full: they are what the audit is for.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import math
import os
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric

from router.config.tokens import Role
from router.core import decisions as d
from router.core.errors import UnknownAgent, UnknownContact
from router.core.events import (
    AgentUpdated,
    ContactAbandoned,
    ContactArrived,
    ContactCancelled,
    ContactMerged,
    Event,
)
from router.core.model import Channel
from router.service.auth import Principal
from router.service.http import ApiError, BodyProblems
from router.service.logs import mask
from router.service.metrics import Metrics
from router.service.routes import DAY, Query, Route, choice
from router.service.runtime import Note
from router.store.codec import allow, decode, encode

if TYPE_CHECKING:
    from router.service.service import Service

log = logging.getLogger("yhteys.audit")

PART = "audit"
RETENTION_ENV = "YHTEYS_AUDIT_RETENTION_DAYS"
MAX_CONTACTS_ENV = "YHTEYS_AUDIT_MAX_CONTACTS"
DEFAULT_RETENTION_DAYS = 31
DEFAULT_MAX_CONTACTS = 100_000
MAX_EXPORT_DAYS = 31
# A contact whose offers keep timing out could otherwise grow without end: past this
# many changes only the ones that matter for its outcome are kept (and counted).
MAX_TRAIL = 200
SEAL_EVERY = 500  # closed records per sealed segment
DECODED_CACHE = 8  # decoded segments kept for reading
KEPT_PAST_MAX = frozenset(
    {"accepted", "callback_attempt", "cancelled", "removed", "merged", "redirected", "closed"}
)
CHUNK = 200  # contacts per written chunk of an export
DAY_S = 86_400.0

# Every outcome a closed contact can have (the engine's and the agents').
OUTCOMES: tuple[str, ...] = (
    "resolved",
    "merged",
    "unreachable",
    "transferred",
    "redirected",
    "cancelled",
    "abandoned",
    "refused",  # turned away after hours: no contact was made
)
REFUSED_PREFIX = "refused-"

# Each change in a trail is a tuple ``(at, change, agent_id, *values)``; the values are
# named here, per change. Plain tuples keep a month of trails small in memory and in
# snapshots.
FIELDS: dict[str, tuple[str, ...]] = {
    "arrived": (
        "channel",
        "service",
        "urgency",
        "language",
        "site",
        "arrived_at",
        "due_at",
        "number",
    ),
    "queued": ("service", "step", "due_at"),
    "scheduled": ("until",),
    "offered": ("channel", "step", "rule", "expires_at", "by"),
    "accepted": ("service", "agent_site", "wait_s", "due_at", "within_target"),
    "requeued": ("reason", "cooldown_until"),
    "withdrawn": ("reason",),
    "widened": ("step", "skipped"),
    # ``urgency``: the class it took in the new service, when that differs (older trails
    # have no such value)
    "overflowed": ("from", "to", "urgency"),
    "moved": ("from", "to", "by", "urgency"),
    "callback_registered": ("from", "to", "number"),
    "channel_switched": ("from", "to", "number"),
    "callback_attempt": ("attempt", "result", "retry_at"),
    "reclassified": ("from", "to", "due_at"),
    # the caller hung up after choosing a callback: expected, the callback goes on
    "caller_hung_up": (),
    "warning": ("service", "due_at"),
    "deadline_missed": ("service", "due_at"),
    "redirected": ("urgency", "target"),
    "cancelled": ("reason",),
    "removed": ("by", "reason"),
    "merged": ("into",),
    "closed": ("outcome", "service", "channel"),
    # turned away after hours (no contact made): when the service opens (null: never)
    "refused": ("opens_at",),
}
CHANGES: tuple[str, ...] = tuple(FIELDS)
TIME_FIELDS = frozenset(
    {
        "at",
        "arrived_at",
        "due_at",
        "expires_at",
        "cooldown_until",
        "until",
        "retry_at",
        "opens_at",
    }
)


def _columns() -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for names in FIELDS.values():
        for name in names:
            seen.setdefault(name, None)
    return tuple(seen)


# The survey after the contact (``router/service/feedback.py`` fills them in through
# ``Audit.feedback_of``): the request, the score and the answer's text (masked).
FEEDBACK_COLUMNS: tuple[str, ...] = (
    "feedback_requested_at",
    "feedback_score",
    "feedback_answered_at",
    "feedback_text",
)
CHANGE_COLUMNS: tuple[str, ...] = ("contact_id", "at", "time", "change", "agent_id", *_columns())
CONTACT_COLUMNS: tuple[str, ...] = (
    "contact_id",
    "day",
    "state",
    "channel",
    "channel_final",
    "service",
    "service_final",
    "urgency",
    "urgency_final",
    "language",
    "site",
    "number",
    "arrived_at",
    "due_at",
    "due_at_final",
    "answered_at",
    "answered_by",
    "wait_s",
    "within_target",
    "callback_attempts",
    "closed_at",
    "outcome",
    "closed_by",
    "removed_by",
    "removal_reason",
    "changes_omitted",
    "partial",
    *FEEDBACK_COLUMNS,
)
CONTACT_TIME_COLUMNS = frozenset(
    {
        "arrived_at",
        "due_at",
        "due_at_final",
        "answered_at",
        "closed_at",
        "feedback_requested_at",
        "feedback_answered_at",
    }
)


@allow
@dataclass(frozen=True, slots=True)
class Removal(Note):
    """A supervisor removes a waiting contact: who and why, ahead of the engine's
    ``ContactCancelled`` with the same ``reason`` (already masked)."""

    contact_id: str
    by: str
    reason: str


@allow
@dataclass(frozen=True, slots=True)
class Refusal(Note):
    """A closed service turned a contact away at the door (``channels/refusals.py``):
    what the audit keeps of an arrival, the number already masked, and when the
    service opens (None: no opening hours ahead)."""

    contact_id: str  # the id the contact would have had
    channel: str
    service: str
    urgency: str
    language: str | None
    site: str | None
    number: str | None
    opens_at: float | None


@dataclass(frozen=True, slots=True)
class AuditSettings:
    retention_days: int = DEFAULT_RETENTION_DAYS
    max_contacts: int = DEFAULT_MAX_CONTACTS
    seal_every: int = SEAL_EVERY

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuditSettings:
        env = os.environ if environ is None else environ
        return cls(
            _env_int(env, RETENTION_ENV, DEFAULT_RETENTION_DAYS),
            _env_int(env, MAX_CONTACTS_ENV, DEFAULT_MAX_CONTACTS),
        )


def _env_int(env: Mapping[str, str], key: str, default: int) -> int:
    text = env.get(key, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{key} must be a whole number >= 1, got {text!r}")
    return value


def region_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("time zone %r unknown here; counting days in UTC", name)
        return ZoneInfo("UTC")


class Days:
    """Local calendar days of epoch times, with the current day's bounds cached."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._start = self._end = 0.0
        self._iso = ""

    def of(self, t: float) -> str:
        if self._start <= t < self._end:
            return self._iso
        day = datetime.fromtimestamp(t, self.zone).date()
        start = datetime.combine(day, time.min, self.zone).timestamp()
        end = datetime.combine(day + timedelta(days=1), time.min, self.zone).timestamp()
        if start <= t < end:  # always, barring a zone database without this day
            self._start, self._end, self._iso = start, end, day.isoformat()
        return day.isoformat()

    def iso(self, t: float | None) -> str | None:
        """ISO 8601 local time with offset and milliseconds."""
        if t is None:
            return None
        return datetime.fromtimestamp(t, self.zone).isoformat(timespec="milliseconds")


class AuditRecord:
    """Everything the audit knows about one contact. ``channel``, ``service``,
    ``urgency`` and ``due_at`` are as it arrived, the ``*_now`` ones as they are now (or
    were when it closed)."""

    __slots__ = (
        "answered_at",
        "answered_by",
        "answered_due",
        "arrived_at",
        "assigned_at",
        "assigned_due",
        "attempts",
        "channel",
        "channel_now",
        "closed_at",
        "closed_by",
        "day",
        "door_due",
        "due_at",
        "due_now",
        "first_at",
        "id",
        "language",
        "number",
        "omitted",
        "outcome",
        "partial",
        "removal_reason",
        "removed_by",
        "service",
        "service_now",
        "site",
        "trail",
        "urgency",
        "urgency_now",
        "was_callback",
    )

    def __init__(self, contact_id: str, first_at: float) -> None:
        self.id = contact_id
        self.first_at = first_at  # when the audit first saw it (orders retention)
        self.arrived_at = first_at  # the contact's place: an earlier arrival it kept
        self.day = ""  # local day of arrived_at
        self.channel = self.channel_now = ""
        self.service = self.service_now = ""
        self.urgency = self.urgency_now = ""
        self.language: str | None = None
        self.site: str | None = None
        self.number: str | None = None  # masked
        self.due_at: float | None = None
        self.due_now: float | None = None
        self.door_due: float | None = None  # a due time set at the door (same-day rule)
        self.assigned_at: float | None = None  # the latest acceptance
        self.assigned_due: float | None = None
        self.answered_at: float | None = None  # the person got through (see reports)
        self.answered_by: str | None = None
        self.answered_due: float | None = None
        self.attempts = 0
        self.was_callback = False
        self.closed_at: float | None = None
        self.outcome: str | None = None
        self.closed_by: str | None = None
        self.removed_by: str | None = None
        self.removal_reason: str | None = None
        self.partial = False  # the audit did not see it arrive
        self.omitted = 0
        self.trail: list[tuple[Any, ...]] = []

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def wait_s(self) -> float | None:
        return None if self.answered_at is None else max(0.0, self.answered_at - self.arrived_at)

    @property
    def within_target(self) -> bool | None:
        if self.answered_at is None or self.answered_due is None:
            return None
        return self.answered_at <= self.answered_due


_ROW = attrgetter(*AuditRecord.__slots__)
_ID = AuditRecord.__slots__.index("id")


def _row(record: AuditRecord) -> tuple[Any, ...]:
    row: tuple[Any, ...] = _ROW(record)
    return row


def _from_row(row: Iterable[Any]) -> AuditRecord:
    record = AuditRecord.__new__(AuditRecord)
    for name, value in zip(AuditRecord.__slots__, row, strict=True):
        setattr(record, name, value)
    record.trail = list(record.trail)
    return record


@dataclass(slots=True)
class Segment:
    """Closed records sealed together: their rows pickled and compressed once, so a
    month of them costs little memory and a snapshot copies bytes instead of objects.
    A row is current while ``Audit.sealed`` maps its contact to this segment (a contact
    that opens again under its id goes back to the live records)."""

    number: int
    newest: float  # the latest first_at among its records: past the retention, it goes
    ids: tuple[str, ...]
    days: tuple[str, ...]
    blob: bytes

    def rows(self) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = decode(zlib.decompress(self.blob))
        return rows


class Audit:
    """The audit of one service (its listeners, notes and part are registered by the
    composition root, ``router/instance.py``).

    Records live in ``live`` (open contacts and those closed since the last seal) and,
    once closed, in sealed segments of ``seal_every`` records. ``by_day`` indexes both
    by the local day of arrival, so a day's records are found in O(that day)."""

    def __init__(
        self, service: Service, metrics: Metrics, settings: AuditSettings | None = None
    ) -> None:
        self.metrics = metrics  # it counts the refusals it records
        self.service = service
        self.settings = settings or AuditSettings.from_env()
        self.retention_s = self.settings.retention_days * DAY_S
        self.days = Days(region_zone(service.region.timezone))
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
        self._sites: dict[str, str | None] = {}  # agent -> site, from the engine
        # A contact's FEEDBACK_COLUMNS, from the feedback survey when there is one.
        self.feedback_of: Callable[[str], Mapping[str, Any]] = lambda _: {}
        self._on: dict[type, Callable[[AuditRecord, Any, float], None]] = {
            d.Queued: self._queued,
            d.Offered: self._offered,
            d.Assigned: self._assigned,
            d.Requeued: self._requeued,
            d.OfferWithdrawn: self._withdrawn,
            d.Widened: self._widened,
            d.Overflowed: self._overflowed,
            d.Moved: self._moved,
            d.Switched: self._switched,
            d.Scheduled: self._scheduled,
            d.CallbackAttempt: self._attempt,
            d.Reclassified: self._reclassified,
            d.EscalationWarning: self._warning,
            d.DeadlineMissed: self._missed,
            d.Redirected: self._redirected,
            d.Closed: self._closed,
        }

    # ------------------------------------------------------------ snapshot part

    def capture(self) -> dict[str, Any]:
        return {
            "version": 1,
            "live": [_row(r) for r in self.live.values()],
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
        self._sites = {}
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
            record = _from_row(row)
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

    # ------------------------------------------------------------ from the log

    def _tick(self, now: float) -> float:
        # Engine time never runs backwards; neither does the audit's.
        self.now = max(self.now, now)
        return self.now

    def on_applied(self, event: Event, now: float) -> None:
        if isinstance(event, ContactArrived):
            self._arrived(event, self._tick(now))
        elif isinstance(event, ContactCancelled):
            now = self._tick(now)
            record = self._record(event.contact_id, now)
            asked = self.pending.pop(event.contact_id, ())
            removal = next((p for p in asked if p[1] == event.reason), None)
            if removal is not None:
                record.removed_by, record.removal_reason = removal
                self._add(record, (now, "removed", None, *removal))
            else:
                self._add(record, (now, "cancelled", None, mask(event.reason)))
        elif isinstance(event, ContactMerged):
            now = self._tick(now)
            self._add(self._record(event.contact_id, now), (now, "merged", None, event.into))
        elif isinstance(event, AgentUpdated):
            self._sites.pop(event.agent.id, None)
        elif isinstance(event, ContactAbandoned):
            # Applied and still open: a callback whose caller hung up keeps its place.
            try:
                self.service.engine.contact(event.contact_id)
            except UnknownContact:
                return  # closed as abandoned: the ``Closed`` decision records that
            now = self._tick(now)
            self._add(self._record(event.contact_id, now), (now, "caller_hung_up", None))

    def on_removal(self, note: Removal, now: float) -> None:
        record = self.live.get(note.contact_id)  # an open contact's record is live
        if record is not None and record.open:
            self.pending.setdefault(note.contact_id, []).append((note.by, note.reason))

    def on_refusal(self, note: Refusal, now: float) -> None:
        rid = REFUSED_PREFIX + note.contact_id
        if self.get(rid) is not None:
            return  # a retried request: the same refusal
        now = self._tick(now)
        record = AuditRecord(rid, now)
        record.day = self.days.of(now)
        record.channel = record.channel_now = note.channel
        record.service = record.service_now = note.service
        record.urgency = record.urgency_now = note.urgency
        record.language, record.site, record.number = note.language, note.site, note.number
        record.closed_at, record.outcome = now, "refused"
        record.trail.append((now, "refused", None, note.opens_at))
        self._insert(record, now)
        self.closed.append(rid)
        if len(self.closed) >= self.settings.seal_every:
            self._seal()
        self.metrics.count_refused(note.channel, note.service)

    def on_decision(self, decision: d.Decision, now: float) -> None:
        handler = self._on.get(type(decision))
        if handler is None:  # the agent's own: presence, wrap-up
            return
        now = self.now = max(self.now, now)
        contact_id: str = decision.contact_id  # type: ignore[union-attr]
        record = self.live.get(contact_id) or self._record(contact_id, now)
        handler(record, decision, now)

    def _arrived(self, event: ContactArrived, now: float) -> None:
        spec = event.contact
        engine = self.service.engine
        due: float | None = None
        # The class it came with, not the engine's view of it: an overflow at arrival (a
        # step nobody could serve is skipped at once) has already changed that, and its
        # ``Overflowed`` decision, recorded next, says so.
        urgency = spec.urgency or self._default_urgency(spec.service)
        try:
            view = engine.contact(spec.id)
            arrived, due = view.arrived_at, view.due_at
        except UnknownContact:  # redirected: never opened
            arrived = spec.arrived_at if spec.arrived_at is not None else now
        raw = spec.attributes.get("number") or spec.attributes.get("caller")
        number = mask(raw) if raw else None
        record = self._for_update(spec.id)
        if record is None:
            record = AuditRecord(spec.id, now)
            record.arrived_at = arrived
            record.day = self.days.of(arrived)
            record.channel = spec.channel.value
            record.service = spec.service
            record.urgency = urgency
            record.language = spec.language
            record.site = spec.preferred_site
            record.due_at = due
            # Set at the door: a chosen window, or the same-day rule's deadline.
            record.door_due = spec.due_at if spec.clock_from is None else due
            self._insert(record, now)
        else:  # the same id again: the trail goes on, the contact is open again
            record.closed_at = record.outcome = record.closed_by = None
        record.number = number or record.number
        record.channel_now = spec.channel.value
        record.service_now = spec.service
        record.urgency_now = urgency
        record.due_now = due
        record.was_callback = record.was_callback or spec.channel is Channel.CALLBACK
        self._add(
            record,
            (
                now,
                "arrived",
                None,
                spec.channel.value,
                spec.service,
                urgency,
                spec.language,
                spec.preferred_site,
                arrived,
                due,
                number,
            ),
        )

    def _default_urgency(self, service: str) -> str:
        try:
            return self.service.engine.service(service).default_urgency
        except Exception:  # an unknown service never reaches here; be safe in a listener
            return ""

    def _record(self, contact_id: str, now: float) -> AuditRecord:
        """The contact's record; a partial one when the audit did not see it arrive
        (it arrived before this instance's audit existed, or its record was pruned)."""
        record = self._for_update(contact_id)
        if record is not None:
            return record
        record = AuditRecord(contact_id, now)
        record.partial = True
        try:
            view = self.service.engine.contact(contact_id)
        except UnknownContact:
            pass
        else:
            record.arrived_at = view.arrived_at
            record.channel = record.channel_now = view.channel.value
            record.service = record.service_now = view.service
            record.urgency = record.urgency_now = view.urgency
            record.language = view.spec.language
            record.site = view.spec.preferred_site
            record.due_at = record.due_now = view.due_at
            record.was_callback = view.channel is Channel.CALLBACK
        record.day = self.days.of(record.arrived_at)
        self._insert(record, now)
        return record

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
            if oldest.first_at >= cutoff or oldest.open:
                break
            self._drop_live(oldest)
        limit = self.settings.max_contacts
        while self.count >= limit:
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
        self.by_day.setdefault(record.day, {})[record.id] = None

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
        number = self._next_segment
        rows: list[tuple[Any, ...]] = []
        ids: list[str] = []
        days: list[str] = []
        newest = float("-inf")
        for cid in self.closed:
            record = self.live.get(cid)
            if record is None or record.open:  # dropped, or opened again meanwhile
                continue
            del self.live[cid]
            rows.append(_row(record))
            ids.append(cid)
            days.append(record.day)
            newest = max(newest, record.first_at)
            self.sealed[cid] = number
        self.closed = []
        if not rows:
            return
        self._next_segment += 1
        blob = zlib.compress(encode(rows), 1)
        self.segments[number] = Segment(number, newest, tuple(ids), tuple(days), blob)

    def _sealed_records(self, number: int) -> dict[str, AuditRecord]:
        """The current records of a segment, decoded (a few segments are cached)."""
        cached = self._decoded.get(number)
        if cached is not None:
            self._decoded.move_to_end(number)
            return cached
        records = {
            row[_ID]: _from_row(row)
            for row in self.segments[number].rows()
            if (row[_ID], number) not in self.superseded
        }
        self._decoded[number] = records
        while len(self._decoded) > DECODED_CACHE:
            self._decoded.popitem(last=False)
        return records

    def _add(self, record: AuditRecord, entry: tuple[Any, ...]) -> None:
        if len(record.trail) >= MAX_TRAIL and entry[1] not in KEPT_PAST_MAX:
            record.omitted += 1
            return
        record.trail.append(entry)

    # ------------------------------------------------------------ decisions

    def _queued(self, r: AuditRecord, x: d.Queued, now: float) -> None:
        r.due_now = x.due_at
        self._add(r, (now, "queued", None, x.service, x.step.value, x.due_at))

    def _offered(self, r: AuditRecord, x: d.Offered, now: float) -> None:
        t = x.trace
        step = t.step.value if t.step is not None else None
        change = (now, "offered", x.agent_id, x.channel.value, step, t.rule, x.expires_at, t.by)
        self._add(r, change)

    def _assigned(self, r: AuditRecord, x: d.Assigned, now: float) -> None:
        r.assigned_at, r.assigned_due, r.due_now = now, x.due_at, x.due_at
        if x.service:
            r.service_now = x.service
        # A call, chat or work item is answered when an agent takes it; a callback only
        # when the person is reached (``_attempt``), or completed without attempts.
        if r.answered_at is None and r.channel_now != Channel.CALLBACK.value:
            r.answered_at, r.answered_by, r.answered_due = now, x.agent_id, x.due_at
        agent_site = self._site_of(x.agent_id)
        wait = round(max(0.0, now - r.arrived_at), 3)
        self._add(
            r, (now, "accepted", x.agent_id, x.service, agent_site, wait, x.due_at, now <= x.due_at)
        )

    def _site_of(self, agent_id: str) -> str | None:
        """The agent's site now (cached until the agent is edited)."""
        if agent_id in self._sites:
            return self._sites[agent_id]
        try:
            site: str | None = self.service.engine.agent(agent_id).site
        except UnknownAgent:
            site = None
        self._sites[agent_id] = site
        return site

    def _requeued(self, r: AuditRecord, x: d.Requeued, now: float) -> None:
        self._add(r, (now, "requeued", x.agent_id, x.reason, x.cooldown_until))

    def _withdrawn(self, r: AuditRecord, x: d.OfferWithdrawn, now: float) -> None:
        self._add(r, (now, "withdrawn", x.agent_id, x.reason))

    def _widened(self, r: AuditRecord, x: d.Widened, now: float) -> None:
        skipped = ",".join(step.value for step in x.skipped) or None
        self._add(r, (now, "widened", None, x.step.value, skipped))

    def _overflowed(self, r: AuditRecord, x: d.Overflowed, now: float) -> None:
        r.service_now = x.to_service
        if x.urgency is not None:
            r.urgency_now = x.urgency
        self._add(r, (now, "overflowed", None, x.from_service, x.to_service, x.urgency))

    def _moved(self, r: AuditRecord, x: d.Moved, now: float) -> None:
        r.service_now = x.to_service
        if x.urgency is not None:
            r.urgency_now = x.urgency
        self._add(r, (now, "moved", None, x.from_service, x.to_service, x.by, x.urgency))

    def _switched(self, r: AuditRecord, x: d.Switched, now: float) -> None:
        r.channel_now = x.new.value
        number = None
        if x.new is Channel.CALLBACK:
            r.was_callback = True
            try:
                raw = self.service.engine.contact(x.contact_id).spec.attributes.get("number")
            except UnknownContact:
                raw = None
            number = mask(raw) if raw else None
        change = "callback_registered" if x.new is Channel.CALLBACK else "channel_switched"
        self._add(r, (now, change, None, x.old.value, x.new.value, number))

    def _scheduled(self, r: AuditRecord, x: d.Scheduled, now: float) -> None:
        self._add(r, (now, "scheduled", None, x.until))

    def _attempt(self, r: AuditRecord, x: d.CallbackAttempt, now: float) -> None:
        r.attempts = max(r.attempts + 1, x.attempt)
        if x.result == "reached" and r.answered_at is None:
            r.answered_at = r.assigned_at if r.assigned_at is not None else now
            r.answered_by, r.answered_due = x.agent_id, r.assigned_due
        self._add(r, (now, "callback_attempt", x.agent_id, x.attempt, x.result, x.retry_at))

    def _reclassified(self, r: AuditRecord, x: d.Reclassified, now: float) -> None:
        r.urgency_now, r.due_now = x.new, x.due_at
        self._add(r, (now, "reclassified", x.agent_id, x.old, x.new, x.due_at))

    def _warning(self, r: AuditRecord, x: d.EscalationWarning, now: float) -> None:
        self._add(r, (now, "warning", None, x.service, x.due_at))

    def _missed(self, r: AuditRecord, x: d.DeadlineMissed, now: float) -> None:
        self._add(r, (now, "deadline_missed", None, x.service, x.due_at))

    def _redirected(self, r: AuditRecord, x: d.Redirected, now: float) -> None:
        r.urgency_now = x.urgency
        self._add(r, (now, "redirected", None, x.urgency, x.target))

    def _closed(self, r: AuditRecord, x: d.Closed, now: float) -> None:
        r.closed_at, r.outcome, r.closed_by = now, x.outcome, x.agent_id
        if x.service:
            r.service_now = x.service
        if x.channel is not None:
            r.channel_now = x.channel.value
        if (
            r.answered_at is None
            and x.agent_id is not None
            and r.assigned_at is not None
            and x.outcome != "unreachable"
        ):  # a callback completed without a reported attempt
            r.answered_at, r.answered_by, r.answered_due = r.assigned_at, x.agent_id, r.assigned_due
        self.pending.pop(r.id, None)
        channel = x.channel.value if x.channel is not None else None
        self._add(r, (now, "closed", x.agent_id, x.outcome, x.service or None, channel))
        self.closed.append(r.id)
        if len(self.closed) >= self.settings.seal_every:
            self._seal()

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


# --------------------------------------------------------------------- rendering


_NUMBERISH = re.compile(r"[+\-]?[\d*][\d* ]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def csv_cell(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula; numbers (and masked
    phone numbers) stay as they are."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else round(value, 3)
    if (
        isinstance(value, str)
        and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        and not _NUMBERISH.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue()


def csv_download(rows: Iterable[Iterable[object]], filename: str) -> web.Response:
    """``rows`` as a CSV file the browser saves as ``filename``."""
    return web.Response(
        text=csv_text(rows),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def parse_day(problems: BodyProblems, query: Mapping[str, str], key: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter, or None (with a problem when it is malformed)."""
    text = query.get(key)
    if text is None:
        return None
    try:
        if not _DAY.fullmatch(text):
            raise ValueError("not YYYY-MM-DD")
        return date.fromisoformat(text)
    except ValueError:
        problems.add(key, f"expected a date as YYYY-MM-DD, got {text!r}")
        return None


def parse_choice(
    problems: BodyProblems, query: Mapping[str, str], key: str, choices: tuple[str, ...]
) -> str | None:
    text = query.get(key)
    if text is not None and text not in choices:
        problems.add(key, f"unknown {key} {text!r}; expected one of: {', '.join(choices)}")
        return None
    return text


# --------------------------------------------------------------------- the API

FORMATS = ("jsonl", "csv")
ROWS = ("changes", "contacts")


class AuditApi:
    def __init__(self, audit: Audit) -> None:
        self.audit = audit

    async def get_contact(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        contact_id = request.match_info["contact_id"]
        record = self.audit.get(contact_id)
        if record is None:
            raise ApiError(
                404,
                "not_found",
                f"no audit record of contact {contact_id!r} (unknown, or older than the "
                f"{self.audit.settings.retention_days}-day retention: see the daily exports)",
            )
        return web.json_response(self.audit.contact_json(record))

    async def export(self, request: web.Request, _: Principal | None) -> web.StreamResponse:
        query = request.query
        problems = BodyProblems()
        first = parse_day(problems, query, "from")
        last = parse_day(problems, query, "to")
        fmt = parse_choice(problems, query, "format", FORMATS) or "jsonl"
        rows = parse_choice(problems, query, "rows", ROWS)
        if "from" not in query:
            problems.add("from", "required: the first local day, as YYYY-MM-DD")
        if rows is not None and fmt != "csv":
            problems.add(
                "rows", "only for format=csv; JSON lines carry each contact with its trail"
            )
        if first is not None and last is not None:
            if last < first:
                problems.add("to", f"{last} is before from={first}")
            elif (last - first).days + 1 > MAX_EXPORT_DAYS:
                problems.add(
                    "to",
                    f"at most {MAX_EXPORT_DAYS} days per export; ask for the range in parts",
                )
        problems.raise_if_any()
        assert first is not None
        last = last or first
        name = f"yhteys-audit-{first.isoformat()}_{last.isoformat()}"
        per_contact = fmt == "jsonl" or rows == "contacts"
        response = web.StreamResponse(
            headers={
                "Content-Type": (
                    "text/csv; charset=utf-8"
                    if fmt == "csv"
                    else "application/x-ndjson; charset=utf-8"
                ),
                "Content-Disposition": f'attachment; filename="{name}.{fmt}"',
                "X-Audit-Retained-From": self.audit.retained_from() or "",
            }
        )
        await response.prepare(request)
        if fmt == "csv":
            header = CONTACT_COLUMNS if per_contact else CHANGE_COLUMNS
            await response.write(csv_text([header]).encode())
        # Day by day and in chunks, yielding in between: a month's export neither holds
        # the dispatch loop nor the whole month in memory.
        for records in self.audit.days_between(first, last):
            for start in range(0, len(records), CHUNK):
                chunk = records[start : start + CHUNK]
                if fmt == "jsonl":
                    text = "".join(
                        json.dumps(self.audit.contact_json(r), ensure_ascii=False) + "\n"
                        for r in chunk
                    )
                elif per_contact:
                    text = csv_text(self._contact_row(r) for r in chunk)
                else:
                    text = csv_text(row for r in chunk for row in self._change_rows(r))
                await response.write(text.encode())
                await asyncio.sleep(0)
        await response.write_eof()
        return response

    def _contact_row(self, record: AuditRecord) -> list[object]:
        summary = self.audit.summary(record)
        iso = self.audit.days.iso
        return [
            iso(summary[c]) if c in CONTACT_TIME_COLUMNS else summary[c] for c in CONTACT_COLUMNS
        ]

    def _change_rows(self, record: AuditRecord) -> Iterator[list[object]]:
        iso = self.audit.days.iso
        for change in self.audit.changes(record):
            change["contact_id"] = record.id
            yield [
                iso(change.get(c)) if c in TIME_FIELDS and c != "at" else change.get(c)
                for c in CHANGE_COLUMNS
            ]

    def routes(self) -> list[Route]:
        s = (Role.SUPERVISOR,)
        tag = "supervisor"
        denied = {401: "no valid token", 403: "not a supervisor token"}
        return [
            Route(
                "GET",
                "/api/supervisor/audit/contacts/{contact_id}",
                self.get_contact,
                "A contact's audit trail: every state change with its time, the outcome, "
                "original and final urgency, language and site",
                s,
                tag=tag,
                responses={
                    200: "the contact's record and trail",
                    **denied,
                    404: "no record (unknown, or past the retention)",
                },
            ),
            Route(
                "GET",
                "/api/supervisor/audit/export",
                self.export,
                "Export the audit of contacts that arrived on the local days from … to "
                "(query: from=YYYY-MM-DD, to=YYYY-MM-DD (default: from; at most 31 days), "
                "format=jsonl|csv, rows=changes|contacts for csv); streamed",
                s,
                tag=tag,
                responses={
                    200: "JSON lines (one contact with its trail per line) or CSV",
                    400: "missing or malformed dates, a range over 31 days, unknown format",
                    **denied,
                },
                query=(
                    Query("from", DAY, "the first local day", required=True),
                    Query(
                        "to",
                        DAY,
                        f"the last local day (default: from; at most {MAX_EXPORT_DAYS} days)",
                    ),
                    Query("format", choice(FORMATS), "jsonl (default) or csv"),
                    Query(
                        "rows", choice(ROWS), "for csv: one row per change (default) or per contact"
                    ),
                ),
            ),
        ]


class AuditCollector:
    """The audit's size against its bound, read when scraped (O(1))."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit

    def describe(self) -> list[Metric]:
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        audit = self.audit
        yield GaugeMetricFamily(
            "yhteys_audit_records",
            "Contact records the audit keeps (above the bound only while open contacts "
            "alone exceed it: an open contact's record is never dropped)",
            value=audit.count,
        )
        yield GaugeMetricFamily(
            "yhteys_audit_bound",
            "The audit's size bound (YHTEYS_AUDIT_MAX_CONTACTS)",
            value=audit.settings.max_contacts,
        )
        yield CounterMetricFamily(
            "yhteys_audit_dropped_early",
            "Closed records dropped for the size bound before their retention ended",
            value=audit.evicted,
        )


def routes(audit: Audit) -> list[Route]:
    return AuditApi(audit).routes()
