"""The audit's answer about one contact (``GET /api/supervisor/audit/contacts/{id}``, and
a removal's answer), its shape written once as pydantic models for the OpenAPI document.

Each change of the trail is its own shape, made from the audit's own list of what each
change carries (``audit.record.FIELDS``), so a change added there is documented too. A
change's values are optional (older trails may lack the later ones); the times are
numbers, the other values are left open.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import create_model

from router.service.audit.record import FIELDS, TIME_FIELDS
from router.service.body_shapes import Answer, answer_schema


class _Change(Answer):
    at: float
    time: str
    agent_id: str | None


def _change(kind: str, names: tuple[str, ...]) -> type[_Change]:
    values: dict[str, Any] = {
        name: ((float | None) if name in TIME_FIELDS else Any, None) for name in names
    }
    change: Any = Literal[kind]  # a literal of a name known only at import
    return create_model(f"Change_{kind}", __base__=_Change, change=(change, ...), **values)


_CHANGES = tuple(_change(kind, names) for kind, names in FIELDS.items())
Change = Union[_CHANGES]  # type: ignore[valid-type]  # noqa: UP007 - built from a tuple


class AuditContact(Answer):
    """A contact's audit record: as it arrived, as it is now (``*_final``), how it was
    answered and closed, its survey, and every change with its time."""

    contact_id: str
    day: str
    state: Literal["open", "closed"]
    channel: str | None
    channel_final: str | None
    service: str | None
    service_final: str | None
    urgency: str | None
    urgency_final: str | None
    language: str | None
    site: str | None
    number: str | None
    arrived_at: float
    due_at: float | None
    due_at_final: float | None
    answered_at: float | None
    answered_by: str | None
    wait_s: float | None
    within_target: bool | None
    callback_attempts: int
    closed_at: float | None
    outcome: str | None
    closed_by: str | None
    removed_by: str | None
    removal_reason: str | None
    changes_omitted: int
    partial: bool
    feedback_requested_at: float | None
    feedback_score: int | None
    feedback_answered_at: float | None
    feedback_text: str | None
    trail: list[Change]


class NoRecord(Answer):
    """The audit has no record of it (past the retention)."""


AUDIT_CONTACT_SCHEMA = answer_schema(AuditContact)
REMOVED_SCHEMA = answer_schema(AuditContact, NoRecord)
