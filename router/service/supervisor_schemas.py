"""The JSON Schemas of the supervisor API's bodies, requests and responses alike.

A service and an agent have one shape each (``router.config.shapes``): the agent PUT
body, the service merge patch and the service and agent answers are derived from it
here, so the OpenAPI document cannot drift from what the readers accept and the dumps
write. The rest (move, presence, hours) are small bodies of their own.
"""

from __future__ import annotations

from router.config.shapes import FILE_ONLY_SERVICE_KEYS, AgentShape, ServiceShape, json_schema
from router.core.model import AgentStatus, Channel, Presence
from router.service.openapi import NOT_NULL
from router.service.routes import Schema


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
        "reason": {"type": "string", "description": "not_ready only"},
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
