"""What the channel webhooks answer, each answer's shape written once as a pydantic model.

The OpenAPI document's response schemas come from these models (``answer_schema``); the
handlers still build their answers as plain dicts (the phone webhook is on the hot path),
and ``tests/test_channel_shapes.py`` holds the real answers to the documented schemas, as
the contract test's schemathesis run does for every answer it provokes.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any, Literal

from pydantic import Field

from router.core.model import ContactState
from router.service.body_shapes import Answer, Wait, answer_schema
from router.service.http import dumps

_INF = float("inf")
_WAIT_KEYS = ("min_s", "max_s")


def _number(value: object) -> str | None:
    """``value`` as the JSON encoder writes an int or a finite float (None: anything
    else, which the encoder itself must write)."""
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float and -_INF < value < _INF:
        return float.__repr__(value)
    return None


def queue_text(
    call_id: str, position: int | None, wait: dict[str, float] | None, language: str | None
) -> str:
    """``dumps`` of the phone's ``queue`` instruction, the same text written from its
    template (the instruction of nearly every webhook under load: the encoder walking
    the two dicts costs about three times as much). A value the template does not know
    (a wait of other keys, a bool, NaN) and the whole answer goes to ``dumps``."""
    if wait is None:
        wait_text: str | None = "null"
    elif type(wait) is dict and tuple(wait) == _WAIT_KEYS:
        low, high = _number(wait["min_s"]), _number(wait["max_s"])
        wait_text = None if low is None or high is None else f'{{"min_s": {low}, "max_s": {high}}}'
    else:
        wait_text = None
    place = "null" if position is None else _number(position)
    if (
        wait_text is not None
        and place is not None
        and type(call_id) is str
        and (language is None or type(language) is str)
    ):
        said = "null" if language is None else encode_basestring_ascii(language)
        return (
            f'{{"call_id": {encode_basestring_ascii(call_id)}, "action": "queue", '
            f'"announcement": {{"position": {place}, "estimated_wait": {wait_text}, '
            f'"language": {said}}}}}'
        )
    answer: dict[str, Any] = {
        "call_id": call_id,
        "action": "queue",
        "announcement": {"position": position, "estimated_wait": wait, "language": language},
    }
    return dumps(answer)


class Announcement(Answer):
    position: int | None = Field(description="1 + the contacts ahead in the same bucket")
    estimated_wait: Wait | None
    language: str | None


class Queue(Answer):
    """Play the queue announcement."""

    call_id: str
    action: Literal["queue"]
    announcement: Announcement


class Connect(Answer):
    """Ring this agent now (``connect``), or the call is with the agent (``connected``)."""

    call_id: str
    action: Literal["connect", "connected"]
    agent_id: str
    agent_name: str


class Redirect(Answer):
    """Never queued: the most urgent class goes to ``target`` (112)."""

    call_id: str
    action: Literal["redirect"]
    target: str


class Hangup(Answer):
    """The contact has closed with ``outcome``."""

    call_id: str
    action: Literal["hangup"]
    outcome: str


class Scheduled(Answer):
    """After hours: the call waits for the opening (region clock, epoch seconds)."""

    call_id: str
    action: Literal["scheduled"]
    until: float | None


class AsCallback(Answer):
    """The caller chose to be called back: thank them and hang up."""

    call_id: str
    action: Literal["callback"]
    state: ContactState
    position: int | None
    estimated_wait: Wait | None


class Closed(Answer):
    """After hours: play the closed message; no contact was made."""

    call_id: str
    action: Literal["closed"]
    opens_at: float | None = Field(description="epoch seconds; null: no opening hours ahead")


class Attempt(Answer):
    """One attempt to call back."""

    at: float
    agent_id: str
    result: str


class UrgencyUnchanged(Answer):
    """A re-posted work item's class is kept: only its handler may re-classify it."""

    posted: str
    kept: str
    reason: str


class ContactStatus(Answer):
    """A web request's or callback request's status: while open its place in the queue,
    once closed its outcome (a redirect: ``action`` and ``target``)."""

    contact_id: str
    state: ContactState
    position: int | None
    estimated_wait: Wait | None
    scheduled_until: float | None = None
    outcome: str | None = None
    action: Literal["redirect"] | None = None
    target: str | None = None
    urgency: str | None = None
    attempts: list[Attempt] | None = None


class WorkItemStatus(ContactStatus):
    """A work item's status: where it came from and its class, beside the rest."""

    source: str | None = None
    item_id: str | None = None
    original_urgency: str | None = None
    urgency_unchanged: UrgencyUnchanged | None = None


class Window(Answer):
    start: float
    end: float


class Windows(Answer):
    """The windows a caller may pick for a scheduled callback (epoch seconds)."""

    service: str
    windows: list[Window]


INSTRUCTION = answer_schema(Queue, Connect, Redirect, Hangup, Scheduled, AsCallback)
INSTRUCTION_OR_CLOSED = answer_schema(
    Queue, Connect, Redirect, Hangup, Scheduled, AsCallback, Closed
)
STATUS = answer_schema(ContactStatus)
WORK_ITEM_STATUS = answer_schema(WorkItemStatus)
WINDOWS = answer_schema(Windows)
