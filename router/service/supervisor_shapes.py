"""The supervisor API's bodies and answers, each shape written once.

A service and an agent have one shape each (``router.config.shapes``): the agent PUT
body, the service merge patch and the service and agent answers are derived from it
here, so the OpenAPI document cannot drift from what the readers accept and the dumps
write; the move, presence and hours bodies are small schemas of their own.

The contact routes' bodies (move, offer, remove) are pydantic models: a handler checks a
posted body with its model (``router.service.body_shapes``: every problem at once, in the
readers' words) and the OpenAPI request schema is written from it (the document's
vocabulary makes ``service`` one of the region's services). The answers' models give the
response schemas (``answer_schema``); the handlers still build plain dicts, and
``tests/test_service_answer_shapes.py`` holds real answers to the published schemas.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from router.config.shapes import FILE_ONLY_SERVICE_KEYS, AgentShape, ServiceShape, json_schema
from router.core.model import AgentStatus, Channel, Presence
from router.service.agent_answers import Contact
from router.service.agents import MAX_REASON
from router.service.body_shapes import Answer, BodyShape, Text, answer_schema, refuse
from router.service.openapi import NOT_NULL
from router.service.routes import Schema
from router.service.service import Service


def _without(schema: Schema, keys: tuple[str, ...]) -> Schema:
    """``schema`` (an object) without the properties ``keys``."""
    properties = {k: v for k, v in schema["properties"].items() if k not in keys}
    required = [k for k in schema.get("required", ()) if k not in keys]
    return {**schema, "properties": properties, "required": required}


def _patch_of(schema: Schema) -> Schema:
    """An object's schema as a merge patch part: nothing required, ``null`` removes."""
    return {k: v for k, v in schema.items() if k not in ("required", "minProperties")}


def _service_patch_body() -> Schema:
    """A JSON merge patch (RFC 7396) of a service entry. Objects merge, so inside them
    nothing is required and ``null`` removes a key (its default applies; an urgency class
    set to null is removed). Lists replace (a step keeps its required ``kind``). The name
    comes from the path; the file-only parts are refused."""
    entry = _without(json_schema(ServiceShape), ("name", *FILE_ONLY_SERVICE_KEYS))
    properties = dict(entry["properties"])
    urgencies = properties["urgencies"]
    properties["urgencies"] = {
        **_patch_of(urgencies),
        NOT_NULL: True,
        "additionalProperties": {
            "anyOf": [_patch_of(urgencies["additionalProperties"]), {"type": "null"}]
        },
    }
    properties["requirement"] = {**properties["requirement"], NOT_NULL: True}
    properties["callback"] = _patch_of(properties["callback"])
    return {
        "type": "object",
        "description": "A JSON merge patch (RFC 7396) of the service in the region file's "
        "shape: objects merge, lists replace, null removes a key (its default applies)",
        "properties": properties,
    }


def _agent_body() -> Schema:
    schema = json_schema(AgentShape)
    properties = dict(schema["properties"])
    properties["id"] = {"type": "string", "description": "optional; must match the path"}
    return {
        **schema,
        "description": "An entry of the region file's agents list; the id is in the path",
        "properties": properties,
        "required": [k for k in schema["required"] if k != "id"],
    }


AGENT_BODY: Schema = _agent_body()
SERVICE_PATCH_BODY: Schema = _service_patch_body()

# What the answers hold: a service entry as dumped (the file-only parts never are), and
# an agent's state beside its entry (``supervisor_views.agent_detail``).
SERVICE_SCHEMA: Schema = _without(json_schema(ServiceShape), FILE_ONLY_SERVICE_KEYS)
SERVICES_SCHEMA: Schema = {
    "type": "object",
    "required": ["services"],
    "properties": {"services": {"type": "array", "items": SERVICE_SCHEMA}},
}
_AGENT_ENTRY = json_schema(AgentShape)
AGENT_DETAIL_SCHEMA: Schema = {
    "type": "object",
    "required": [
        *_AGENT_ENTRY["required"],
        "status",
        "presence",
        "reason",
        "load",
        "free_channels",
        "contacts",
        "wrapup_until",
    ],
    "properties": {
        **_AGENT_ENTRY["properties"],
        "status": {"enum": [s.value for s in AgentStatus]},
        "presence": {"enum": [p.value for p in Presence]},
        "reason": {"type": "string", "description": "why not ready ('' otherwise)"},
        "load": {
            "type": "object",
            "description": "contacts in hand per channel",
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "free_channels": {"type": "array", "items": {"enum": [c.value for c in Channel]}},
        "contacts": {"type": "array", "items": {"type": "string"}},
        "wrapup_until": {"type": ["number", "null"], "description": "region clock, s"},
    },
    "additionalProperties": False,
}
AGENTS_SCHEMA: Schema = {
    "type": "object",
    "required": ["agents"],
    "properties": {"agents": {"type": "array", "items": AGENT_DETAIL_SCHEMA}},
}

MOVE_BODY: Schema = {
    "type": "object",
    "required": ["team"],
    "properties": {
        "team": {"type": "string"},
        "site": {"type": "string", "description": "default: the team's site"},
    },
    "additionalProperties": False,
}

PRESENCE_BODY: Schema = {
    "type": "object",
    "required": ["presence"],
    "properties": {
        "presence": {"enum": [p.value for p in Presence]},
        "reason": {
            "type": "string",
            "maxLength": MAX_REASON,
            "description": "not_ready only; at most 200 characters",
        },
        "force": {
            "type": "boolean",
            "description": "needed for not_ready or offline while the agent holds assigned "
            "work; offline then returns that work to the queue",
        },
    },
    "additionalProperties": False,
    # Only not_ready takes a reason. (Open sub-schemas: they constrain, the outer closes.)
    "if": {
        "required": ["presence"],
        "properties": {"presence": {"enum": [Presence.AVAILABLE.value, Presence.OFFLINE.value]}},
        "additionalProperties": True,
    },
    "then": {"properties": {"reason": {"type": "null"}}, "additionalProperties": True},
}

_DAY_HOURS: dict[str, Schema] = {
    "intervals": {
        "type": "array",
        "description": "opening intervals, local time, [from, to); empty: closed all day",
        "items": {
            "type": "object",
            "required": ["from", "to"],
            "properties": {"from": {"type": "string"}, "to": {"type": "string"}},
        },
    },
    "source": {"enum": ["weekly", "holiday", "eve", "exception", "always"]},
    "holiday": {"type": ["string", "null"], "description": "the public holiday that day"},
}

HOURS_SCHEMA: Schema = {
    "type": "object",
    "required": ["service", "date", "timezone", "open_now", "intervals", "source", "channels"],
    "properties": {
        "service": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "timezone": {"type": "string"},
        "open_now": {"type": "boolean", "description": "within the service's hours right now"},
        **_DAY_HOURS,
        "channels": {
            "type": "object",
            "description": "channels with their own hours (e.g. chat), the same shape",
            "additionalProperties": {"type": "object", "properties": _DAY_HOURS},
        },
    },
}


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


class EligibleAgent(Answer):
    id: str
    name: str
    status: AgentStatus
    site: str
    team: str
    free: bool = Field(description="free capacity in the contact's channel now")


class ListedContact(ContactDetail):
    """A contact in the list; with ``?eligible=true`` (at most 100 rows) a waiting one
    also names the agents it may be offered to, as ``.../eligible`` does, in the same
    request: at most 20, the free ones first, and how many they are in all."""

    eligible: list[EligibleAgent] | None = Field(
        default=None,
        description="with ?eligible=true, for a waiting contact: at most 20 eligible "
        "agents, the free ones first",
    )
    eligible_total: int | None = Field(
        default=None, description="with ?eligible=true, how many agents are eligible in all"
    )


class ContactsPage(Answer):
    total: int
    offset: int
    limit: int
    contacts: list[ListedContact]


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


class Versions(Answer):
    """Opaque tags of what the console's tables show: each changes when something in its
    table changes, so the console reloads a table only then
    (``supervisor_views.TableVersions``). Per instance: compare, never order."""

    agents: str = Field(description="the agents: status, reason, team, site, configuration")
    contacts: str = Field(description="the open contacts: state, service, step, order, agent")


class Stats(Answer):
    """The statistics now (``router.service.stats.Stats.snapshot``)."""

    at: float
    day: str
    timezone: str
    services: list[ServiceStats]
    sites: list[SiteStats]
    totals: Totals
    versions: Versions | None = None


class Eligible(Answer):
    contact_id: str
    requirement: str
    agents: list[EligibleAgent]


CONTACT_SCHEMA = answer_schema(ContactDetail)
CONTACTS_PAGE_SCHEMA = answer_schema(ContactsPage)
STATS_SCHEMA = answer_schema(Stats)
ELIGIBLE_SCHEMA = answer_schema(Eligible)
