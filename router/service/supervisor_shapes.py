"""The supervisor's contact routes' request bodies (move, offer, remove) and the
supervisor API's JSON answers, each written once as a pydantic model.

A handler checks a posted body with its model (``router.service.body_shapes``: every
problem at once, in the readers' words) and the OpenAPI document's request schema is
written from it (the document's vocabulary makes ``service`` one of the region's
services). The answers' models give the document's response schemas (``answer_schema``);
the handlers still build plain dicts, and ``tests/test_service_answer_shapes.py`` holds
real answers to the published schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from router.core.model import AgentStatus
from router.service.agent_answers import Contact
from router.service.body_shapes import Answer, BodyShape, Text, answer_schema, refuse
from router.service.service import Service

MAX_REMOVAL_REASON = 500


def _known_service(name: str, info: ValidationInfo) -> str:
    service = info.context
    if isinstance(service, Service):
        services = service.region.services
        if name not in services:
            raise refuse(f"unknown service {name!r}; expected one of: {', '.join(services)}")
    return name


class MoveContactBody(BodyShape):
    """The service a waiting contact moves to."""

    service: Annotated[Text, AfterValidator(_known_service)]


class OfferContactBody(BodyShape):
    """The agent a waiting contact is offered to."""

    agent_id: Text


class RemoveContactBody(BodyShape):
    """Why a contact is taken out of the queue."""

    reason: Annotated[
        Text,
        Field(
            max_length=MAX_REMOVAL_REASON,
            description="why; masked like the logs (numbers, identity codes)",
        ),
    ]


# ------------------------------------------------------------ answers


class ContactDetail(Contact):
    """What a supervisor sees of an open contact (``supervisor_views.contact_detail``):
    the agent's view of it and more."""

    position: int | None = Field(description="place (from 1) among waiting contacts")
    requirement: str
    preferred_site: str | None
    preferred_team: str | None
    preferred_agent: str | None


class ContactsPage(Answer):
    total: int
    offset: int
    limit: int
    contacts: list[ContactDetail]


class AgentCounts(Answer):
    """Logged-in agents by status."""

    available: int
    busy: int
    not_ready: int
    wrap_up: int


class ClosingToday(Answer):
    """A service with office hours, open now: today's closing against its capacity."""

    closes_at: float
    due_by_closing: int
    can_answer_by_closing: int


class _Block(Answer):
    waiting: int
    oldest_wait_s: float | None
    agents: AgentCounts
    answered_today: int
    answered_within_target_today: int
    service_level: float | None


class ServiceStats(_Block):
    service: str
    today: ClosingToday | None = None


class SiteStats(_Block):
    site: str


class Totals(Answer):
    waiting: int
    agents: AgentCounts
    answered_today: int
    answered_within_target_today: int


class Stats(Answer):
    """The statistics now (``router.service.stats.Stats.snapshot``)."""

    at: float
    day: str
    timezone: str
    services: list[ServiceStats]
    sites: list[SiteStats]
    totals: Totals


class EligibleAgent(Answer):
    id: str
    name: str
    status: AgentStatus
    site: str
    team: str
    free: bool = Field(description="free capacity in the contact's channel now")


class Eligible(Answer):
    contact_id: str
    requirement: str
    agents: list[EligibleAgent]


CONTACT_SCHEMA = answer_schema(ContactDetail)
CONTACTS_PAGE_SCHEMA = answer_schema(ContactsPage)
STATS_SCHEMA = answer_schema(Stats)
ELIGIBLE_SCHEMA = answer_schema(Eligible)
