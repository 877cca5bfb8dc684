"""The shape of the audit's records: one ``AuditRecord`` per contact, its trail of
changes (``FIELDS`` names each change's values), the outcomes a contact can close with,
and the columns of the exports (``docs/audit.md``).

A record is kept as a plain row (``as_row`` / ``from_row``) once it is sealed into a
segment (``router.service.audit.store``): a row is its slots' values, in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import Any

from router.service.logs import mask

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


# ``mask`` of a lone ``+`` and 7 to 15 ASCII digits (``logs._JUST_A_NUMBER``), which is
# what nearly every caller's number is: the operator prefix (at most five digits, fewer
# for short numbers, always four or more hidden) and the last two digits kept, the middle
# starred. By the text's length: how many characters are kept in front (the ``+`` and
# the digits), and the stars.
_SHAPES: dict[int, tuple[int, str]] = {
    1 + digits: (1 + min(5, digits - 6), "*" * (digits - min(5, digits - 6) - 2))
    for digits in range(7, 16)
}


def mask_number(raw: str) -> str:
    """``logs.mask(raw)``, the same text: a lone number is masked by slicing (a third of
    what the regular expression and its helper cost, on every arrival the audit
    records); anything else goes to ``mask``."""
    shape = _SHAPES.get(len(raw))
    if shape is not None and raw[0] == "+" and raw[1:].isdigit() and raw.isascii():
        return raw[: shape[0]] + shape[1] + raw[-2:]  # the head with its ``+``: one slice
    return mask(raw)


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

    def __init__(
        self,
        contact_id: str,
        first_at: float,
        arrived_at: float | None = None,
        day: str = "",
        channel: str = "",
        service: str = "",
        urgency: str = "",
        language: str | None = None,
        site: str | None = None,
        due_at: float | None = None,
        door_due: float | None = None,
        number: str | None = None,
        was_callback: bool = False,
    ) -> None:
        # A contact seen arriving is recorded with all it arrived with at once (every
        # arrival makes one: each field set once, not a blank written over); the
        # ``*_now`` fields start as it arrived.
        self.id = contact_id
        self.first_at = first_at  # when the audit first saw it (orders retention)
        # The contact's place: an earlier arrival it kept (default: when first seen).
        self.arrived_at = first_at if arrived_at is None else arrived_at
        self.day = day  # local day of arrived_at
        self.channel = self.channel_now = channel
        self.service = self.service_now = service
        self.urgency = self.urgency_now = urgency
        self.language = language
        self.site = site
        self.number = number  # masked
        self.due_at = self.due_now = due_at
        self.door_due = door_due  # a due time set at the door (same-day rule)
        self.assigned_at: float | None = None  # the latest acceptance
        self.assigned_due: float | None = None
        self.answered_at: float | None = None  # the person got through (see reports)
        self.answered_by: str | None = None
        self.answered_due: float | None = None
        self.attempts = 0
        self.was_callback = was_callback
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
ID_AT = AuditRecord.__slots__.index("id")  # where a row holds the contact id


def as_row(record: AuditRecord) -> tuple[Any, ...]:
    row: tuple[Any, ...] = _ROW(record)
    return row


def as_rows(records: Iterable[AuditRecord]) -> list[tuple[Any, ...]]:
    """``as_row`` of each record, in one pass (a seal's ``seal_every`` records)."""
    return list(map(_ROW, records))


def from_row(row: Iterable[Any]) -> AuditRecord:
    record = AuditRecord.__new__(AuditRecord)
    for name, value in zip(AuditRecord.__slots__, row, strict=True):
        setattr(record, name, value)
    record.trail = list(record.trail)
    return record
