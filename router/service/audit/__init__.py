"""The audit trail: every state change of every contact, with its time, queryable per
contact and exportable for a date range as CSV or JSON lines (``docs/audit.md``).

Its parts, one responsibility each:

- ``record``: the shape of a record and its trail, the outcomes and the export columns;
- ``settings``: the retention and the size bound, from the environment;
- ``days``: the region's local days, by which records are indexed and exported;
- ``store``: where records live (open ones as objects, closed ones sealed into
  compressed segments), retention and the bound, the snapshot part, reading;
- ``recorder``: ``Audit``, which fills the store in from the dispatch loop's events,
  decisions and the two notes below;
- ``export`` and ``api``: the streamed export and the supervisors' routes;
- ``collector``: the audit's size in ``/metrics``.

The two notes the audit adds to the region's log, ``Removal`` and ``Refusal``, are
defined here rather than in a part: the log and snapshots name a class by its module, so
they keep the name ``router.service.audit.<Note>`` that older logs were written with.

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
segment. This is a working memory, not an archive: the archive is the daily export.

Personal data: the audit never holds a full phone number, a personal identity code or
any free text a person wrote. The caller's or callback number is kept masked as in the
JSON logs (``+35840*****67``), a supervisor's reason is masked the same way, and message
texts, topics and person references are not recorded at all. Agent ids and supervisor
token names are kept in full: they are what the audit is for.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.service.audit.api import (
    FORMATS,
    MAX_EXPORT_DAYS,
    ROWS,
    AuditApi,
    parse_choice,
    parse_day,
    routes,
)
from router.service.audit.collector import AuditCollector
from router.service.audit.days import DAY_S, Days, region_zone
from router.service.audit.export import CHUNK, csv_cell, csv_download, csv_text
from router.service.audit.record import (
    CHANGE_COLUMNS,
    CHANGES,
    CONTACT_COLUMNS,
    CONTACT_TIME_COLUMNS,
    FEEDBACK_COLUMNS,
    FIELDS,
    OUTCOMES,
    REFUSED_PREFIX,
    TIME_FIELDS,
    AuditRecord,
)
from router.service.audit.recorder import KEPT_PAST_MAX, MAX_TRAIL, Audit
from router.service.audit.settings import (
    DEFAULT_MAX_CONTACTS,
    DEFAULT_RETENTION_DAYS,
    MAX_CONTACTS_ENV,
    RETENTION_ENV,
    SEAL_EVERY,
    AuditSettings,
)
from router.service.audit.store import DECODED_CACHE, PART, AuditStore, Segment
from router.service.runtime import Note
from router.store.codec import allow

__all__ = [
    "CHANGES",
    "CHANGE_COLUMNS",
    "CHUNK",
    "CONTACT_COLUMNS",
    "CONTACT_TIME_COLUMNS",
    "DAY_S",
    "DECODED_CACHE",
    "DEFAULT_MAX_CONTACTS",
    "DEFAULT_RETENTION_DAYS",
    "FEEDBACK_COLUMNS",
    "FIELDS",
    "FORMATS",
    "KEPT_PAST_MAX",
    "MAX_CONTACTS_ENV",
    "MAX_EXPORT_DAYS",
    "MAX_TRAIL",
    "OUTCOMES",
    "PART",
    "REFUSED_PREFIX",
    "RETENTION_ENV",
    "ROWS",
    "SEAL_EVERY",
    "TIME_FIELDS",
    "Audit",
    "AuditApi",
    "AuditCollector",
    "AuditRecord",
    "AuditSettings",
    "AuditStore",
    "Days",
    "Refusal",
    "Removal",
    "Segment",
    "csv_cell",
    "csv_download",
    "csv_text",
    "parse_choice",
    "parse_day",
    "region_zone",
    "routes",
]


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
